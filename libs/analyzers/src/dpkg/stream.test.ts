// Large and hostile package DBs are parsed as streams: one bounded line and one record at a time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeLayer } from '../layer.js';
import { run, tarStream, tempDir } from '../testing/index.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipUnless } from '@strata/testing';

const DIFF_ID = 'sha256:' + '0'.repeat(64);
const MB = 1024 * 1024;

/** `size` bytes produced on demand by repeating `unit` (cut to fit). */
async function* repeated(unit: string, size: number): AsyncIterable<Buffer> {
  const block = Buffer.from(unit.repeat(Math.max(1, Math.floor(MB / unit.length))));
  let left = size;
  while (left > 0) {
    const n = Math.min(left, block.length);
    yield n === block.length ? block : block.subarray(0, n);
    left -= n;
  }
}

const stanza = (i: number): string =>
  `Package: pkg-${i}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.${i}-1\nSource: src-${i % 97}\nMaintainer: M <m@example.org>\nDescription: x\n ${'d'.repeat(40)}\n\n`;

async function analyzeOne(
  path: string,
  size: number,
  generate: () => AsyncIterable<Buffer>,
  limits = {},
): Promise<{ result: Awaited<ReturnType<typeof analyzeLayer>>; grown: number }> {
  const layer = tarStream([{ name: path, type: 'file', size, generate }]);
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const result = await analyzeLayer(layer, {
      diffId: DIFF_ID,
      label: 'hostile layer 1/1',
      limits: { maxFileSize: 1024 * MB, maxUncompressedBytes: 2048 * MB },
      analyzerLimits: limits,
    });
    return { result, grown: Math.max(peak, process.memoryUsage().rss) - rssBefore };
  } finally {
    clearInterval(timer);
  }
}

test('dpkg: 200 MB of junk lines (and one 50 MB line) give bounded memory, warnings and no packages', async () => {
  for (const [unit, what] of [
    ['junk line without a colon\n', 'junk lines'],
    ['x', 'one endless line'],
  ] as const) {
    const size = unit === 'x' ? 50 * MB : 200 * MB;
    const { result, grown } = await analyzeOne('var/lib/dpkg/status', size, () => repeated(unit, size));
    console.log(`dpkg ${what}: ${size / MB} MB, RSS grew ${Math.round(grown / MB)} MB`);
    assert.ok(grown < 256 * MB, `RSS grew by ${grown} bytes`);
    const set = result.packageSets.find((s) => s.path === 'var/lib/dpkg/status');
    assert.deepEqual(set?.packages, []);
    assert.ok(
      result.warnings.some((w) => w.analyzer === 'dpkg' && /not a "Field: value"|line limit/.test(w.message)),
      JSON.stringify(result.warnings.slice(0, 3)),
    );
  }
});

test('dpkg: a 200 MB valid status streams; past maxPackagesPerDatabase the rest is counted in a warning', async () => {
  const unit = Array.from({ length: 64 }, (_, i) => stanza(i)).join('');
  const size = 200 * MB;
  const { result, grown } = await analyzeOne('var/lib/dpkg/status', size, () => repeated(unit, size), { maxPackagesPerDatabase: 50_000 });
  console.log(`dpkg valid: ${size / MB} MB, RSS grew ${Math.round(grown / MB)} MB`);
  const set = result.packageSets.find((s) => s.path === 'var/lib/dpkg/status');
  assert.equal(set?.packages.length, 50_000);
  assert.ok(
    result.warnings.some((w) => /maxPackagesPerDatabase.*NOT in this report/.test(w.message)),
    JSON.stringify(result.warnings.slice(0, 3)),
  );
});

test('dpkg: the streaming parser equals dpkg-query on a generated 20k-package status', { skip: skipUnless('tool:dpkg-query') }, async () => {
  const text = Array.from({ length: 20_000 }, (_, i) => stanza(i)).join('');
  const t = tempDir('dpkg-stream');
  try {
    mkdirSync(join(t.dir, 'updates'));
    writeFileSync(join(t.dir, 'status'), text);
    const expected = run('dpkg-query', [`--admindir=${t.dir}`, '-W', '-f=${Package}\t${Version}\t${source:Package}\n'])
      .split('\n')
      .filter(Boolean)
      .sort();
    const body = Buffer.from(text);
    const { result } = await analyzeOne('var/lib/dpkg/status', body.length, () => repeated(text, body.length));
    const got = (result.packageSets[0]?.packages ?? []).map((p) => `${p.name}\t${p.version}\t${p.srcName}`).sort();
    assert.deepEqual(got, expected);
  } finally {
    t.cleanup();
  }
});

test('apk: 200 MB of junk and a 50 MB line in lib/apk/db/installed give bounded memory and warnings', async () => {
  for (const [unit, size] of [
    ['P:\nV\n\n', 200 * MB],
    ['x', 50 * MB],
  ] as const) {
    const { result, grown } = await analyzeOne('lib/apk/db/installed', size, () => repeated(unit, size));
    console.log(`apk junk ${JSON.stringify(unit)}: ${size / MB} MB, RSS grew ${Math.round(grown / MB)} MB`);
    assert.ok(grown < 256 * MB, `RSS grew by ${grown} bytes`);
    assert.deepEqual(result.packageSets[0]?.packages, []);
    assert.ok(
      result.warnings.some((w) => w.analyzer === 'apk'),
      JSON.stringify(result.warnings.slice(0, 3)),
    );
    assert.ok(result.warnings.filter((w) => w.analyzer === 'apk').length <= 21);
  }
});
