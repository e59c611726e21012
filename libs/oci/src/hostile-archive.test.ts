// Hostile local inputs: tar headers that lie about sizes (negative, huge, not octal), special
// headers above Go's 1 MiB bound, a FIFO given as --input. Each is one clear InputError, fast,
// with no big allocation and no hang. Archives are built here from code.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { base256, paxRecord, skipUnless, tarHeader, tarPad } from '@strata/testing';
import { detectInput, InputError, openImage } from './index.js';
import { indexTar, MAX_TAR_SPECIAL_HEADER_BYTES } from './tar-index.js';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'strata-oci-hostile-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A ustar header block; `size` is written as octal text, or as the raw 12-byte field when a Buffer. */
const header = (name: string, size: number | string | Buffer, typeflag = '0'): Buffer => tarHeader({ name, size, typeflag });
const member = (name: string, content: string, typeflag = '0'): Buffer =>
  Buffer.concat([header(name, Buffer.byteLength(content), typeflag), tarPad(Buffer.from(content))]);

async function archive(name: string, ...parts: Buffer[]): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, Buffer.concat([...parts, Buffer.alloc(1024)]));
  return path;
}

const rejectsInput = async (promise: Promise<unknown>, message: RegExp): Promise<void> => {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected an InputError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
};

test('a docker-archive whose first entry is a PAX header with size -1536 is an error, not an endless loop', async () => {
  const manifest = member('manifest.json', '[]');
  const cases = [
    await archive('pax-negative-base256.tar', header('././@PaxHeader', base256(-1536n), 'x'), manifest, Buffer.alloc(20 * 1024)),
    await archive('pax-negative-octal.tar', header('././@PaxHeader', '-3000', 'x'), manifest),
    await archive(
      'pax-record-negative.tar',
      header('././@PaxHeader', paxRecord('size', '-1536').length, 'x'),
      tarPad(Buffer.from(paxRecord('size', '-1536'))),
      manifest,
    ),
    await archive('size-not-octal.tar', header('manifest.json', '12x9'), manifest),
  ];
  for (const path of cases) {
    await rejectsInput(detectInput(path), /has an invalid size/);
    await rejectsInput(openImage({ kind: 'docker-archive', path, original: path }), /has an invalid size/);
  }
});

test('GNU long-name / long-link and PAX headers above 1 MiB are refused before they are read', async () => {
  const tail = member('manifest.json', '[]');
  const GiB = 1024 ** 3;
  const cases: Array<[string, number | Buffer, string]> = [
    ['long-name-1.9GiB.tar', Math.floor(1.9 * GiB), 'L'],
    ['long-link-3GiB.tar', 3 * GiB, 'K'],
    ['pax-3GiB.tar', base256(3n * BigInt(GiB)), 'x'],
    ['pax-global-1MiB+1.tar', MAX_TAR_SPECIAL_HEADER_BYTES + 1, 'g'],
  ];
  for (const [name, size, type] of cases) {
    // the file is small but long enough that "runs past the end of the file" is not what stops it
    const body = typeof size === 'number' && size <= 2 * MAX_TAR_SPECIAL_HEADER_BYTES ? tarPad(Buffer.alloc(size, 0x41)) : Buffer.alloc(0);
    const path = await archive(name, header('././@LongLink', size, type), body, tail);
    await rejectsInput(indexTar(path), /header at offset 0 claims \d+ bytes; such headers are bounded at 1048576 bytes/);
    await rejectsInput(detectInput(path), /bounded at 1048576 bytes/);
  }
  // within the bound, a long name still names the entry
  const longName = `${'d/'.repeat(200)}manifest.json`;
  const ok = await archive('long-name-ok.tar', header('././@LongLink', longName.length + 1, 'L'), tarPad(Buffer.from(`${longName}\0`)), member('x', '[]'));
  const tar = await indexTar(ok);
  try {
    assert.ok(tar.entries.has(longName));
  } finally {
    await tar.close();
  }
});

test('a single zero block followed by a header is refused (Go’s archive/tar); trailing zero blocks end the archive', async () => {
  const path = await archive('lone-zero.tar', member('a', 'x'), Buffer.alloc(512), member('manifest.json', '[]'));
  await rejectsInput(indexTar(path), /single zero block at offset 1024/);
  const ends = await archive('ends.tar', member('manifest.json', '[]'), Buffer.alloc(1024), member('ignored', 'after the end'));
  const tar = await indexTar(ends);
  try {
    assert.deepEqual([...tar.entries.keys()], ['manifest.json']);
  } finally {
    await tar.close();
  }
});

test('a FIFO given as --input or as an archive is refused at once, never waited on', { skip: skipUnless('tool:mkfifo') }, async () => {
  const fifo = join(tmp, 'input.fifo');
  execFileSync('mkfifo', [fifo]);
  await rejectsInput(detectInput(fifo), /is a FIFO \(named pipe\), not an image archive/);
  await rejectsInput(openImage({ kind: 'docker-archive', path: fifo, original: fifo }), /is a FIFO \(named pipe\), not a regular file/);
  await rejectsInput(openImage({ kind: 'oci-archive', path: fifo, original: fifo }), /is a FIFO \(named pipe\), not a regular file/);
  await rejectsInput(detectInput('/dev/null'), /is a device or other special file/);
});
