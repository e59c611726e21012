import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { assertMatchesOracle, expectedFromOracle } from './testing/oracle.js';
import { chunked, gzipCli, packTar, pythonTarList, record, sha256, zstdCli, type TarEntry } from './testing/index.js';
import { SMALL_FILE_BYTES, walkLayer } from './walk.js';

const needs = skipUnless('tool:python3', 'tool:gzip', 'tool:zstd');

const LONG = `usr/share/${'deep/'.repeat(30)}file-with-a-long-name.txt`;
const SAMPLE: TarEntry[] = [
  { name: './', type: 'directory' },
  { name: './etc/', type: 'directory' },
  { name: './etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
  { name: '/usr/bin/tool', content: randomBytes(40_000), mode: 0o755 },
  { name: 'usr/lib/empty', content: '' },
  { name: 'usr/lib/os-release', type: 'symlink', linkname: '../../etc/os-release' },
  { name: 'usr/bin/tool-hardlink', type: 'link', linkname: './usr/bin/tool' },
  { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
  { name: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/UTC' },
  { name: 'run/fifo', type: 'fifo' },
  { name: 'dev/null', type: 'character-device' },
  { name: LONG, content: 'long path via pax\n' },
  { name: 'usr/share/ünïcødé/файл.txt', content: 'utf-8 names\n' },
  { name: 'var/lib/dpkg/status', content: 'Package: base-files\nStatus: install ok installed\n\n'.repeat(500) },
  { name: 'opt/./dots/../app/app.py', content: 'print("hi")\n' },
];

test('a tar-stream archive is reported entry by entry exactly as Python tarfile reads it', { skip: needs }, async () => {
  const archive = await packTar(SAMPLE);
  const rec = await record(archive, { mediaType: 'application/vnd.oci.image.layer.v1.tar' });
  assertMatchesOracle(rec, expectedFromOracle(pythonTarList(archive)));
  assert.equal(rec.summary.entries, SAMPLE.length);
  assert.equal(rec.summary.uncompressedBytes, archive.length);
  assert.equal(rec.summary.compressedBytes, archive.length);
  assert.equal(rec.summary.compression, 'none');
  assert.deepEqual(rec.warnings, []);
  // spot checks of the documented mapping, beyond the oracle comparison
  const byPath = new Map(rec.entries.map((e) => [e.path, e]));
  assert.equal(byPath.get('usr/lib/os-release')?.linkTarget, 'etc/os-release');
  assert.equal(byPath.get('usr/bin/tool-hardlink')?.linkTarget, 'usr/bin/tool');
  assert.equal(byPath.get('etc/localtime')?.linkTarget, 'usr/share/zoneinfo/UTC');
  assert.equal(byPath.get('opt/app/app.py')?.type, 'file');
  assert.ok(!rec.files.has('usr/bin/tool-hardlink'), 'hardlinks never deliver content');
});

test('whiteouts and opaque dirs are reported separately, never as entries or files', { skip: needs }, async () => {
  const archive = await packTar([
    { name: 'usr/', type: 'directory' },
    { name: 'usr/share/doc/.wh.curl', content: '' },
    { name: '.wh.tmpfile', content: '' },
    { name: 'var/lib/apt/lists/.wh..wh..opq', content: '' },
    { name: '.wh..wh..opq', content: '' },
    { name: 'var/lib/apt/lists/fresh', content: 'new\n' },
    { name: 'etc/.wh..wh.plnk', type: 'directory' },
    { name: 'etc/.wh.', content: '' },
  ]);
  const rec = await record(archive);
  const expected = expectedFromOracle(pythonTarList(archive));
  assertMatchesOracle(rec, expected);
  assert.deepEqual(rec.whiteouts, ['usr/share/doc/curl', 'tmpfile']);
  assert.deepEqual(rec.opaque, ['var/lib/apt/lists', '']);
  assert.ok(rec.entries.every((e) => !e.path.split('/').pop()!.startsWith('.wh.')));
  assert.deepEqual(
    rec.warnings.map((w) => w.path),
    ['etc/.wh.'],
    'an empty whiteout name is a warning',
  );
});

test('only wanted files are delivered; unwanted content is skipped and the walk goes on', { skip: needs }, async () => {
  const archive = await packTar(SAMPLE);
  const rec = await record(archive, {}, (e) => e.path.endsWith('status') || e.path.endsWith('.py'));
  const expected = expectedFromOracle(pythonTarList(archive));
  assertMatchesOracle(rec, expected, { allFilesWanted: false });
  assert.deepEqual([...rec.files.keys()], ['var/lib/dpkg/status', 'opt/app/app.py']);
  for (const [path, content] of rec.files) assert.equal(sha256(content), expected.files.get(path));
});

const MEDIA = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerTar: 'application/vnd.docker.image.rootfs.diff.tar',
};

test('gzip (CLI), zstd (CLI) and plain tars, with right, missing and lying media types', { skip: needs }, async () => {
  const archive = await packTar(SAMPLE);
  const expected = expectedFromOracle(pythonTarList(archive));
  const blobs = { none: archive, gzip: gzipCli(archive), zstd: zstdCli(archive) };
  const cases: [keyof typeof blobs, string | undefined, boolean][] = [
    ['none', MEDIA.none, false],
    ['none', MEDIA.dockerTar, false],
    ['none', undefined, false],
    ['none', MEDIA.gzip, true],
    ['gzip', MEDIA.gzip, false],
    ['gzip', MEDIA.dockerGzip, false],
    ['gzip', 'application/vnd.oci.image.layer.v1.tar.gzip', false],
    ['gzip', undefined, false],
    ['gzip', MEDIA.zstd, true],
    ['gzip', MEDIA.none, true],
    ['zstd', MEDIA.zstd, false],
    ['zstd', undefined, false],
    ['zstd', MEDIA.dockerGzip, true],
    ['zstd', MEDIA.none, true],
  ];
  for (const [kind, mediaType, lies] of cases) {
    const blob = blobs[kind];
    for (const source of [Readable.from([blob]), chunked(blob, 7)]) {
      const rec = await record(source, mediaType === undefined ? {} : { mediaType });
      const what = `${kind} blob as ${mediaType}`;
      assert.equal(rec.summary.compression, kind, what);
      assert.equal(rec.summary.compressedBytes, blob.length, what);
      assert.equal(rec.summary.uncompressedBytes, archive.length, what);
      assertMatchesOracle({ ...rec, warnings: [] }, expected);
      const mediaWarnings = rec.warnings.filter((w) => /media type/.test(w.message));
      assert.equal(mediaWarnings.length, lies ? 1 : 0, `${what}: ${JSON.stringify(rec.warnings)}`);
    }
  }
});

test('multi-member gzip (a tar split across two gzip members) reads as one tar', { skip: needs }, async () => {
  const archive = await packTar(SAMPLE);
  const cut = 70_001;
  const blob = Buffer.concat([gzipCli(archive.subarray(0, cut)), gzipCli(archive.subarray(cut))]);
  const rec = await record(blob, { mediaType: MEDIA.gzip });
  assertMatchesOracle(rec, expectedFromOracle(pythonTarList(archive)));
});

test('a visitor may stop reading early, ignore the stream or fail; the walk goes on', { skip: needs }, async () => {
  const files = ['a', 'b', 'c', 'd'].map((n) => ({ name: `data/${n}`, content: randomBytes(300_000) }));
  const archive = gzipCli(await packTar(files));
  const got = new Map<string, number>();
  const warnings: string[] = [];
  const summary = await walkLayer(
    Readable.from([archive]),
    { mediaType: MEDIA.gzip },
    {
      wants: () => true,
      warning: (w) => warnings.push(`${w.path}: ${w.message}`),
      async file(entry, content) {
        if (entry.path === 'data/a') {
          // read one chunk, then give up
          for await (const chunk of content) {
            got.set(entry.path, (chunk as Buffer).length);
            break;
          }
          return;
        }
        if (entry.path === 'data/b') return; // never reads: the walk destroys and drains it
        if (entry.path === 'data/c') {
          content.resume();
          throw new Error('cannot parse');
        }
        let n = 0;
        for await (const chunk of content) n += (chunk as Buffer).length;
        got.set(entry.path, n);
      },
    },
  );
  assert.equal(summary.entries, 4);
  assert.equal(got.get('data/d'), 300_000, 'the file after the abandoned ones arrives whole');
  assert.ok((got.get('data/a') ?? 0) > 0);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^data\/c: analyzer failed on this file: cannot parse/);
});

test('a synchronous callback that throws fails the walk and releases the source', { skip: needs }, async () => {
  const archive = await packTar(SAMPLE);
  const source = Readable.from([archive]);
  await assert.rejects(
    walkLayer(
      source,
      {},
      {
        entry(e) {
          if (e.path === 'usr/lib/empty') throw new Error('visitor bug');
        },
      },
    ),
    /visitor bug/,
  );
  assert.ok(source.destroyed);
});

test('files up to SMALL_FILE_BYTES come whole to smallFile, larger ones stream to file, in archive order', async () => {
  const contents = new Map<string, Buffer>([
    ['a/empty', Buffer.alloc(0)],
    ['a/one', Buffer.from('1')],
    ['a/edge', randomBytes(SMALL_FILE_BYTES)],
    ['a/over', randomBytes(SMALL_FILE_BYTES + 1)],
    ['a/big', randomBytes(200_000)],
    ['a/fails', Buffer.from('{}')],
    ['a/after', Buffer.from('still read')],
  ]);
  const archive = await packTar([...contents].map(([name, content]) => ({ name, content })));
  const calls: string[] = [];
  const got = new Map<string, Buffer>();
  const warnings: string[] = [];
  await walkLayer(
    chunked(archive, 1000),
    {},
    {
      wants: () => true,
      warning: (w) => warnings.push(`${w.path}: ${w.message}`),
      smallFile: async (e, content) => {
        calls.push(`small ${e.path}`);
        if (e.path === 'a/fails') throw new Error('analyzer broke');
        got.set(e.path, content);
      },
      file: async (e, content) => {
        calls.push(`stream ${e.path}`);
        const parts: Buffer[] = [];
        for await (const chunk of content) parts.push(chunk as Buffer);
        got.set(e.path, Buffer.concat(parts));
      },
    },
  );
  assert.deepEqual(calls, ['small a/empty', 'small a/one', 'small a/edge', 'stream a/over', 'stream a/big', 'small a/fails', 'small a/after']);
  for (const [path, content] of contents) if (path !== 'a/fails') assert.ok(got.get(path)?.equals(content), path);
  assert.deepEqual(warnings, ['a/fails: analyzer failed on this file: analyzer broke']);
});
