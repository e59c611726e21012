import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixturesCacheDir, skipUnless } from '@strata/testing';
import type { Package } from '@strata/model';
import { goBinaryAnalyzer } from './gobinary.js';
import { BUILDINFO_MAGIC, bufferSource, MAX_GO_DEPS, parseModInfo, readGoBuildInfo } from './buildinfo.js';
import { run, tempDir } from '../testing/index.js';
import { DEFAULT_ANALYZER_LIMITS } from '../types.js';

// Two small main modules: one on an OLD golang.org/x/text, one whose deps are replaced (`=>`),
// including a local-directory replacement.
const SOURCES: Record<string, Record<string, string>> = {
  hello: {
    'go.mod': 'module example.com/strata/hello\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.5\n',
    'main.go': 'package main\n\nimport (\n\t"fmt"\n\n\t"golang.org/x/text/language"\n)\n\nfunc main() { fmt.Println(language.English) }\n',
  },
  replaced: {
    'go.mod':
      'module example.com/strata/replaced\n\ngo 1.21\n\nrequire (\n\tgolang.org/x/text v0.3.5\n\texample.com/strata/lib v0.1.0\n)\n\n' +
      'replace golang.org/x/text => golang.org/x/text v0.3.8\n\nreplace example.com/strata/lib => ./lib\n',
    'lib/go.mod': 'module example.com/strata/lib\n\ngo 1.21\n',
    'lib/lib.go': 'package lib\n\nfunc Name() string { return "lib" }\n',
    'main.go':
      'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/strata/lib"\n\t"golang.org/x/text/language"\n)\n\nfunc main() { fmt.Println(language.English, lib.Name()) }\n',
  },
};
// binary name → module, extra env, extra build flags
const BUILDS: Array<{ name: string; module: string; env: Record<string, string>; flags: string[] }> = [
  { name: 'hello', module: 'hello', env: {}, flags: [] },
  { name: 'hello-pie', module: 'hello', env: { CGO_ENABLED: '0' }, flags: ['-buildmode=pie'] },
  { name: 'replaced-386-stripped', module: 'replaced', env: { CGO_ENABLED: '0', GOARCH: '386' }, flags: ['-ldflags=-s -w'] },
  // no Go build ID note: the analyzer finds the build info while the file streams by
  { name: 'hello-no-buildid', module: 'hello', env: { CGO_ENABLED: '0' }, flags: ['-ldflags=-buildid='] },
];

/** Builds the binaries once per Go version and source set; cached under fixturesCacheDir(). */
function goFixtures(): string {
  const goVersion = run('go', ['env', 'GOVERSION']).trim();
  const key = createHash('sha256').update(JSON.stringify({ goVersion, SOURCES, BUILDS })).digest('hex').slice(0, 16);
  const dir = join(fixturesCacheDir(), 'gobinary', key);
  if (existsSync(join(dir, 'done'))) return dir;
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  for (const [module, files] of Object.entries(SOURCES)) {
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(work, 'src', module, name, '..'), { recursive: true });
      writeFileSync(join(work, 'src', module, name), content);
    }
  }
  mkdirSync(join(work, 'bin'), { recursive: true });
  for (const b of BUILDS) {
    run('go', ['build', '-mod=mod', ...b.flags, '-o', join(work, 'bin', b.name), '.'], {
      cwd: join(work, 'src', b.module),
      env: { ...process.env, GOFLAGS: '-buildvcs=false', ...b.env },
    });
  }
  writeFileSync(join(work, 'done'), '');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, '..'), { recursive: true });
  renameSync(work, dir);
  return dir;
}

