// Layer integrity against hostile archives: the diffID is verified over the whole uncompressed
// stream, the archive ends at the end-of-archive marker as GNU tar and Go's archive/tar see it, and
// special headers (GNU long name/link, PAX) are bounded before anything is buffered.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { base256, skipUnless, tarHeader } from '@strata/testing';
import { LayerError, type LayerErrorCode } from './errors.js';
import { MAX_SPECIAL_HEADER_BYTES } from './tar-guard.js';
import { chunked, gzipCli, packTar, padded, record, run, sha256, ustarHeader } from './testing/index.js';

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const TAR = 'application/vnd.oci.image.layer.v1.tar';
const LABEL = 'registry.test/app:1 layer 1/1 sha256:0123abcd';
const END_OF_ARCHIVE = Buffer.alloc(1024);

const honest = (): Promise<Buffer> =>
  packTar([
    { name: 'var/lib/dpkg/', type: 'directory' },
    { name: 'var/lib/dpkg/status', content: 'Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1\n\n' },
    { name: 'etc/os-release', content: 'ID=debian\nVERSION_ID=12\n' },
  ]);

/** A tar member (header + padded content) with no end-of-archive marker after it. */
const member = (name: string, content: string, typeflag = '0'): Buffer =>
  Buffer.concat([ustarHeader(name, Buffer.byteLength(content), typeflag), padded(Buffer.from(content))]);

