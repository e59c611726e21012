import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { sharedDataDir, skipUnless } from '@strata/testing';
import { analyzeLayer, MAX_FILE_NOTES } from './layer.js';
import { analyzerSetVersion, defaultAnalyzers } from './registry.js';
import type { Analyzer } from './types.js';
import { run, tarStream, tempDir, zeros } from './testing/index.js';

const DIFF_ID = 'sha256:' + '0'.repeat(64);
const LABEL = 'test-image layer 1/1';
const byPath = <T extends { path: string }>(list: T[]): Map<string, T> => new Map(list.map((x) => [x.path, x]));

function alpineEntries(): Array<{ name: string; content: Buffer }> {
  const dir = join(sharedDataDir() ?? '', 'alpine/3.20.3');
  return ['etc/os-release', 'etc/alpine-release', 'lib/apk/db/installed'].map((name) => ({ name, content: readFileSync(join(dir, name)) }));
}

test('analyzeLayer: one pass feeds each analyzer its files; whiteouts and opaque dirs are recorded', { skip: skipUnless('data') }, async () => {
  const layer = tarStream([
    ...alpineEntries(),
    { name: 'app/node_modules/left-pad/package.json', content: '{"name":"left-pad","version":"1.3.0","license":"WTFPL"}' },
    { name: 'app/node_modules/@scope/pkg/package.json', content: '{"name":"@scope/pkg","version":"2.0.0"}' },
    { name: 'app/node_modules/left-pad/lib/package.json', content: '{"name":"not-a-root","version":"0.0.1"}' },
    { name: 'usr/lib/python3.12/site-packages/Jinja2-3.1.4.dist-info/METADATA', content: 'Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.4\n' },
    { name: 'usr/bin/ls', content: readFileSync('/bin/ls'), mode: 0o755 },
    { name: 'var/cache/.wh.apk', content: '' },
    { name: 'srv/www/.wh..wh..opq', content: '' },
  ]);
  const result = await analyzeLayer(layer, { diffId: DIFF_ID, label: LABEL });
  assert.deepEqual(result.warnings, []);
  assert.equal(result.diffId, DIFF_ID);
  assert.equal(result.analyzerSetVersion, analyzerSetVersion(defaultAnalyzers()));
  assert.equal(result.os?.family, 'alpine');
  assert.equal(result.osPath, 'etc/os-release');
  const apk = byPath(result.packageSets).get('lib/apk/db/installed');
  assert.equal(apk?.packages.length, 14);
  // the layer's own OS facts complete the PURLs
  assert.ok(
    apk?.packages.every((p) => p.purl.includes(`distro=${result.os?.name}`)),
    apk?.packages[0]?.purl,
  );
  const apps = byPath(result.applications);
  // every package.json with a name and version, as Trivy's image scan reads them (lib/package.json too)
  assert.deepEqual([...apps.keys()].sort(), [
    'app/node_modules/@scope/pkg/package.json',
    'app/node_modules/left-pad/lib/package.json',
    'app/node_modules/left-pad/package.json',
    'usr/lib/python3.12/site-packages/Jinja2-3.1.4.dist-info/METADATA',
  ]);
  assert.equal(apps.get('app/node_modules/@scope/pkg/package.json')?.packages[0]?.purl, 'pkg:npm/%40scope/pkg@2.0.0');
  assert.equal(apps.get('usr/lib/python3.12/site-packages/Jinja2-3.1.4.dist-info/METADATA')?.packages[0]?.name, 'jinja2');
  assert.deepEqual(result.whiteouts, ['var/cache/apk']);
  assert.deepEqual(result.opaqueDirs, ['srv/www']);
});

test('analyzeLayer: a failing analyzer becomes a warning naming analyzer, file and layer; the others go on', { skip: skipUnless('data') }, async () => {
  const exploding: Analyzer = {
    type: 'exploding',
    version: 1,
    required: (path) => path.endsWith('installed') || path.endsWith('.boom'),
    produces: { kind: 'application', type: 'npm' },
    async analyze(file) {
      throw new Error(`cannot cope with ${file.path}`);
    },
  };
  const layer = tarStream([...alpineEntries(), { name: 'x/y.boom', content: 'boom' }]);
  const result = await analyzeLayer(layer, { diffId: DIFF_ID, label: LABEL, analyzers: [...defaultAnalyzers(), exploding] });
  const warnings = result.warnings.map((w) => `${w.analyzer}|${w.path}|${w.layer}`).sort();
  assert.deepEqual(warnings, [`exploding|lib/apk/db/installed|${LABEL}`, `exploding|x/y.boom|${LABEL}`]);
  assert.ok(result.warnings.every((w) => w.message.includes('cannot cope with')));
  assert.equal(byPath(result.packageSets).get('lib/apk/db/installed')?.packages.length, 14);
  // the unreadable files still occupy their paths (so they replace lower layers' sets)
  assert.deepEqual(result.applications.map((s) => `${s.path}:${s.packages.length}`).sort(), ['lib/apk/db/installed:0', 'x/y.boom:0']);
});

