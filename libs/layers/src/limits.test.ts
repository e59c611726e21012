import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { test } from 'node:test';
import { createGzip } from 'node:zlib';
import { skipUnless } from '@strata/testing';
import { LayerError } from './errors.js';
import { RATIO_CHECK_FLOOR_BYTES } from './limits.js';
import { assertMatchesOracle, expectedFromOracle } from './testing/oracle.js';
import { gzipCli, packTar, padded, pythonTarList, record, ustarHeader } from './testing/index.js';
import { walkLayer } from './walk.js';

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const TAR = 'application/vnd.oci.image.layer.v1.tar';
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** A tar holding one file of `size` zero bytes, generated lazily; `produced()` counts bytes pulled. */
function lazyZeroTar(size: number): { stream: Readable; produced: () => number } {
  const zeros = Buffer.alloc(MiB);
  let produced = 0;
  let headerSent = false;
  const stream = new Readable({
    read() {
      if (!headerSent) {
        headerSent = true;
        this.push(ustarHeader('var/log/bomb', size));
        return;
      }
      const left = size - produced;
      if (left <= 0) {
        this.push(Buffer.alloc(1024));
        this.push(null);
        return;
      }
      const chunk = left >= zeros.length ? zeros : zeros.subarray(0, left);
      produced += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, produced: () => produced };
}

function lazyGzipBomb(size: number): { stream: Readable; produced: () => number } {
  const { stream, produced } = lazyZeroTar(size);
  const gzip = createGzip({ level: 9 });
  return { stream: pipeline(stream, gzip, () => {}), produced };
}

const isLimit = (pattern: RegExp) => (err: unknown) => err instanceof LayerError && err.code === 'LIMIT_EXCEEDED' && pattern.test(err.message);

/** The uncompressed amount a bomb error reports ("decompression bomb: 64.1 MiB from …"). */
function expandedMiB(err: unknown): number {
  const m = /decompression bomb: ([\d.]+) MiB from/.exec(err instanceof Error ? err.message : '');
  return m ? Number(m[1]) : NaN;
}

test('a 2 GiB gzip bomb is stopped early by the ratio check, without decompressing it', async () => {
  const bomb = lazyGzipBomb(2 * GiB);
  const error = await walkLayer(
    bomb.stream,
    { mediaType: GZIP, label: 'bomb:latest@sha256:b0mb' },
    { wants: () => true, file: async (_e, s) => void s.resume() },
  ).then(
    () => assert.fail('the bomb must not pass'),
    (err: unknown) => err,
  );
  assert.ok(isLimit(/^layer bomb:latest@sha256:b0mb: decompression bomb: .* exceeds the ratio 100:1/)(error), String(error));
  assert.ok(bomb.stream.destroyed);
  // stopped right past the floor below which ratios are not judged (chunks are ≤ 64 KiB)
  const expanded = expandedMiB(error);
  assert.ok(expanded > RATIO_CHECK_FLOOR_BYTES / MiB && expanded < RATIO_CHECK_FLOOR_BYTES / MiB + 1, `${expanded} MiB`);
  // the generator only ran ahead by what sits compressed in stream buffers (at ~1000:1)
  assert.ok(bomb.produced() < GiB / 2, `${bomb.produced()} of ${2 * GiB} bytes were produced`);
});

test('with the compressed size known the ratio bound is exact: ratio × compressedSize', async () => {
  const bomb = lazyGzipBomb(2 * GiB);
  const compressedSize = 1_000_000; // claims 1 MB, so 100 MB may come out before the walk stops
  const error = await walkLayer(bomb.stream, { mediaType: GZIP, compressedSize }, {}).then(
    () => assert.fail('the bomb must not pass'),
    (err: unknown) => err,
  );
  assert.ok(isLimit(/decompression bomb: .* from 1000000 bytes compressed/)(error), String(error));
  const expanded = expandedMiB(error);
  assert.ok(expanded >= (100 * compressedSize) / MiB && expanded < (100 * compressedSize) / MiB + 1, `${expanded} MiB`);
});

test('a zstd bomb from the zstd CLI is stopped early too, block by block', { skip: skipUnless('tool:zstd', 'tool:sh') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-zbomb-'));
  try {
    const header = join(dir, 'header');
    writeFileSync(header, ustarHeader('bomb', 4 * GiB - 1));
    const child = spawn('sh', ['-c', `(cat "$0"; head -c ${4 * GiB - 1} /dev/zero) | zstd -q -c -1`, header], { stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise((resolve) => child.on('close', resolve));
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    await assert.rejects(walkLayer(child.stdout, { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }, {}), isLimit(/decompression bomb/));
    clearInterval(sampler);
    assert.ok(child.stdout.destroyed);
    await exited; // the pipeline dies of the closed pipe instead of compressing 4 GiB
    assert.ok(peak - before < 100 * MiB, `RSS grew by ${((peak - before) / MiB).toFixed(0)} MiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a small, highly compressible layer is below the ratio floor and passes', { skip: skipUnless('tool:gzip') }, async () => {
  const archive = await packTar([{ name: 'usr/share/text', content: 'lorem ipsum dolor\n'.repeat(1_000_000) }]);
  const blob = gzipCli(archive);
  assert.ok(archive.length / blob.length > 100, 'the fixture compresses beyond the ratio limit');
  const rec = await record(blob, { mediaType: GZIP, compressedSize: blob.length });
  assert.equal(rec.files.get('usr/share/text')?.length, 18_000_000);
});

test('maxUncompressedBytes stops a layer that expands too far', async () => {
  const { stream } = lazyZeroTar(5 * MiB);
  await assert.rejects(
    walkLayer(stream, { mediaType: TAR, label: 'big', limits: { maxUncompressedBytes: 2 * MiB } }, {}),
    isLimit(/^layer big: expands beyond 2.0 MiB uncompressed \(maxUncompressedBytes\)/),
  );
  assert.ok(stream.destroyed);
});

test('maxEntries: one entry too many fails the layer, exactly the limit passes', async () => {
  const archive = await packTar(Array.from({ length: 50 }, (_, i) => ({ name: `f/${i}`, content: `${i}` })));
  await assert.rejects(walkLayer(Readable.from([archive]), { limits: { maxEntries: 49 } }, {}), isLimit(/has more than 49 entries \(maxEntries\)/));
  const rec = await record(archive, { limits: { maxEntries: 50 } });
  assert.equal(rec.summary.entries, 50);
});

test('maxPathLength: longer paths and link targets are dropped with a warning, the rest is kept', async () => {
  const at100 = `d/${'x'.repeat(98)}`;
  const at101 = `d/${'y'.repeat(99)}`;
  const archive = await packTar([
    { name: at100, content: 'kept' },
    { name: at101, content: 'dropped' },
    { name: 'link', type: 'symlink', linkname: 'z'.repeat(101) },
    { name: 'after', content: 'kept too' },
  ]);
  const rec = await record(archive, { limits: { maxPathLength: 100 } });
  assert.deepEqual(
    rec.entries.map((e) => e.path),
    [at100, 'after'],
  );
  assert.deepEqual([...rec.files.keys()], [at100, 'after']);
  assert.deepEqual(
    rec.warnings.map((w) => [w.path, w.message]),
    [
      [at101, 'path of 101 characters exceeds maxPathLength 100; entry dropped'],
      ['link', 'symlink target of 101 characters exceeds maxPathLength 100; entry dropped'],
    ],
  );
});

test('maxFileSize: an oversize wanted file is skipped with a warning and drained', async () => {
  const archive = await packTar([
    { name: 'big', content: Buffer.alloc(5000, 1) },
    { name: 'exact', content: Buffer.alloc(1000, 2) },
  ]);
  const rec = await record(archive, { limits: { maxFileSize: 1000 } });
  assert.deepEqual([...rec.files.keys()], ['exact']);
  assert.deepEqual(rec.files.get('exact'), Buffer.alloc(1000, 2));
  assert.deepEqual(rec.warnings, [{ path: 'big', message: 'file of 5000 bytes exceeds maxFileSize 1000 bytes; content skipped' }]);
  assert.deepEqual(
    rec.entries.map((e) => [e.path, e.size]),
    [
      ['big', 5000],
      ['exact', 1000],
    ],
  );
});

test('hostile entries: escaping paths dropped, escaping links reported but never followed, nothing written', { skip: skipUnless('tool:python3') }, async () => {
  const body = padded(Buffer.from('root:x:0:0::/root:/bin/sh\n'));
  const archive = Buffer.concat([
    ustarHeader('../../etc/passwd', 26),
    body,
    ustarHeader('/../escape', 26),
    body,
    ustarHeader('a/../../b', 26),
    body,
    ustarHeader('/etc/absolute-is-fine', 26),
    body,
    ustarHeader('evil', 0, '2', { linkname: '../../../../etc/shadow' }),
    ustarHeader('evil/inner', 26),
    body,
    ustarHeader('abs-link', 0, '2', { linkname: '/etc/shadow' }),
    ustarHeader('hard', 0, '1', { linkname: '../../host/file' }),
    ustarHeader('hard-ok', 0, '1', { linkname: 'etc/absolute-is-fine' }),
    Buffer.alloc(1024),
  ]);
  const cwd = process.cwd();
  const scratch = mkdtempSync(join(tmpdir(), 'strata-hostile-'));
  process.chdir(scratch);
  try {
    const rec = await record(archive, { mediaType: TAR });
    const expected = expectedFromOracle(pythonTarList(archive));
    assertMatchesOracle(rec, expected);
    assert.deepEqual(expected.dropped, ['../../etc/passwd', '/../escape', 'a/../../b']);
    assert.deepEqual([...rec.files.keys()], ['etc/absolute-is-fine', 'evil/inner'], 'only in-root regular files have content');
    const byPath = new Map(rec.entries.map((e) => [e.path, e]));
    assert.deepEqual(byPath.get('evil'), { path: 'evil', type: 'symlink', mode: 0o644, size: 0, linkTarget: '../../../../etc/shadow', linkEscapesRoot: true });
    assert.deepEqual(byPath.get('abs-link')?.linkTarget, 'etc/shadow');
    assert.deepEqual(byPath.get('hard'), { path: 'hard', type: 'hardlink', mode: 0o644, size: 0, linkTarget: '../../host/file', linkEscapesRoot: true });
    assert.equal(rec.warnings.filter((w) => /escapes the layer root; reported as-is, never followed/.test(w.message)).length, 2);
    assert.deepEqual(readdirSync(scratch), [], 'nothing was written to the working directory');
  } finally {
    process.chdir(cwd);
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('an abort signal stops a walk in progress, also in the middle of a delivered file', async () => {
  const archive = await packTar([
    { name: 'first', content: Buffer.alloc(200_000, 1) },
    { name: 'second', content: Buffer.alloc(200_000, 2) },
  ]);
  const parts: Buffer[] = [];
  for (let i = 0; i < archive.length; i += 4096) parts.push(archive.subarray(i, i + 4096));
  const source = Readable.from(
    (async function* () {
      for (const part of parts) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        yield part;
      }
    })(),
  );
  const controller = new AbortController();
  let contentError: unknown;
  const walk = walkLayer(
    source,
    { signal: controller.signal, label: 'slow' },
    {
      wants: () => true,
      async file(_entry, content) {
        try {
          for await (const _chunk of content) controller.abort(new Error('user cancelled'));
        } catch (err) {
          contentError = err;
          throw err;
        }
      },
    },
  );
  await assert.rejects(walk, (err) => err instanceof LayerError && err.code === 'ABORTED' && err.message === 'layer slow: walk aborted');
  assert.ok(source.destroyed);
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(contentError instanceof LayerError && contentError.code === 'ABORTED', 'the visitor sees the abort on its stream');

  const aborted = AbortSignal.abort();
  const untouched = Readable.from([archive]);
  await assert.rejects(walkLayer(untouched, { signal: aborted }, {}), (err) => err instanceof LayerError && err.code === 'ABORTED');
  assert.ok(untouched.destroyed);
});