/** `go version -m` is the oracle: main module, deps with `=>` replacements applied, toolchain as stdlib. */
function oracle(binary: string): string[] {
  const lines = run('go', ['version', '-m', binary]).split('\n');
  const goVersion = (lines[0] ?? '').split(': ').pop()?.trim() ?? '';
  const out: string[] = [];
  let last: { path: string; version: string; main: boolean } | undefined;
  const entries: Array<{ path: string; version: string; main: boolean }> = [];
  for (const line of lines.slice(1)) {
    const cols = line.replace(/^\t/, '').split('\t');
    if (cols[0] === 'mod' || cols[0] === 'dep') {
      last = { path: cols[1] ?? '', version: cols[2] ?? '', main: cols[0] === 'mod' };
      entries.push(last);
    } else if (cols[0] === '=>' && last) {
      const [, path = '', version = ''] = cols;
      // a local directory replacement keeps the module's identity; a module replacement takes over
      if (/^(\.\.?\/|\/)/.test(path)) last.version = version;
      else Object.assign(last, { path, version });
    }
  }
  for (const e of entries) out.push(`${e.path}@${e.version}${e.main ? ' main' : ''}`);
  const m = /^go(\d+\.\d+(?:\.\d+)?)$/.exec(goVersion);
  assert.ok(m, `unexpected toolchain version ${goVersion}`);
  const semver = (m[1] ?? '').split('.').length === 2 ? `${m[1]}.0` : m[1];
  out.push(`stdlib@v${semver}`);
  return out.sort();
}

const describe = (pkgs: Package[]): string[] => pkgs.map((p) => `${p.name}@${p.version}${p.isMainModule ? ' main' : ''}`).sort();
const ctx = { limits: DEFAULT_ANALYZER_LIMITS, tmpDir: '' };