test('analyzeLayer: bad inputs each give a warning naming file and layer, the rest is analyzed', { skip: skipUnless('data') }, async () => {
  const noise = Buffer.alloc(8192);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  const good = readFileSync(join(sharedDataDir() ?? '', 'alpine/3.20.3/lib/apk/db/installed'), 'utf8');
  const apkMissing = good.replace(/^P:.*\n/m, '');
  const layer = tarStream([
    {
      name: 'var/lib/dpkg/status',
      content: Buffer.concat([
        Buffer.from('Package: ok\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\n\n'),
        noise,
        Buffer.from('\n\nPackage: cut\nStatus: install ok inst'),
      ]),
    },
    { name: 'lib/apk/db/installed', content: apkMissing },
    { name: 'var/lib/rpm/rpmdb.sqlite', content: noise },
    { name: 'app/node_modules/broken/package.json', content: '{"name": "broken", "version": ' },
    { name: 'app/node_modules/fine/package.json', content: '{"name": "fine", "version": "1.0.0"}' },
    { name: 'usr/bin/ls', content: readFileSync('/bin/ls'), mode: 0o755 },
  ]);
  const result = await analyzeLayer(layer, { diffId: DIFF_ID, label: LABEL });
  const warned = new Set(result.warnings.map((w) => `${w.analyzer}|${w.path}`));
  for (const expected of [
    'dpkg|var/lib/dpkg/status',
    'apk|lib/apk/db/installed',
    'rpm|var/lib/rpm/rpmdb.sqlite',
    'node-pkg|app/node_modules/broken/package.json',
  ]) {
    assert.ok(warned.has(expected), `no warning ${expected} in ${JSON.stringify(result.warnings, null, 1)}`);
  }
  assert.ok(result.warnings.every((w) => w.layer === LABEL));
  // a non-Go ELF is simply not a Go binary: nothing to report, nothing to warn about
  assert.ok(![...warned].some((w) => w.includes('usr/bin/ls')));
  const sets = byPath(result.packageSets);
  assert.deepEqual(
    sets.get('var/lib/dpkg/status')?.packages.map((p) => p.name),
    ['ok'],
  );
  assert.equal(sets.get('lib/apk/db/installed')?.packages.length, 13);
  assert.equal(sets.get('var/lib/rpm/rpmdb.sqlite')?.packages.length, 0);
  assert.deepEqual(
    byPath(result.applications)
      .get('app/node_modules/fine/package.json')
      ?.packages.map((p) => p.name),
    ['fine'],
  );
});

test('analyzeLayer: a zip bomb inside a jar gives a warning naming jar and layer; the other jar still counts', { skip: skipUnless('tool:zip') }, async () => {
  const t = tempDir('layer-bomb');
  try {
    const pom = (a: string): Record<string, string> => ({
      [`META-INF/maven/com.example/${a}/pom.properties`]: `groupId=com.example\nartifactId=${a}\nversion=1.0.0\n`,
    });
    const make = (name: string, files: Record<string, string | Buffer>): Buffer => {
      const dir = join(t.dir, `${name}.d`);
      for (const [f, c] of Object.entries(files)) {
        mkdirSync(join(dir, f, '..'), { recursive: true });
        writeFileSync(join(dir, f), c);
      }
      run('zip', ['-q', '-r', '-9', join(t.dir, name), '.'], { cwd: dir });
      return readFileSync(join(t.dir, name));
    };
    // 600 MiB of zeros named like a nested jar: ~600 KiB compressed, over the 512 MiB nested-archive limit
    const bombDir = join(t.dir, 'bomb.jar.d/lib');
    mkdirSync(bombDir, { recursive: true });
    const zeros600 = Buffer.alloc(600 * 1024 * 1024);
    writeFileSync(join(bombDir, 'inner.jar'), zeros600);
    const bomb = make('bomb.jar', pom('bomb-carrier'));
    const good = make('good.jar', pom('good'));
    const result = await analyzeLayer(
      tarStream([
        { name: 'opt/bomb.jar', content: bomb },
        { name: 'opt/good.jar', content: good },
      ]),
      { diffId: DIFF_ID, label: LABEL },
    );
    const w = result.warnings.find((x) => x.path === 'opt/bomb.jar');
    assert.ok(w, JSON.stringify(result.warnings));
    assert.equal(w.layer, LABEL);
    assert.match(w.message, /inner\.jar.*zip bomb/);
    assert.deepEqual(result.applications.flatMap((s) => s.packages.map((p) => p.name)).sort(), ['com.example:bomb-carrier', 'com.example:good']);
  } finally {
    t.cleanup();
  }
});

