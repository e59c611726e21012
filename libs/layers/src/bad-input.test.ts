import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { LayerError, type LayerErrorCode } from './errors.js';
import { MAX_ZSTD_WINDOW } from './zstd.js';
import { gzipCli, packTar, padded, record, ustarHeader, zstdCli } from './testing/index.js';
import { walkLayer } from './walk.js';

const needs = skipUnless('tool:gzip', 'tool:zstd');
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
const TAR = 'application/vnd.oci.image.layer.v1.tar';
const LABEL = 'registry.test/app:1@sha256:0123abcd';

const sample = (): Promise<Buffer> =>
  packTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/os-release', content: 'ID=debian\n' },
    { name: 'usr/bin/blob', content: randomBytes(150_000) },
    { name: 'usr/share/text', content: 'lorem ipsum\n'.repeat(20_000) },
  ]);

/** The zstd frame header length, to find the first block header of a frame made by the CLI. */
function zstdFirstBlockOffset(blob: Buffer): number {
  const fhd = blob[4]!;
  const singleSegment = (fhd >> 5) & 1;
  const dict = [0, 1, 2, 4][fhd & 3]!;
  const fcs = [singleSegment ? 1 : 0, 2, 4, 8][fhd >> 6]!;
  return 4 + 1 + (singleSegment ? 0 : 1) + dict + fcs;
}

interface BadCase {
  name: string;
  blob: () => Promise<Buffer>;
  mediaType?: string;
  /** a decoder may turn garbage inside a block into garbage output that the tar parser rejects */
  code: LayerErrorCode | LayerErrorCode[];
  message: RegExp;
}

const CASES: BadCase[] = [
  { name: 'truncated gzip', blob: async () => gzipCli(await sample()).subarray(0, 60_000), mediaType: GZIP, code: 'TRUNCATED', message: /gzip data truncated/ },
  {
    name: 'gzip with an invalid deflate block',
    blob: async () => {
      const gz = Buffer.from(gzipCli(await sample()));
      gz[10] = 0xff; // first deflate block header: BTYPE 11 is reserved
      return gz;
    },
    mediaType: GZIP,
    code: 'CORRUPT',
    message: /gzip data corrupt/,
  },
  {
    name: 'gzip whose CRC does not match',
    blob: async () => {
      const gz = Buffer.from(gzipCli(await sample()));
      gz[gz.length - 8]! ^= 0xff;
      return gz;
    },
    mediaType: GZIP,
    code: 'CORRUPT',
    message: /gzip data corrupt/,
  },
  { name: 'truncated zstd', blob: async () => zstdCli(await sample()).subarray(0, 40_000), mediaType: ZSTD, code: 'TRUNCATED', message: /zstd/ },
  {
    name: 'zstd with a reserved block type',
    blob: async () => {
      const zst = Buffer.from(zstdCli(await sample()));
      zst[zstdFirstBlockOffset(zst)]! |= 0b110;
      return zst;
    },
    mediaType: ZSTD,
    code: 'CORRUPT',
    message: /zstd block of reserved type/,
  },
  {
    name: 'zstd with garbage inside a compressed block',
    blob: async () => {
      const zst = Buffer.from(zstdCli(await sample()));
      const start = zstdFirstBlockOffset(zst) + 3;
      zst.fill(0xff, start, start + 64);
      return zst;
    },
    mediaType: ZSTD,
    code: ['CORRUPT', 'BAD_TAR'],
    message: /zstd|malformed tar/,
  },
  {
    name: 'zstd frame asking for a huge window',
    // a frame header with window descriptor 0xF8 (2 GiB window); the CLI refuses it too
    blob: async () => Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8]), Buffer.alloc(64)]),
    mediaType: ZSTD,
    code: 'CORRUPT',
    message: new RegExp(`window of \\d+ bytes exceeds the supported ${MAX_ZSTD_WINDOW}`),
  },
  {
    name: 'tar whose second header has a bad checksum',
    blob: async () => {
      const first = padded(Buffer.from('hello\n'));
      return Buffer.concat([ustarHeader('a.txt', 6), first, ustarHeader('b.txt', 6, '0', { badChecksum: true }), first, Buffer.alloc(1024)]);
    },
    mediaType: TAR,
    code: 'BAD_TAR',
    message: /malformed tar after 1 entries.*Invalid tar header/,
  },
  { name: 'gzip of something that is not a tar', blob: async () => gzipCli(randomBytes(4096)), mediaType: GZIP, code: 'BAD_TAR', message: /malformed tar/ },
  {
    name: 'tar cut inside a file',
    blob: async () => (await sample()).subarray(0, 100_000),
    mediaType: TAR,
    code: 'TRUNCATED',
    message: /tar stream ends in the middle of an entry/,
  },
  { name: 'empty blob', blob: async () => Buffer.alloc(0), mediaType: GZIP, code: 'TRUNCATED', message: /empty/ },
  {
    name: 'media type says gzip, data is neither gzip, zstd nor tar',
    blob: async () => randomBytes(2048).fill(0x41, 0, 4),
    mediaType: GZIP,
    code: 'CORRUPT',
    message: /says gzip, but the data is neither gzip, zstd nor tar \(starts 41 41 41 41/,
  },
];

