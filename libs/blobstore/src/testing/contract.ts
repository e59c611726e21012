// The BlobStore contract: one suite, run against every adapter (filesystem and S3).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { getJson, putJson } from '../json.js';
import { BlobNotFoundError, BlobStoreDigestMismatchError, InvalidKeyError, SizeMismatchError, type BlobStore } from '../types.js';

export interface BlobStoreContractOptions {
  /** A skip reason (e.g. from skipUnless('minio')), or false to run. */
  skip?: string | false;
  /** Size of the big streamed blob. Default $STRATA_TEST_BIG_BLOB_MB or 300 MB. */
  bigBlobBytes?: number;
}

const MB = 1024 * 1024;

/**
 * A reproducible pseudo-random byte stream (xorshift32), generated chunk by chunk: hundreds of MB
 * without ever holding them in memory.
 */
export function deterministicStream(size: number, seed: number, chunkSize = MB): Readable {
  let produced = 0;
  let state = seed >>> 0 || 0x9e3779b9;
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      if (produced >= size) return void this.push(null);
      const n = Math.min(chunkSize, size - produced);
      const words = new Uint32Array(Math.ceil(n / 4));
      for (let i = 0; i < words.length; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        words[i] = state >>> 0;
      }
      produced += n;
      this.push(Buffer.from(words.buffer, 0, n));
    },
  });
}

export async function digestOf(source: AsyncIterable<Uint8Array>): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

const sha256 = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Runs `work` while sampling RSS; returns how far RSS rose above where it started. */
export async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number; peak: number }> {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, growth: peak - start, peak };
  } finally {
    clearInterval(timer);
  }
}

