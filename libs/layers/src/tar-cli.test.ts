// Archives made by the real GNU tar (gnu, posix/pax and ustar formats, sparse files, hardlinks,
// absolute names), checked against Python's tarfile.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync, closeSync, linkSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { assertMatchesOracle, expectedFromOracle } from './testing/oracle.js';
import { gzipCli, pythonTarList, record, run, tarCli } from './testing/index.js';

const needs = skipUnless('tool:tar', 'tool:python3', 'tool:gzip', 'tool:mkfifo');

function fillTree(dir: string, ustar: boolean): void {
  // ustar stores up to 155 + 100 bytes split at a slash (prefix field), GNU and pax go beyond
  const deep = ustar
    ? join(dir, 'usr/share', 'a-rather-long-directory-name'.repeat(2), 'and-another-one'.repeat(3))
    : join(dir, 'usr/share', 'a-rather-long-directory-name'.repeat(3), 'and-another-long-one'.repeat(3));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'file-whose-path-is-well-over-one-hundred-characters.txt'), 'long\n');
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc/os-release'), 'ID=debian\n');
  mkdirSync(join(dir, 'usr/bin'), { recursive: true });
  writeFileSync(join(dir, 'usr/bin/tool'), Buffer.alloc(70_000, 0x7f), { mode: 0o755 });
  linkSync(join(dir, 'usr/bin/tool'), join(dir, 'usr/bin/tool-alias'));
  symlinkSync('../usr/bin/tool', join(dir, 'etc/tool-link'));
  symlinkSync(`${'x/'.repeat(60)}target`, join(dir, 'etc/long-link'));
  mkdirSync(join(dir, 'var/lib/apt/lists'), { recursive: true });
  writeFileSync(join(dir, 'var/lib/apt/lists/.wh..wh..opq'), '');
  writeFileSync(join(dir, 'usr/share/.wh.removed-package'), '');
  writeFileSync(join(dir, 'usr/share/ünïcødé-名前.txt'), 'utf-8\n');
  mkdirSync(join(dir, 'empty-dir'));
  run('mkfifo', [join(dir, 'fifo')]);
}

for (const format of ['gnu', 'posix', 'ustar']) {
  test(`GNU tar --format=${format}: every entry as Python reads it, gzip-compressed by the CLI`, { skip: needs }, async () => {
    // ustar cannot store a link target over 100 bytes: leave that one out there
    const archive = tarCli(
      (dir) => {
        fillTree(dir, format === 'ustar');
        if (format === 'ustar') rmSync(join(dir, 'etc/long-link'));
      },
      [`--format=${format}`, '--sort=name'],
    );
    const expected = expectedFromOracle(pythonTarList(archive));
    assert.ok(
      expected.entries.some((e) => e.type === 'hardlink'),
      'the fixture has a hardlink',
    );
    const rec = await record(gzipCli(archive), { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' });
    assertMatchesOracle(rec, expected);
    assert.deepEqual(rec.warnings, []);
    assert.deepEqual(rec.whiteouts, ['usr/share/removed-package']);
    assert.deepEqual(rec.opaque, ['var/lib/apt/lists']);
  });
}

function makeSparse(path: string, segments: [offset: number, data: string][], size: number): void {
  const fd = openSync(path, 'w');
  try {
    for (const [offset, data] of segments) writeSync(fd, data, offset);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}

for (const format of ['gnu', 'posix']) {
  test(`GNU tar --sparse --format=${format}: the sparse file is 'other' with a warning, the rest intact`, { skip: needs }, async () => {
    const archive = tarCli(
      (dir) => {
        writeFileSync(join(dir, 'a-before'), 'before\n');
        makeSparse(
          join(dir, 'b-sparse'),
          [
            [0, 'head'],
            [1 << 20, 'middle'],
          ],
          4 << 20,
        );
        writeFileSync(join(dir, 'c-after'), 'after\n');
      },
      ['--sparse', `--format=${format}`, '--sort=name'],
    );
    const expected = expectedFromOracle(pythonTarList(archive));
    assert.ok(expected.sparse.has('b-sparse'), 'tar wrote a sparse entry');
    const rec = await record(archive);
    assertMatchesOracle(rec, expected);
    assert.deepEqual(
      rec.warnings.map((w) => w.path),
      ['b-sparse'],
    );
    assert.match(rec.warnings[0]!.message, /GNU sparse/);
    if (format === 'posix') assert.equal(rec.entries.find((e) => e.path === 'b-sparse')?.size, 4 << 20, 'PAX sparse reports the real size');
  });
}

test('GNU tar -P with absolute member names: leading / stripped', { skip: needs }, async () => {
  const outside = mkdtempSync(join(tmpdir(), 'strata-abs-'));
  try {
    writeFileSync(join(outside, 'abs.txt'), 'absolute\n');
    const archive = run('tar', ['-cPf', '-', join(outside, 'abs.txt')]);
    const rec = await record(archive);
    assertMatchesOracle(rec, expectedFromOracle(pythonTarList(archive)));
    assert.deepEqual([...rec.files.keys()], [join(outside, 'abs.txt').slice(1)]);
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});