test('gobinary: binaries built here (old x/text, replacements, PIE, 386 stripped) equal go version -m', { skip: skipUnless('tool:go') }, async () => {
  const dir = goFixtures();
  const t = tempDir('gobin');
  try {
    // held in memory, and spooled to a temp file (a tiny in-memory bound forces the spool)
    for (const limits of [DEFAULT_ANALYZER_LIMITS, { ...DEFAULT_ANALYZER_LIMITS, maxInMemoryBinary: 64 * 1024 }]) {
      for (const b of BUILDS) {
        const file = join(dir, 'bin', b.name);
        const expected = oracle(file);
        const size = readFileSync(file).length;
        const out = await goBinaryAnalyzer.analyze(
          { path: `usr/local/bin/${b.name}`, content: createReadStream(file), size, mode: 0o755 },
          { limits, tmpDir: t.dir },
        );
        const set = out?.applications?.[0];
        assert.equal(set?.path, `usr/local/bin/${b.name}`);
        assert.deepEqual(describe(set?.packages ?? []), expected, b.name);
        if (b.module === 'hello') assert.ok(expected.includes('golang.org/x/text@v0.3.5'));
        for (const p of set?.packages ?? []) assert.match(p.purl, /^pkg:golang\//);
      }
      assert.deepEqual(readdirSync(t.dir), [], 'temp files are removed');
    }
  } finally {
    t.cleanup();
  }
});

test('gobinary: a non-Go ELF (/bin/ls) gives no packages and no error', async () => {
  const t = tempDir('gobin-ls');
  try {
    const size = readFileSync('/bin/ls').length;
    const out = await goBinaryAnalyzer.analyze({ path: 'bin/ls', content: createReadStream('/bin/ls'), size, mode: 0o755 }, { ...ctx, tmpDir: t.dir });
    assert.equal(out, undefined);
  } finally {
    t.cleanup();
  }
});

test('gobinary: a Go binary cut right after its build info header fails loudly', { skip: skipUnless('tool:go') }, async () => {
  const whole = readFileSync(join(goFixtures(), 'bin', 'hello'));
  const at = whole.indexOf(BUILDINFO_MAGIC);
  assert.ok(at > 0);
  const cut = whole.subarray(0, at + 40);
  await assert.rejects(readGoBuildInfo(bufferSource(cut)), /truncated|not in the file|bad string length/);
});

/**
 * A minimal ELF whose build info uses the pre-1.18 pointer format (Go 1.13–1.17): two pointers to Go
 * string headers resolved through PT_LOAD segments. `go version -m` still reads this format, so it
 * is the oracle for the hand-built file.
 */
function pointerFormatElf(is64: boolean, little: boolean, goVersion: string, modInfo: string, goNote = true): Buffer {
  const ptr = is64 ? 8 : 4;
  const page = 0x1000;
  const file = Buffer.alloc(page * 4);
  const w16 = (o: number, v: number): void => void (little ? file.writeUInt16LE(v, o) : file.writeUInt16BE(v, o));
  const w32 = (o: number, v: number): void => void (little ? file.writeUInt32LE(v, o) : file.writeUInt32BE(v, o));
  const wPtr = (o: number, v: number): void => (is64 ? void (little ? file.writeBigUInt64LE(BigInt(v), o) : file.writeBigUInt64BE(BigInt(v), o)) : w32(o, v));
  const roOff = page,
    rwOff = 2 * page,
    shOff = 3 * page;
  const roAddr = 0x400000 + roOff,
    rwAddr = 0x400000 + rwOff;
  // read-only segment: the string bytes
  const sentinelA = Buffer.from('0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6', 'latin1');
  const sentinelB = Buffer.from('\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2', 'latin1');
  const framed = Buffer.concat([sentinelA, Buffer.from(modInfo), sentinelB]);
  file.write(goVersion, roOff, 'latin1');
  framed.copy(file, roOff + 64);
  // writable segment: .go.buildinfo header, then the two string headers it points at
  BUILDINFO_MAGIC.copy(file, rwOff);
  file[rwOff + 14] = ptr;
  file[rwOff + 15] = little ? 0 : 1;
  wPtr(rwOff + 16, rwAddr + 32);
  wPtr(rwOff + 16 + ptr, rwAddr + 32 + 2 * ptr);
  wPtr(rwOff + 32, roAddr);
  wPtr(rwOff + 32 + ptr, goVersion.length);
  wPtr(rwOff + 32 + 2 * ptr, roAddr + 64);
  wPtr(rwOff + 32 + 3 * ptr, framed.length);
  // section names
  const names = '\0.go.buildinfo\0.shstrtab\0';
  const namesOff = shOff + 0x400;
  file.write(names, namesOff, 'latin1');
  // ELF header
  file.write('\x7fELF', 0, 'latin1');
  file[4] = is64 ? 2 : 1;
  file[5] = little ? 1 : 2;
  file[6] = 1;
  w16(16, 2); // ET_EXEC
  w16(18, is64 ? 62 : 3); // x86-64 / i386 (the oracle does not care which)
  w32(20, 1);
  const ehsize = is64 ? 64 : 52,
    phent = is64 ? 56 : 32,
    shent = is64 ? 64 : 40;
  if (is64) {
    file.writeBigUInt64LE(0n, 24);
    wPtr(24, roAddr);
    wPtr(32, ehsize);
    wPtr(40, shOff);
  } else {
    wPtr(24, roAddr);
    w32(28, ehsize);
    w32(32, shOff);
  }
  const h = is64 ? 48 : 36;
  w32(h, 0);
  w16(h + 4, ehsize);
  w16(h + 6, phent);
  w16(h + 8, goNote ? 3 : 2);
  w16(h + 10, shent);
  w16(h + 12, 3);
  w16(h + 14, 2);
  // program headers: PT_LOAD r-x over the read-only page, PT_LOAD rw- over the writable page, and
  // (as the Go linker writes) a PT_NOTE holding the Go build ID note
  const noteOff = 0x400;
  w32(noteOff, 4);
  w32(noteOff + 4, 8);
  w32(noteOff + 8, 4);
  file.write('Go\0\0buildid!', noteOff + 12, 'latin1');
  const segs = [
    { type: 1, off: roOff, addr: roAddr, flags: 5, size: page },
    { type: 1, off: rwOff, addr: rwAddr, flags: 6, size: page },
    ...(goNote ? [{ type: 4, off: noteOff, addr: 0x400000 + noteOff, flags: 4, size: 24 }] : []),
  ];
  segs.forEach((s, i) => {
    const o = ehsize + i * phent;
    w32(o, s.type);
    if (is64) {
      w32(o + 4, s.flags);
      wPtr(o + 8, s.off);
      wPtr(o + 16, s.addr);
      wPtr(o + 24, s.addr);
      wPtr(o + 32, s.size);
      wPtr(o + 40, s.size);
      wPtr(o + 48, s.type === 1 ? page : 4);
    } else {
      w32(o + 4, s.off);
      w32(o + 8, s.addr);
      w32(o + 12, s.addr);
      w32(o + 16, s.size);
      w32(o + 20, s.size);
      w32(o + 24, s.flags);
      w32(o + 28, s.type === 1 ? page : 4);
    }
  });
  // section headers: null, .go.buildinfo, .shstrtab
  const sections = [
    { name: 0, type: 0, addr: 0, off: 0, size: 0 },
    { name: 1, type: 1, addr: rwAddr, off: rwOff, size: 32 + 4 * ptr },
    { name: 15, type: 3, addr: 0, off: namesOff, size: names.length },
  ];
  sections.forEach((s, i) => {
    const o = shOff + i * shent;
    w32(o, s.name);
    w32(o + 4, s.type);
    if (is64) {
      wPtr(o + 16, s.addr);
      wPtr(o + 24, s.off);
      wPtr(o + 32, s.size);
      wPtr(o + 48, 1);
    } else {
      w32(o + 12, s.addr);
      w32(o + 16, s.off);
      w32(o + 20, s.size);
      w32(o + 32, 1);
    }
  });
  return file;
}

test('gobinary: the pre-Go-1.18 pointer format (64-bit LE, 32-bit BE) equals go version -m', { skip: skipUnless('tool:go') }, async () => {
  const modInfo =
    'path\texample.com/old\nmod\texample.com/old\tv1.0.0\th1:abc=\ndep\tgolang.org/x/text\tv0.3.5\th1:def=\ndep\tgithub.com/pkg/errors\tv0.8.0\n=>\tgithub.com/pkg/errors\tv0.9.1\th1:ghi=\n';
  const t = tempDir('gobin-ptr');
  try {
    for (const [is64, little] of [
      [true, true],
      [false, false],
    ] as const) {
      const elf = pointerFormatElf(is64, little, 'go1.16.15', modInfo);
      const file = join(t.dir, `old-${is64 ? 64 : 32}-${little ? 'le' : 'be'}`);
      writeFileSync(file, elf, { mode: 0o755 });
      const expected = oracle(file);
      const out = await goBinaryAnalyzer.analyze({ path: 'app/old', content: elf, size: elf.length, mode: 0o755 }, { ...ctx, tmpDir: t.dir });
      assert.deepEqual(describe(out?.applications?.[0]?.packages ?? []), expected, file);
      // Without the Go build ID note the file is only scanned, not held: the pointer format then
      // cannot be resolved, and that is said loudly rather than reported as "not a Go binary".
      const bare = pointerFormatElf(is64, little, 'go1.16.15', modInfo, false);
      await assert.rejects(
        goBinaryAnalyzer.analyze({ path: 'app/old', content: bare, size: bare.length, mode: 0o755 }, { ...ctx, tmpDir: t.dir }),
        /pre-Go-1\.18 build info/,
      );
    }
  } finally {
    t.cleanup();
  }
});

test('gobinary: module info with 500k deps keeps MAX_GO_DEPS of them and counts the rest', () => {
  const lines = ['path\texample.com/hostile', 'mod\texample.com/hostile\tv1.0.0\th1:x='];
  for (let i = 0; i < 500_000; i++) lines.push(`dep\texample.com/m${i}\tv0.0.${i}\th1:y=`);
  const info = parseModInfo('go1.22.1', lines.join('\n'));
  assert.equal(info.deps.length, MAX_GO_DEPS);
  assert.equal(info.droppedDeps, 500_000 - MAX_GO_DEPS);
  assert.equal(info.main?.path, 'example.com/hostile');
  assert.deepEqual(info.deps[0], { path: 'example.com/m0', version: 'v0.0.0' });
});