test('bad input gives a LayerError with a code and the label, releases the source, and the next walk works', { skip: needs }, async () => {
  const controller = new AbortController(); // shared, to prove no abort listener is left behind
  const good = gzipCli(await sample());
  for (const c of CASES) {
    const blob = await c.blob();
    const source = Readable.from(blob.length > 0 ? [blob.subarray(0, 5000), blob.subarray(5000)] : []);
    const error = await walkLayer(
      source,
      { mediaType: c.mediaType, label: LABEL, signal: controller.signal },
      { wants: () => true, file: async (_e, s) => void (await s.toArray()) },
    ).then(
      () => assert.fail(`${c.name}: the walk should fail`),
      (err: unknown) => err,
    );
    assert.ok(error instanceof LayerError, `${c.name}: ${String(error)}`);
    assert.ok([c.code].flat().includes(error.code), `${c.name}: ${error.code} ${error.message}`);
    assert.equal(error.label, LABEL);
    assert.ok(error.message.startsWith(`layer ${LABEL}: `), error.message);
    assert.match(error.message, c.message, c.name);
    assert.ok(source.destroyed, `${c.name}: source destroyed`);

    const rec = await record(good, { mediaType: GZIP, label: LABEL, signal: controller.signal });
    assert.equal(rec.entries.length, 4, `a good walk right after ${c.name}`);
  }
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
});

test("an error of the source itself rejects the walk unchanged and destroys what's left", { skip: needs }, async () => {
  const blob = gzipCli(await sample());
  const failure = new Error('blob sha256:abcd: digest mismatch');
  const source = new Readable({
    read() {},
  });
  source.push(blob.subarray(0, 20_000));
  setTimeout(() => source.destroy(failure), 20);
  await assert.rejects(walkLayer(source, { mediaType: GZIP, label: LABEL }, {}), (err) => err === failure);
  assert.ok(source.destroyed);
});

test('a source that closes early without an error is TRUNCATED', async () => {
  const blob = await sample();
  const source = new Readable({ read() {} });
  source.push(blob.subarray(0, 20_000));
  setTimeout(() => source.destroy(), 20);
  await assert.rejects(walkLayer(source, { mediaType: TAR, label: LABEL }, {}), (err) => err instanceof LayerError && err.code === 'TRUNCATED');
});

test('trailing zero blocks and an archive without end-of-archive marker are accepted', async () => {
  const file = padded(Buffer.from('x\n'));
  for (const blob of [Buffer.concat([ustarHeader('x', 2), file]), Buffer.concat([ustarHeader('x', 2), file, Buffer.alloc(10 * 512)])]) {
    const rec = await record(blob, { mediaType: TAR });
    assert.deepEqual(rec.files.get('x'), Buffer.from('x\n'));
  }
});
