// Class 4: headers and files that claim or hold far more than a scanner should allocate.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ndbDatabase, ndbSlotOffset, rpmHeaderBlob } from '@strata/analyzers/testing';
import { assertRefusedOrSame, assertSameFindings, scanJson, type HostileCase } from './harness.js';
import { DEBIAN_OS_RELEASE, dpkgParagraph, writeOciImage } from './images.js';
import { EOF_MARKER, entry, header, pad, paxRecord, tar, type TarType } from './tar.js';

const GiB = 1024 ** 3;
const LIMIT = /limit|bound|claims|too (large|big|long)|more than|exceed/i;

/** A layer whose first header is a special header claiming `size` bytes, then a normal entry. */
const claimingLayer = (type: TarType, size: number): Buffer =>
  Buffer.concat([header({ name: '././@LongLink', type, size }), Buffer.alloc(512, 0x61), entry({ name: 'etc/hostname', content: 'x\n' }), EOF_MARKER]);

/** The dpkg status of `count` packages, each with a random word so gzip cannot shrink it 100-fold. */
function bigStatus(targetBytes: number): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  for (let i = 0; size < targetBytes; i++) {
    const p = Buffer.from(`${dpkgParagraph({ name: `pkg${i}`, version: `1.0-${i}` })}Homepage: https://example.org/${randomBytes(12).toString('hex')}\n\n`);
    parts.push(p);
    size += p.length;
  }
  return Buffer.concat(parts);
}

/** An ELF64 with one writable PT_LOAD segment holding Go ≥ 1.18 inline build info. */
function goBinary(modinfo: string): Buffer {
  const varint = (n: number): Buffer => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return Buffer.from(out);
  };
  const str = (s: Buffer): Buffer => Buffer.concat([varint(s.length), s]);
  const wrapped = Buffer.concat([Buffer.alloc(16, 0x30), Buffer.from(modinfo), Buffer.alloc(16, 0x31)]);
  const head = Buffer.alloc(32);
  head.write('\xff Go buildinf:', 0, 'latin1');
  head[14] = 8;
  head[15] = 2;
  const blob = Buffer.concat([head, str(Buffer.from('go1.22.0')), str(wrapped)]);
  const elf = Buffer.alloc(4096);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2;
  elf[5] = 1;
  elf[6] = 1;
  elf.writeUInt16LE(2, 16);
  elf.writeUInt16LE(62, 18);
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(64n, 32); // phoff
  elf.writeUInt16LE(64, 52);
  elf.writeUInt16LE(56, 54);
  elf.writeUInt16LE(1, 56);
  elf.writeUInt32LE(1, 64); // PT_LOAD
  elf.writeUInt32LE(6, 68); // RW
  elf.writeBigUInt64LE(4096n, 72);
  elf.writeBigUInt64LE(0x401000n, 80);
  elf.writeBigUInt64LE(BigInt(blob.length), 96);
  elf.writeBigUInt64LE(BigInt(blob.length), 104);
  return Buffer.concat([elf, blob]);
}

const BDB_PAGE = 4096;

/**
 * A little-endian BerkeleyDB hash file (rpm's legacy `Packages`): a meta page, one hash page whose
 * `items` values all reference the same overflow chain of `chainPages` pages (page 2 onwards).
 */
