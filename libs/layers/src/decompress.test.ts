import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { decompressStream } from './decompress.js';
import { LayerError } from './errors.js';
import { chunked, gzipCli, packTar, record, run, sha256, zstdCli } from './testing/index.js';

const needs = skipUnless('tool:gzip', 'tool:zstd');

async function drain(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Mixed content: text, zeros and random bytes, so every block type shows up. */
function mixed(): Buffer {
  return Buffer.concat([Buffer.from('text line\n'.repeat(100_000)), Buffer.alloc(2_000_000), randomBytes(1_500_000), Buffer.from('tail')]);
}

test('decompressStream gives back exactly what gzip -dc / zstd -dc give, in chunks of any size', { skip: needs }, async () => {
  const large = mixed();
  const small = Buffer.concat([large.subarray(0, 20_000), large.subarray(1_000_000, 1_020_000), large.subarray(3_000_000, 3_005_000)]);
  for (const [data, sizes] of [
    [small, [1, 13]],
    [large, [65_536, large.length]],
  ] as const) {
    for (const [blob, mediaType, compression] of [
      [gzipCli(data), 'application/vnd.oci.image.layer.v1.tar+gzip', 'gzip'],
      [zstdCli(data), 'application/vnd.oci.image.layer.v1.tar+zstd', 'zstd'],
      [run('zstd', ['-q', '-c', '-19', '--no-check'], data), undefined, 'zstd'],
    ] as const) {
      const oracle = run(compression === 'gzip' ? 'gzip' : 'zstd', ['-dc'], blob);
      for (const size of sizes) {
        const opened = await decompressStream(chunked(blob, size), mediaType);
        assert.equal(opened.compression, compression);
        assert.equal(opened.warning, undefined);
        assert.equal(sha256(await drain(opened.stream)), sha256(oracle), `${compression} of ${data.length} bytes in ${size}-byte chunks`);
      }
    }
  }
});

test('zstd: several frames and skippable frames', { skip: needs }, async () => {
  const a = Buffer.from('first frame\n'.repeat(10_000));
  const b = randomBytes(300_000);
  const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18]), Buffer.from([5, 0, 0, 0]), Buffer.from('hello')]);
  const multi = Buffer.concat([skippable, zstdCli(a), zstdCli(b), skippable]);
  const opened = await decompressStream(chunked(multi, 4096), 'application/vnd.oci.image.layer.v1.tar+zstd');
  assert.equal(sha256(await drain(opened.stream)), sha256(run('zstd', ['-dc'], multi)));
});

test('a media type that lies is overruled by the magic bytes, with a warning', { skip: needs }, async () => {
  const data = mixed();
  const opened = await decompressStream(Readable.from([zstdCli(data)]), 'application/vnd.docker.image.rootfs.diff.tar.gzip');
  assert.equal(opened.compression, 'zstd');
  assert.match(opened.warning ?? '', /says gzip but the data is zstd/);
  assert.equal(sha256(await drain(opened.stream)), sha256(data));
});

test('decoder failures surface on the stream as LayerError', { skip: needs }, async () => {
  const blob = gzipCli(mixed());
  const opened = await decompressStream(Readable.from([blob.subarray(0, blob.length - 100)]), 'application/vnd.oci.image.layer.v1.tar+gzip');
  await assert.rejects(drain(opened.stream), (err) => err instanceof LayerError && err.code === 'TRUNCATED');
});

test("a digest tap on the source's 'data' events sees every compressed byte exactly once", { skip: needs }, async () => {
  const archive = await packTar([
    { name: 'a', content: randomBytes(100_000) },
    { name: 'b', content: 'b'.repeat(300_000) },
  ]);
  for (const blob of [gzipCli(archive), zstdCli(archive), archive]) {
    const source = chunked(blob, 1000);
    const tap = createHash('sha256');
    source.on('data', (chunk: Buffer) => tap.update(chunk));
    const rec = await record(source);
    assert.equal(rec.files.size, 2);
    assert.equal(tap.digest('hex'), sha256(blob));
  }
});