test('analyzeLayer: a 10 GB file is skipped by size (never buffered) with a warning; the rest is analyzed', async () => {
  const TEN_GB = 10 * 1024 ** 3;
  const layer = tarStream([
    { name: 'app/node_modules/before/package.json', content: '{"name":"before","version":"1.0.0"}' },
    { name: 'opt/huge.jar', type: 'file', size: TEN_GB, generate: () => zeros(TEN_GB, 4 * 1024 * 1024) },
    { name: 'app/node_modules/after/package.json', content: '{"name":"after","version":"2.0.0"}' },
  ]);
  const rssBefore = process.memoryUsage().rss;
  const result = await analyzeLayer(layer, { diffId: DIFF_ID, label: LABEL });
  const grown = process.memoryUsage().rss - rssBefore;
  assert.ok(grown < 512 * 1024 * 1024, `RSS grew by ${grown} bytes`);
  const w = result.warnings.find((x) => x.path === 'opt/huge.jar');
  assert.ok(w, JSON.stringify(result.warnings));
  assert.equal(w.layer, LABEL);
  assert.match(w.message, /exceeds|limit/);
  assert.deepEqual(
    result.applications
      .map((s) => s.packages[0]?.name)
      .filter(Boolean)
      .sort(),
    ['after', 'before'],
  );
});

test('analyzeLayer: a broken tar is a fatal layer error (thrown, naming the layer)', async () => {
  const chunks: Buffer[] = [];
  for await (const c of tarStream([{ name: 'app/node_modules/a/package.json', content: '{"name":"a","version":"1.0.0"}'.padEnd(4000) }]))
    chunks.push(c as Buffer);
  const whole = Buffer.concat(chunks);
  const truncated = whole.subarray(0, 1024);
  await assert.rejects(analyzeLayer(Readable.from([truncated]), { diffId: DIFF_ID, label: LABEL }), (err: Error) => err.message.includes(LABEL));
});

test('analyzeLayer: stream analyzers that want one entry read it together, each whole; one that quits early holds no one up', async () => {
  const { createHash } = await import('node:crypto');
  const seen = new Map<string, string>();
  const hasher = (type: string): Analyzer => ({
    type,
    version: 1,
    input: 'stream',
    required: (path) => path === 'big.bin',
    async analyze(file) {
      const h = createHash('sha256');
      for await (const chunk of file.content as Readable) h.update(chunk as Buffer);
      seen.set(type, h.digest('hex'));
      return undefined;
    },
  });
  const quitter: Analyzer = {
    type: 'quitter',
    version: 1,
    input: 'stream',
    required: (path) => path === 'big.bin',
    async analyze() {
      throw new Error('gave up before reading');
    },
  };
  const size = 5 * 1024 * 1024 + 17;
  const expected = createHash('sha256');
  for await (const c of zeros(size, 65_521)) expected.update(c);
  const result = await analyzeLayer(tarStream([{ name: 'big.bin', type: 'file', size, generate: () => zeros(size, 65_521) }]), {
    diffId: DIFF_ID,
    analyzers: [hasher('first'), quitter, hasher('second')],
  });
  const hex = expected.digest('hex');
  assert.deepEqual(Object.fromEntries(seen), { first: hex, second: hex });
  assert.deepEqual(
    result.warnings.map((w) => [w.analyzer, w.message]),
    [['quitter', 'quitter analyzer failed: gave up before reading']],
  );
});

test('analyzeLayer notes the files the merge needs: possible folder replacements and files named like a DB file, within their own bound', async () => {
  const result = await analyzeLayer(
    tarStream([
      { name: 'srv/app', content: 'a file where a folder was' },
      { name: 'srv/app.txt', content: 'dotted: not a folder name' },
      { name: 'a/b/c/d/e', content: 'five deep' },
      { name: 'opt/state/deep/er/dpkg/status', content: '' },
      { name: 'usr/bin/tool', content: 'x', mode: 0o755 },
      ...Array.from({ length: MAX_FILE_NOTES + 5 }, (_, i) => ({ name: `many/f${i}`, content: '' })),
      { name: 'var/lib', type: 'symlink' as const, linkname: '/opt/state' },
    ]),
    { diffId: DIFF_ID, label: LABEL },
  );
  const notes = byPath(result.entries ?? []);
  assert.equal(notes.get('srv/app')?.type, 'file');
  assert.equal(notes.get('usr/bin/tool')?.type, 'file');
  assert.equal(notes.get('opt/state/deep/er/dpkg/status')?.type, 'file', 'a file named like a DB file, at any depth');
  assert.ok(!notes.has('srv/app.txt') && !notes.has('a/b/c/d/e'));
  const files = (result.entries ?? []).filter((e) => e.type === 'file').length;
  assert.equal(files, MAX_FILE_NOTES, 'file notes stop at their bound');
  assert.equal(notes.get('var/lib')?.type, 'symlink', 'links are still noted past the file notes bound');
  assert.deepEqual(result.warnings, [], 'the file notes bound is silent: a missing note only over-reports');
});