const rejectsWith = async (promise: Promise<unknown>, code: LayerErrorCode, message: RegExp): Promise<void> => {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof LayerError, `expected a LayerError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    assert.ok(err.message.includes(LABEL), err.message);
    return true;
  });
};

test('the diffID of the uncompressed stream is computed and a matching claim passes, plain and gzip (CLI)', { skip: skipUnless('tool:gzip') }, async () => {
  const tar = await honest();
  const diffId = `sha256:${sha256(tar)}`;
  const plain = await record(tar, { mediaType: TAR, diffId, label: LABEL });
  assert.equal(plain.summary.diffId, diffId);
  const gzipped = await record(chunked(gzipCli(tar), 333), { mediaType: GZIP, diffId, label: LABEL });
  assert.equal(gzipped.summary.diffId, diffId);
  assert.ok(gzipped.files.has('var/lib/dpkg/status'));
});

test('a diffID claim that the content does not hash to refuses the layer, naming both digests', { skip: skipUnless('tool:gzip') }, async () => {
  const tar = await honest();
  const actual = `sha256:${sha256(tar)}`;
  const claimed = `sha256:${sha256(Buffer.from('the popular base layer'))}`;
  await rejectsWith(record(gzipCli(tar), { mediaType: GZIP, diffId: claimed, label: LABEL }), 'DIFF_ID_MISMATCH', new RegExp(`${actual}.*${claimed}`));
  await rejectsWith(record(tar, { diffId: 'md5:abc', label: LABEL }), 'DIFF_ID_MISMATCH', /not a sha256 or sha512 digest/);
  const sha512 = `sha512:${run('sha512sum', [], tar).toString().split(' ')[0]}`;
  assert.equal((await record(tar, { diffId: sha512, label: LABEL })).summary.diffId, sha512);
});

test('a source verified against the diffID itself: an uncompressed layer is not hashed again, a compressed one still is', {
  skip: skipUnless('tool:gzip'),
}, async () => {
  const tar = await honest();
  const actual = `sha256:${sha256(tar)}`;
  const claimed = `sha256:${sha256(Buffer.from('the popular base layer'))}`;
  // An uncompressed layer whose blob digest is its diffID: the walk reads the very bytes the source
  // verifies, so it takes the source's word (a source that does not verify must not claim it) ...
  const trusted = await record(chunked(tar, 333), { mediaType: TAR, diffId: claimed, sourceDigest: claimed, label: LABEL });
  assert.equal(trusted.summary.diffId, claimed);
  assert.ok(trusted.files.has('var/lib/dpkg/status'));
  // ... and a source that does verify fails the walk at its end when the bytes do not match.
  const failing = Readable.from(
    (async function* () {
      yield tar;
      throw new Error(`layer digest mismatch: expected ${claimed}`);
    })(),
  );
  await assert.rejects(record(failing, { mediaType: TAR, diffId: claimed, sourceDigest: claimed, label: LABEL }), /layer digest mismatch/);
  // A gzip blob's digest covers the compressed bytes: the tar is still hashed against the diffID.
  await rejectsWith(
    record(gzipCli(tar), { mediaType: GZIP, diffId: claimed, sourceDigest: claimed, label: LABEL }),
    'DIFF_ID_MISMATCH',
    new RegExp(`${actual}.*${claimed}`),
  );
  // A digest other than the diffID changes nothing either.
  await rejectsWith(
    record(tar, { mediaType: TAR, diffId: claimed, sourceDigest: actual, label: LABEL }),
    'DIFF_ID_MISMATCH',
    new RegExp(`${actual}.*${claimed}`),
  );
});

test('entries after the end-of-archive marker are ignored as GNU tar ignores them, but hashed into the diffID', { skip: skipUnless('tool:tar') }, async () => {
  const honestTar = await honest(); // ends with tar-stream's two zero blocks
  const trailers = [
    member('.wh..wh..opq', ''),
    member('var/lib/dpkg/.wh..wh..opq', ''),
    member('var/lib/dpkg/status', 'Package: openssl\nStatus: install ok installed\nVersion: 9.9.9\n\n'),
    member('var/lib/dpkg/.wh.status', ''),
  ];
  for (const trailer of trailers) {
    const hostile = Buffer.concat([honestTar, trailer, END_OF_ARCHIVE]);
    const gnuTar = run('tar', ['-tf', '-'], hostile)
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((n) => n.replace(/\/$/, ''));
    const rec = await record(chunked(hostile, 700), { mediaType: TAR, diffId: `sha256:${sha256(hostile)}`, label: LABEL });
    assert.deepEqual(
      rec.entries.map((e) => e.path),
      gnuTar,
      'the walk lists what GNU tar lists',
    );
    assert.deepEqual(rec.opaque, []);
    assert.deepEqual(rec.whiteouts, []);
    assert.match(rec.files.get('var/lib/dpkg/status')!.toString(), /Version: 3\.0\.11-1/);
    assert.equal(rec.summary.uncompressedBytes, hostile.length, 'trailing bytes are drained');
    assert.equal(rec.summary.diffId, `sha256:${sha256(hostile)}`, 'trailing bytes are hashed');
  }
});

test('trailing garbage after the end-of-archive marker is ignored, not refused', async () => {
  const hostile = Buffer.concat([await honest(), Buffer.from('not a tar header at all'.repeat(100))]);
  const rec = await record(hostile, { mediaType: TAR, label: LABEL });
  assert.ok(rec.files.has('var/lib/dpkg/status'));
  assert.equal(rec.summary.uncompressedBytes, hostile.length);
});

test('a single zero block followed by another header is refused, as Go’s archive/tar refuses it', async () => {
  const first = member('etc/os-release', 'ID=debian\n');
  const hostile = Buffer.concat([first, Buffer.alloc(512), member('var/lib/dpkg/status', 'Package: x\n\n'), END_OF_ARCHIVE]);
  await rejectsWith(record(hostile, { mediaType: TAR, label: LABEL }), 'BAD_TAR', /single zero block/);
  // a lone zero block at the very end is a normal end (Go: io.EOF)
  const rec = await record(Buffer.concat([first, Buffer.alloc(512)]), { mediaType: TAR, label: LABEL });
  assert.deepEqual(
    rec.entries.map((e) => e.path),
    ['etc/os-release'],
  );
});

/** A special header block claiming `size` bytes, followed by `body` (possibly far less than it claims). */
function specialHeader(typeflag: string, size: number, body = Buffer.alloc(0)): Buffer {
  return Buffer.concat([ustarHeader('././@LongLink', size, typeflag), padded(body)]);
}

test('GNU long-name, long-link and PAX headers above 1 MiB are refused before anything is buffered', async () => {
  const GiB = 1024 ** 3;
  const tail = Buffer.concat([member('etc/os-release', 'ID=debian\n'), END_OF_ARCHIVE]);
  const cases: Array<{ name: string; blob: Buffer }> = [
    { name: 'GNU long name of 1.9 GiB', blob: Buffer.concat([specialHeader('L', Math.floor(1.9 * GiB)), tail]) },
    { name: 'GNU long link of 3 GiB', blob: Buffer.concat([specialHeader('K', 3 * GiB), tail]) },
    { name: 'PAX header of 3 GiB', blob: Buffer.concat([specialHeader('x', 3 * GiB), tail]) },
    // tar-stream alone buffers up to 4 MiB: this one is really there, 2 MiB of records
    { name: 'PAX header of 2 MiB (present)', blob: Buffer.concat([specialHeader('x', 2 * 1024 * 1024, Buffer.alloc(2 * 1024 * 1024, 0x41)), tail]) },
    {
      name: 'PAX global header of 1 MiB + 1',
      blob: Buffer.concat([specialHeader('g', MAX_SPECIAL_HEADER_BYTES + 1, Buffer.alloc(MAX_SPECIAL_HEADER_BYTES + 1, 0x41)), tail]),
    },
  ];
  for (const c of cases) {
    await rejectsWith(record(c.blob, { mediaType: TAR, label: LABEL }), 'LIMIT_EXCEEDED', /header claims \d+ bytes; such headers are bounded at 1048576 bytes/);
  }
  // negative sizes (base-256 two's complement) are malformed, never a loop or a huge allocation
  const negative = Buffer.concat([tarHeader({ name: '././@LongLink', typeflag: 'x', size: base256(-1536n) }), tail]);
  await rejectsWith(record(negative, { mediaType: TAR, label: LABEL }), 'BAD_TAR', /PAX header with an invalid size \(-\d+\)/);
});

test('a GNU long name and a PAX path within the bound still name their entry', { skip: skipUnless('tool:tar') }, async () => {
  const longName = `opt/${'d/'.repeat(300)}file`;
  const tar = await packTar([{ name: longName, content: 'x' }]);
  const gnu = run('tar', ['-tf', '-'], tar).toString().trim();
  const rec = await record(tar, { mediaType: TAR, label: LABEL });
  assert.deepEqual(
    rec.entries.map((e) => e.path),
    [gnu],
  );
});