function sharedOverflowChainDb(items: number, chainPages: number): Buffer {
  const pages = 2 + chainPages;
  const db = Buffer.alloc(pages * BDB_PAGE);
  db.writeUInt32LE(0x061561, 12); // hash magic
  db.writeUInt32LE(BDB_PAGE, 20);
  db[25] = 8; // hash meta page
  db.writeUInt32LE(pages - 1, 32); // last page number
  const hashPage = BDB_PAGE;
  db[hashPage + 25] = 13; // hash page
  db.writeUInt16LE(items * 2, hashPage + 20); // entries (key + value per item)
  const chainBytes = chainPages * (BDB_PAGE - 26);
  let end = BDB_PAGE;
  for (let i = 0; i < items; i++) {
    const key = end - 5;
    db[hashPage + key] = 1; // H_KEYDATA: a 4-byte key
    db.writeUInt32LE(i + 1, hashPage + key + 1);
    const value = key - 12;
    db[hashPage + value] = 3; // H_OFFPAGE: first page, total length
    db.writeUInt32LE(2, hashPage + value + 4);
    db.writeUInt32LE(chainBytes, hashPage + value + 8);
    db.writeUInt16LE(key, hashPage + 26 + i * 4);
    db.writeUInt16LE(value, hashPage + 26 + i * 4 + 2);
    end = value;
  }
  for (let p = 0; p < chainPages; p++) {
    const base = (2 + p) * BDB_PAGE;
    db[base + 25] = 7; // overflow page
    db.writeUInt32LE(p + 1 < chainPages ? 3 + p : 0, base + 16); // next page
    db.writeUInt16LE(BDB_PAGE - 26, base + 22); // bytes used
    db.fill(0x41 + (p % 26), base + 26, base + BDB_PAGE);
  }
  return db;
}

/**
 * An NDB `Packages.db` (SUSE's rpm database) whose `slots` slots all name the blocks of one 1 MB
 * package blob: read naively, one region would become `slots` packages and `slots` MB.
 */
function sharedBlobNdb(slots: number): Buffer {
  const slotPages = Math.ceil((32 + slots * 16) / 4096);
  const db = ndbDatabase([rpmHeaderBlob({ name: 'sharedblob', version: '1.0', release: '1', arch: 'x'.repeat(1024 * 1024) })], slotPages);
  const [blockOffset, blockCount] = [db.readUInt32LE(ndbSlotOffset(0) + 8), db.readUInt32LE(ndbSlotOffset(0) + 12)];
  for (let n = 1; n < slots; n++) {
    db.writeUInt32LE(n + 1, ndbSlotOffset(n) + 4);
    db.writeUInt32LE(blockOffset, ndbSlotOffset(n) + 8);
    db.writeUInt32LE(blockCount, ndbSlotOffset(n) + 12);
  }
  return db;
}