export function runBlobStoreContract(name: string, makeStore: () => Promise<BlobStore>, options: BlobStoreContractOptions = {}): void {
  const run = randomBytes(4).toString('hex');
  const seedBase = randomBytes(4).readUInt32LE(0);
  const bigBytes = options.bigBlobBytes ?? Number(process.env.STRATA_TEST_BIG_BLOB_MB ?? 300) * MB;

  describe(`BlobStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    let store: BlobStore;
    const created = new Set<string>();
    const put = async (data: Uint8Array, digest = sha256(data)) => {
      created.add(digest);
      return store.putBlob(digest, Readable.from([data]));
    };

    before(async () => {
      store = await makeStore();
    });
    after(async () => {
      if (!store) return;
      for (const key of created) await store.delete(key);
      await store.close();
    });

    // First, while the process is still small: RSS rarely shrinks, so later tests would hide growth.
    test(`a ${Math.round(bigBytes / MB)} MB blob streams in and out with flat memory`, { timeout: 600_000 }, async () => {
      const seed = seedBase + 2;
      const { digest, size } = await digestOf(deterministicStream(bigBytes, seed));
      created.add(digest);
      const { result, growth } = await peakRssGrowth(async () => {
        const info = await store.putBlob(digest, deterministicStream(bigBytes, seed), { size });
        const back = await digestOf(await store.getBlob(digest));
        return { info, back };
      });
      assert.deepEqual(result.info, { digest, size });
      assert.deepEqual(result.back, { digest, size }, 'what comes back is what went in');
      // Fixed costs (an S3 part buffer or two) are tens of MB; a 300 MB object must not show up in RSS.
      const limit = 100 * MB;
      assert.ok(
        growth < limit,
        `RSS grew by ${(growth / MB).toFixed(1)} MB while streaming ${(bigBytes / MB).toFixed(0)} MB (limit ${(limit / MB).toFixed(0)} MB)`,
      );
      console.log(`# ${name}: RSS growth ${(growth / MB).toFixed(1)} MB for a ${(bigBytes / MB).toFixed(0)} MB put + get`);
      await store.delete(digest);
    });

    test('round trip: put, exists, stat, get', async () => {
      const data = randomBytes(300 * 1024);
      const digest = sha256(data);
      assert.equal(await store.exists(digest), false);
      assert.deepEqual(await put(data), { digest, size: data.byteLength });
      assert.equal(await store.exists(digest), true);
      assert.deepEqual(await store.stat(digest), { size: data.byteLength });
      assert.ok((await readAll(await store.getBlob(digest))).equals(data));

      // Any async iterable of bytes will do, e.g. a generator of plain Uint8Arrays.
      const pieces = [new TextEncoder().encode(`hello ${run} `), new TextEncoder().encode('world')];
      const joined = Buffer.concat(pieces);
      created.add(sha256(joined));
      await store.putBlob(
        sha256(joined),
        (async function* () {
          yield* pieces;
        })(),
      );
      assert.ok((await readAll(await store.getBlob(sha256(joined)))).equals(joined));

      const empty = new Uint8Array(0);
      assert.deepEqual(await put(empty), { digest: sha256(empty), size: 0 });
      assert.equal((await readAll(await store.getBlob(sha256(empty)))).byteLength, 0);
    });

    test('documents: put, replace, get, JSON helpers', async () => {
      const key = `reports/${run}/scan-1.json`;
      created.add(key);
      await store.putObject(key, '{"v":1}');
      await store.putObject(key, new TextEncoder().encode('{"v":2}'));
      assert.equal(Buffer.from((await store.getObject(key))!).toString(), '{"v":2}');
      assert.deepEqual(await store.stat(key), { size: 7 });
      const inventoryKey = `inventories/${run}-sha256:abc.json`;
      created.add(inventoryKey);
      await putJson(store, inventoryKey, { packages: [{ name: 'openssl', version: '3.0.2' }] });
      assert.deepEqual(await getJson(store, inventoryKey), { packages: [{ name: 'openssl', version: '3.0.2' }] });
      assert.equal(await store.getObject(`reports/${run}/missing.json`), undefined);
      assert.equal(await getJson(store, `reports/${run}/missing.json`), undefined);
    });

    test('a digest mismatch is rejected naming both digests, and leaves nothing behind', async () => {
      for (const size of [1000, 40 * MB]) {
        const actual = await digestOf(deterministicStream(size, seedBase + size));
        const claimed = sha256(randomBytes(32));
        const before = await collect(store.list(''));
        await assert.rejects(store.putBlob(claimed, deterministicStream(size, seedBase + size)), (error: unknown) => {
          assert.ok(error instanceof BlobStoreDigestMismatchError, `got ${String(error)}`);
          assert.equal(error.expected, claimed);
          assert.equal(error.actual, actual.digest);
          assert.match(error.message, new RegExp(`expected ${claimed}.*${actual.digest}`));
          return true;
        });
        assert.equal(await store.exists(claimed), false);
        assert.equal(await store.exists(actual.digest), false);
        assert.equal(await store.stat(claimed), undefined);
        assert.deepEqual(await collect(store.list(claimed)), []);
        assert.deepEqual(await collect(store.list(actual.digest)), []);
        assert.deepEqual((await collect(store.list(''))).sort(), before.sort(), `nothing new in the store after a rejected ${size}-byte put`);
      }
    });

    test('a wrong size or a failing source is rejected and leaves nothing behind', async () => {
      const data = randomBytes(64 * 1024);
      const digest = sha256(data);
      await assert.rejects(store.putBlob(digest, Readable.from([data]), { size: data.byteLength - 1 }), SizeMismatchError);
      await assert.rejects(store.putBlob(digest, Readable.from([data]), { size: data.byteLength + 1 }), SizeMismatchError);
      assert.equal(await store.exists(digest), false);

      const big = await digestOf(deterministicStream(24 * MB, seedBase + 7));
      async function* brokenSource() {
        let sent = 0;
        for await (const chunk of deterministicStream(24 * MB, seedBase + 7)) {
          yield chunk as Buffer;
          sent += (chunk as Buffer).byteLength;
          if (sent > 20 * MB) throw new Error('registry connection reset');
        }
      }
      await assert.rejects(store.putBlob(big.digest, brokenSource()), /registry connection reset/);
      assert.equal(await store.exists(big.digest), false);
      assert.deepEqual(await collect(store.list(big.digest)), []);
    });

    test('concurrent puts of the same digest all succeed and leave one correct object', async () => {
      const size = 24 * MB + 123;
      const seed = seedBase + 1;
      const { digest } = await digestOf(deterministicStream(size, seed));
      created.add(digest);
      const results = await Promise.all(Array.from({ length: 4 }, () => store.putBlob(digest, deterministicStream(size, seed, 256 * 1024), { size })));
      for (const r of results) assert.deepEqual(r, { digest, size });
      assert.deepEqual(await collect(store.list(digest)), [digest]);
      assert.deepEqual(await store.stat(digest), { size });
      assert.deepEqual(await digestOf(await store.getBlob(digest)), { digest, size });
    });

    test('list by prefix', async () => {
      const docs = [`lists/${run}/a/1.json`, `lists/${run}/a/2.json`, `lists/${run}/b/1.json`, `lists/${run}-other.json`];
      for (const key of docs) {
        created.add(key);
        await store.putObject(key, '{}');
      }
      assert.deepEqual((await collect(store.list(`lists/${run}/a/`))).sort(), docs.slice(0, 2));
      assert.deepEqual((await collect(store.list(`lists/${run}/`))).sort(), docs.slice(0, 3));
      assert.deepEqual((await collect(store.list(`lists/${run}`))).sort(), docs.slice().sort());
      assert.deepEqual(await collect(store.list(`lists/${run}/a/1`)), [docs[0]]);

      const blobs = [randomBytes(100), randomBytes(100)];
      for (const b of blobs) await put(b);
      const digests = blobs.map((b) => sha256(b));
      for (const d of digests) {
        assert.deepEqual(await collect(store.list(d.slice(0, 'sha256:'.length + 12))), [d]);
      }
      const all = await collect(store.list('sha256:'));
      for (const d of digests) assert.ok(all.includes(d), `${d} listed under sha256:`);
      assert.ok(!all.some((k) => !k.startsWith('sha256:')), 'only blobs under sha256:');
      const everything = await collect(store.list(''));
      for (const k of [...digests, ...docs]) assert.ok(everything.includes(k), `${k} listed under ""`);
    });

    test('delete removes blobs and documents; deleting what is missing is fine', async () => {
      const data = randomBytes(1000);
      const digest = sha256(data);
      await put(data);
      const key = `deletes/${run}.json`;
      await store.putObject(key, '{}');
      await store.delete(digest);
      await store.delete(key);
      assert.equal(await store.exists(digest), false);
      assert.equal(await store.exists(key), false);
      await assert.rejects(store.getBlob(digest), BlobNotFoundError);
      assert.equal(await store.getObject(key), undefined);
      await store.delete(digest);
      await store.delete(`deletes/${run}-never.json`);
    });

    test('missing things: stat undefined, exists false, getBlob BlobNotFoundError', async () => {
      const digest = sha256(randomBytes(16));
      assert.equal(await store.stat(digest), undefined);
      assert.equal(await store.stat(`missing/${run}.json`), undefined);
      assert.equal(await store.exists(digest), false);
      await assert.rejects(store.getBlob(digest), (error: unknown) => {
        assert.ok(error instanceof BlobNotFoundError);
        assert.match(error.message, new RegExp(`${digest} not found in ${store.location.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        return true;
      });
    });

    test('conditional writes: create-only, compare-and-swap on the version, and losers learn they lost', async () => {
      const key = `conditional/${run}/record.json`;
      created.add(key);
      const text = (doc: { body: Uint8Array } | undefined) => (doc ? Buffer.from(doc.body).toString() : undefined);
      assert.equal(await store.getObjectVersioned(key), undefined);
      assert.equal(await store.putObjectIfMatch(key, '{"v":1}', 'no-such-version'), undefined, 'a version condition on a missing document fails');
      const v1 = await store.putObjectIfMatch(key, '{"v":1}', null);
      assert.ok(v1, 'create-only succeeds when there is none');
      assert.equal(await store.putObjectIfMatch(key, '{"v":"other"}', null), undefined, 'create-only fails once it exists');
      const read1 = await store.getObjectVersioned(key);
      assert.deepEqual({ text: text(read1), version: read1?.version }, { text: '{"v":1}', version: v1 });

      const v2 = await store.putObjectIfMatch(key, new TextEncoder().encode('{"v":2}'), v1);
      assert.ok(v2 && v2 !== v1, 'a matching version is replaced and the version moves');
      assert.equal(await store.putObjectIfMatch(key, '{"v":"stale"}', v1), undefined, 'a stale version loses');
      assert.equal(text(await store.getObjectVersioned(key)), '{"v":2}', 'the loser changed nothing');

      // Plain writes and deletes count as writes too.
      await store.putObject(key, '{"v":3}');
      assert.equal(await store.putObjectIfMatch(key, '{"v":"stale"}', v2), undefined, 'a plain put in between makes the version stale');
      const v3 = (await store.getObjectVersioned(key))!.version;
      await store.delete(key);
      assert.equal(await store.putObjectIfMatch(key, '{"v":"stale"}', v3), undefined, 'a delete in between makes the version stale');
      assert.equal(await store.getObjectVersioned(key), undefined);
      assert.ok(await store.putObjectIfMatch(key, '{"v":4}', null), 'and it can be created again');
      assert.equal(Buffer.from((await store.getObject(key))!).toString(), '{"v":4}');
    });

    test('conditional writes: of writers racing from the same version exactly one wins, and read-modify-write loops lose no update', async () => {
      const key = `conditional/${run}/race.json`;
      created.add(key);
      const base = await store.putObjectIfMatch(key, '{"winner":null}', null);
      assert.ok(base);
      const writers = 16;
      const outcomes = await Promise.all(Array.from({ length: writers }, (_, i) => store.putObjectIfMatch(key, JSON.stringify({ winner: i }), base)));
      const winners = outcomes.flatMap((version, i) => (version === undefined ? [] : [i]));
      assert.equal(winners.length, 1, `exactly one of ${writers} racing writers wins (won: ${winners.join(', ')})`);
      assert.deepEqual(JSON.parse(Buffer.from((await store.getObject(key))!).toString()), { winner: winners[0] });

      // A counter incremented by concurrent read / compare-and-swap / retry loops ends at the number of increments.
      const counter = `conditional/${run}/counter.json`;
      created.add(counter);
      const increment = async (): Promise<number> => {
        for (let lost = 0; ; lost++) {
          const current = await store.getObjectVersioned(counter);
          const value = current ? (JSON.parse(Buffer.from(current.body).toString()) as { n: number }).n : 0;
          if ((await store.putObjectIfMatch(counter, JSON.stringify({ n: value + 1 }), current?.version ?? null)) !== undefined) return lost;
        }
      };
      const lost = await Promise.all(Array.from({ length: 12 }, increment));
      assert.deepEqual(JSON.parse(Buffer.from((await store.getObject(counter))!).toString()), { n: 12 }, 'no increment was lost');
      console.log(`# ${name}: 12 concurrent increments, ${lost.reduce((a, b) => a + b, 0)} lost races retried`);
    });

    test('invalid keys are rejected', async () => {
      const bad = [
        '',
        '../etc/passwd',
        '/abs/path',
        'a//b',
        'a/./b',
        'blobs/sha256/aa',
        'sha256:ABC',
        `sha256:${'a'.repeat(63)}`,
        'md5:abc',
        'reports/.hidden',
        'with space',
      ];
      for (const key of bad) {
        await assert.rejects(store.stat(key), InvalidKeyError, `stat ${JSON.stringify(key)}`);
      }
      await assert.rejects(store.putObject(`sha256:${'a'.repeat(64)}`, '{}'), InvalidKeyError, 'documents cannot take a digest key');
      await assert.rejects(store.putObjectIfMatch('../escape.json', '{}', null), InvalidKeyError);
      await assert.rejects(store.getObjectVersioned(`sha256:${'a'.repeat(64)}`), InvalidKeyError);
      await assert.rejects(store.putBlob(`reports/x.json`, Readable.from([Buffer.from('x')])), InvalidKeyError, 'blobs need a digest');
    });
  });
}
