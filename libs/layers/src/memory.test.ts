// Memory stays flat however big the layer: a generated ~1 GiB tar stream, plain and gzip, with a
// visitor that reads a share of the files. A bound on RSS growth, not a timing threshold.
import assert from 'node:assert/strict';
import { Readable, pipeline } from 'node:stream';
import { test } from 'node:test';
import { createGzip } from 'node:zlib';
import { ustarHeader } from './testing/index.js';
import { walkLayer, type LayerVisitor } from './walk.js';

const MiB = 1024 * 1024;

/** `files` files of 1 MiB each (distinct, mildly compressible content), generated on demand. */
function generatedTar(files: number): Readable {
  const body = Buffer.alloc(MiB);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 9)) & 0xff;
  let index = 0;
  return new Readable({
    highWaterMark: 256 * 1024,
    read() {
      if (index === files) {
        this.push(Buffer.alloc(1024));
        this.push(null);
        return;
      }
      const content = Buffer.from(body); // a fresh buffer per file, as a real source would give
      content.writeUInt32LE(index, 0);
      this.push(ustarHeader(`data/dir-${index % 97}/file-${index}.bin`, content.length));
      this.push(content);
      index++;
    },
  });
}

async function peakRssGrowth(walk: () => Promise<unknown>): Promise<number> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    await walk();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, process.memoryUsage().rss) - before;
}

function visitor(counts: { delivered: number; bytes: number }): LayerVisitor {
  return {
    wants: (e) => e.path.endsWith('0.bin'), // every 10th file
    entry: () => {},
    async file(_entry, content) {
      counts.delivered++;
      for await (const chunk of content) counts.bytes += (chunk as Buffer).length;
    },
  };
}

test('walking a 1 GiB plain tar and a 1 GiB gzip tar keeps RSS growth under 100 MiB', async () => {
  // warm up code paths and the allocator so the measurement is about the walk's own buffers
  await walkLayer(generatedTar(64), {}, visitor({ delivered: 0, bytes: 0 }));

  const plain = { delivered: 0, bytes: 0 };
  let summary: Awaited<ReturnType<typeof walkLayer>> | undefined;
  const plainGrowth = await peakRssGrowth(async () => {
    summary = await walkLayer(generatedTar(1024), { mediaType: 'application/vnd.oci.image.layer.v1.tar' }, visitor(plain));
  });
  assert.equal(summary?.entries, 1024);
  assert.ok(summary!.uncompressedBytes > 1024 * MiB);
  assert.equal(plain.delivered, 103);
  assert.equal(plain.bytes, 103 * MiB);
  assert.ok(plainGrowth < 100 * MiB, `plain: RSS grew by ${(plainGrowth / MiB).toFixed(0)} MiB`);

  const gz = { delivered: 0, bytes: 0 };
  const gzipGrowth = await peakRssGrowth(async () => {
    const source = pipeline(generatedTar(1024), createGzip({ level: 1 }), () => {});
    summary = await walkLayer(source, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', limits: { maxCompressionRatio: 1e6 } }, visitor(gz));
  });
  assert.equal(summary?.compression, 'gzip');
  assert.equal(summary?.entries, 1024);
  assert.equal(gz.bytes, 103 * MiB);
  assert.ok(gzipGrowth < 100 * MiB, `gzip: RSS grew by ${(gzipGrowth / MiB).toFixed(0)} MiB`);
  console.log(`RSS growth: plain ${(plainGrowth / MiB).toFixed(1)} MiB, gzip ${(gzipGrowth / MiB).toFixed(1)} MiB`);
});