export const memoryCases: HostileCase[] = [
  {
    name: 'rpm NDB: 4,000 slots all naming one 1 MB package blob',
    kind: '4 NDB slots',
    run: async (ctx, honest) => {
      const rpm = tar([{ name: 'usr/lib/sysimage/rpm/Packages.db', content: sharedBlobNdb(4000) }]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app, rpm] })], honest.db);
      assertSameFindings(run, honest.debian);
      assert.match(run.stderr, /WARN rpm.*overlaps the blob of package 1/, 'the shared blob is a warning');
    },
  },
  {
    name: 'rpm NDB: header claiming a million slot pages',
    kind: '4 NDB slots',
    run: async (ctx, honest) => {
      const db = ndbDatabase([rpmHeaderBlob({ name: 'claimer', version: '1.0', release: '1' })]);
      db.writeUInt32LE(1_000_000, 12);
      const rpm = tar([{ name: 'usr/lib/sysimage/rpm/Packages.db', content: db }]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app, rpm] })], honest.db);
      assertSameFindings(run, honest.debian);
      assert.match(run.stderr, /WARN rpm.*1000000 slot pages claimed.*NOT in this report/, 'the refused database is a loud warning');
    },
  },
  {
    name: 'rpm BerkeleyDB: 190 hash items all pointing at one 2 MB overflow chain',
    kind: '4 BDB overflow chains',
    run: async (ctx, honest) => {
      const rpm = tar([{ name: 'var/lib/rpm/Packages', content: sharedOverflowChainDb(190, 520) }]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app, rpm] })], honest.db);
      assertSameFindings(run, honest.debian);
      assert.match(run.stderr, /WARN rpm/, 'the broken rpm database is a warning');
    },
  },
  {
    name: 'layer: GNU long-name header claiming 1.9 GiB',
    kind: '4 long-name/PAX bounds',
    run: async (ctx, honest) => {
      const run = await scanJson(
        ctx,
        [writeOciImage(ctx.path('image'), { layers: [honest.base, claimingLayer('gnu-longname', Math.floor(1.9 * GiB))] })],
        honest.db,
      );
      assert.equal(run.status, 1);
      assert.match(run.stderr, LIMIT);
    },
  },
  {
    name: 'layer: GNU long-link header claiming 3 GiB',
    kind: '4 long-name/PAX bounds',
    run: async (ctx, honest) => {
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, claimingLayer('gnu-longlink', 3 * GiB)] })], honest.db);
      assert.equal(run.status, 1);
    },
  },
  {
    name: 'layer: PAX header claiming 3 GiB',
    kind: '4 long-name/PAX bounds',
    run: async (ctx, honest) => {
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, claimingLayer('pax', 3 * GiB)] })], honest.db);
      assert.equal(run.status, 1);
    },
  },
  {
    name: 'layer: a real 2 MiB PAX header',
    kind: '4 long-name/PAX bounds',
    run: async (ctx, honest) => {
      const body = Buffer.from(paxRecord('comment', 'c'.repeat(2 * 1024 * 1024)));
      const layer = Buffer.concat([
        header({ name: 'PaxHeaders/x', type: 'pax', size: body.length }),
        pad(body),
        entry({ name: 'etc/hostname', content: 'x\n' }),
        EOF_MARKER,
      ]);
      assert.equal((await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, layer] })], honest.db)).status, 1);
    },
  },
  {
    name: 'docker-archive: first header a GNU long name claiming 3 GiB (--input)',
    kind: '4 long-name/PAX bounds',
    run: async (ctx, honest) => {
      const path = ctx.path('image.tar');
      writeFileSync(path, claimingLayer('gnu-longname', 3 * GiB));
      assert.equal((await scanJson(ctx, ['--input', path], honest.db)).status, 1);
    },
  },
  {
    name: 'dpkg: a 200 MB valid status file',
    kind: '4 large dpkg status',
    slowBuild: true,
    run: async (ctx, honest) => {
      const layer = tar([
        { name: 'etc/os-release', content: DEBIAN_OS_RELEASE },
        { name: 'var/lib/dpkg/status', content: bigStatus(200e6) },
      ]);
      const image = writeOciImage(ctx.path('image'), { layers: [{ tar: layer, blob: gzipSync(layer, { level: 1 }) }, honest.app] });
      const run = await scanJson(ctx, [image], honest.db);
      assert.ok(run.status === 1 || /WARN/.test(run.stderr), 'a status past the bound is refused or warned about');
    },
  },
  {
    name: 'dpkg: 200 MB of junk lines in the status file',
    kind: '4 large dpkg status',
    slowBuild: true,
    run: async (ctx, honest) => {
      const junk = Buffer.alloc(200e6);
      for (let i = 0; i < junk.length; i += 64) junk.write(`${randomBytes(8).toString('hex')} junk line without a colon\n`.slice(0, 64), i, 'latin1');
      const layer = tar([{ name: 'var/lib/dpkg/status', content: junk }]);
      const image = writeOciImage(ctx.path('image'), { layers: [honest.base, { tar: layer, blob: gzipSync(layer, { level: 1 }) }, honest.app] });
      const run = await scanJson(ctx, [image], honest.db);
      assert.ok(run.status === 0 || run.status === 1);
    },
  },
  {
    name: 'dpkg: 150k packages do not overflow the stack',
    kind: '4 150k packages',
    run: async (ctx, honest) => {
      const status = Array.from({ length: 150_000 }, (_, i) => `Package: p${i}\nStatus: install ok installed\nVersion: 1.${i}\n\n`).join('');
      const layer = tar([
        { name: 'etc/os-release', content: DEBIAN_OS_RELEASE },
        { name: 'var/lib/dpkg/status', content: status },
      ]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [layer] })], honest.db, ['--format', 'table']);
      assert.equal(run.status, 0, run.stderr);
    },
  },
  {
    name: 'npm: 150k packages in node_modules',
    kind: '4 150k packages',
    run: async (ctx, honest) => {
      const entries = Array.from({ length: 150_000 }, (_, i) => ({
        name: `srv/n/node_modules/p${i}/package.json`,
        content: `{"name":"p${i}","version":"1.0.0"}`,
      }));
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, tar(entries)] })], honest.db);
      assert.ok(run.status === 0 || run.status === 1);
    },
  },
  {
    name: 'python: METADATA with 2M continuation lines',
    kind: '4 METADATA/Go deps bounds',
    run: async (ctx, honest) => {
      const metadata = `Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.10\nDescription: x\n${' y\n'.repeat(2_000_000)}\n`;
      const app = tar([{ name: 'usr/lib/python3/dist-packages/Jinja2-2.10.dist-info/METADATA', content: metadata }]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app, app] })], honest.db);
      assertSameFindings(run, honest.debian);
    },
  },
  {
    name: 'go: a binary listing 500k dependencies',
    kind: '4 METADATA/Go deps bounds',
    run: async (ctx, honest) => {
      const deps = Array.from({ length: 500_000 }, (_, i) => `dep\ta/${i}\tv1.0.0\n`).join('');
      const bin = goBinary(`path\texample.com/m\nmod\texample.com/m\tv1.0.0\n${deps}`);
      const layer = tar([{ name: 'usr/local/bin/app', content: bin, mode: 0o755 }]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app, layer] })], honest.db);
      assertRefusedOrSame(run, honest.debian, LIMIT);
    },
  },
  {
    name: 'config: JSON nested 100k deep, --format json',
    kind: '4 deeply nested config',
    run: async (ctx, honest) => {
      const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const image = writeOciImage(ctx.path('image'), {
        layers: [honest.base, honest.app],
        config: (c) => void (c.nested = 0),
        configText: (t) => t.replace('"nested":0', `"nested":${nested}`),
      });
      const run = await scanJson(ctx, [image], honest.db);
      assertRefusedOrSame(run, honest.debian, /config.*(deep|nest)/i);
    },
  },
  {
    name: 'config: 100k-deep Labels value, --format cyclonedx and sarif',
    kind: '4 deeply nested config',
    run: async (ctx, honest) => {
      const nested = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
      const image = writeOciImage(ctx.path('image'), {
        layers: [honest.base, honest.app],
        config: (c) => void (c.config = { Labels: { l: 0 } }),
        configText: (t) => t.replace('"l":0', `"l":${nested}`),
      });
      for (const format of ['cyclonedx', 'sarif']) {
        const run = await ctx.strata(['image', image, '--db', honest.db, '--format', format, '--no-progress']);
        assert.ok(run.status === 0 || /config/.test(run.stderr), run.stderr);
      }
    },
  },
  {
    name: 'temp files: a spooled 20 MB ELF and jar, then a broken layer: nothing left in <cache>/tmp',
    kind: '4 temp files',
    run: async (ctx, honest) => {
      const elf = Buffer.concat([goBinary('path\texample.com/m\nmod\texample.com/m\tv1.0.0\n'), randomBytes(20 * 1024 * 1024)]);
      const big = tar([
        { name: 'usr/local/bin/app', content: elf, mode: 0o755 },
        { name: 'srv/app/lib/big.jar', content: Buffer.concat([randomBytes(1024), Buffer.alloc(0)]) },
      ]);
      const broken = gzipSync(honest.app);
      const image = writeOciImage(ctx.path('image'), { layers: [honest.base, big, { tar: honest.app, blob: broken.subarray(0, broken.length - 40) }] });
      const run = await scanJson(ctx, [image], honest.db);
      assert.equal(run.status, 1, 'the truncated layer fails the scan');
      const left = existsSync(join(ctx.cacheDir, 'tmp')) ? readdirSync(join(ctx.cacheDir, 'tmp')) : [];
      assert.deepEqual(left, [], 'temp files removed on the error path');
    },
  },
  {
    name: "temp files: a dead process's leftovers in <cache>/tmp are removed at the next start",
    kind: '4 temp files',
    run: async (ctx, honest) => {
      const deadPid = spawnSync('true').pid;
      const leftover = join(ctx.cacheDir, 'tmp', `strata-analyze-${deadPid}-leftover`);
      mkdirSync(leftover, { recursive: true });
      writeFileSync(join(leftover, 'spool'), 'x');
      const image = writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] });
      assertSameFindings(await scanJson(ctx, [image], honest.db), honest.debian);
      assert.ok(!existsSync(leftover), `${leftover} is still there`);
    },
  },
];
