// BlobStore benchmark: MB/s for streaming put (with sha256 verification) and get of one large
// object, filesystem and S3 (MinIO), with the peak RSS of each run. Each adapter runs in its own
// process so the RSS figures do not mix.
//
//   bash tools/node.sh --import tsx bench/blobstore/run.ts [--mb 256] [--adapters fs,s3]
//
// S3 comes from $STRATA_TEST_S3 and its keys (see infra/local/env.sh); it is skipped when unset.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createFsBlobStore, createS3BlobStore, type BlobStore } from '@strata/blobstore';
import { infra, runBenchChildren } from '@strata/testing';

const { values: args } = parseArgs({
  options: {
    mb: { type: 'string', default: '256' },
    adapters: { type: 'string', default: 'fs,s3' },
    child: { type: 'string' },
  },
});

const MiB = 1024 * 1024;

interface Result {
  adapter: string;
  bytes: number;
  putSeconds: number;
  getSeconds: number;
  peakRssMB: number;
}

/** `size` bytes cycled from a few random 1 MiB blocks: generating them costs nothing, holding them costs 8 MiB. */
function source(blocks: Buffer[], size: number): Readable {
  let sent = 0;
  let i = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const block = blocks[i++ % blocks.length]!;
      const n = Math.min(block.byteLength, size - sent);
      sent += n;
      this.push(n === block.byteLength ? block : block.subarray(0, n));
    },
  });
}

async function runOne(adapter: string): Promise<Result> {
  const size = Number(args.mb) * MiB;
  const blocks = Array.from({ length: 8 }, () => randomBytes(MiB));
  const hash = createHash('sha256');
  for await (const chunk of source(blocks, size)) hash.update(chunk as Buffer);
  const digest = `sha256:${hash.digest('hex')}`;

  let store: BlobStore;
  let cleanup = async () => {};
  if (adapter === 's3') {
    const s3 = infra.s3();
    if (!s3) throw new Error('STRATA_TEST_S3 is not set (source <(bash infra/local/env.sh))');
    store = await createS3BlobStore({ ...s3, bucket: 'strata-bench' });
  } else {
    const root = await mkdtemp(join(tmpdir(), 'strata-bench-blobstore-'));
    store = await createFsBlobStore({ root });
    cleanup = () => rm(root, { recursive: true, force: true });
  }
  try {
    const t0 = performance.now();
    await store.putBlob(digest, source(blocks, size), { size });
    const putSeconds = (performance.now() - t0) / 1000;

    const t1 = performance.now();
    let got = 0;
    for await (const chunk of await store.getBlob(digest)) got += (chunk as Buffer).byteLength;
    const getSeconds = (performance.now() - t1) / 1000;
    if (got !== size) throw new Error(`read back ${got} bytes, expected ${size}`);
    await store.delete(digest);
    return { adapter, bytes: size, putSeconds, getSeconds, peakRssMB: (process.resourceUsage().maxRSS * 1024) / MiB };
  } finally {
    await store.close();
    await cleanup();
  }
}

if (args.child) {
  process.stdout.write(`${JSON.stringify(await runOne(args.child))}\n`);
} else {
  const rows = runBenchChildren<Result>(fileURLToPath(import.meta.url), args.adapters.split(','), ['--mb', args.mb], (adapter) =>
    adapter === 's3' && !infra.s3() ? 'STRATA_TEST_S3 unset' : undefined,
  );
  console.log(`\nBlobStore: one ${args.mb} MiB object; put = stream in with sha256 verification, get = stream out`);
  console.log('adapter   put MB/s   get MB/s   peak RSS MB');
  for (const r of rows) {
    const mb = r.bytes / MiB;
    console.log(
      `${r.adapter.padEnd(8)} ${(mb / r.putSeconds).toFixed(0).padStart(9)}  ${(mb / r.getSeconds).toFixed(0).padStart(9)}  ${r.peakRssMB.toFixed(0).padStart(12)}`,
    );
  }
}
