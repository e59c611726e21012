// NDB files built byte by byte (layout in ndb.ts): each kind of damage costs only the slot it is in,
// and no arrangement of slots makes one region count as many packages or reach outside the file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ndbDatabase, ndbSlotOffset, rpmHeaderBlob } from '../testing/index.js';
import { rpmAnalyzer } from './rpm.js';
import { NdbError, readNdbBlobs } from './ndb.js';
import { DEFAULT_ANALYZER_LIMITS, type CollectedFile } from '../types.js';

const three = (): Buffer =>
  ndbDatabase(['alpha', 'beta', 'gamma'].map((name, i) => rpmHeaderBlob({ name, version: `1.${i}`, release: '1.1', arch: 'x86_64' })));

async function names(db: Buffer): Promise<{ names: string[]; warnings: string[] }> {
  const file: CollectedFile = { path: 'usr/lib/sysimage/rpm/Packages.db', content: db, size: db.length, mode: 0o644 };
  const out = await rpmAnalyzer.postAnalyze([file], { limits: DEFAULT_ANALYZER_LIMITS, tmpDir: '/nonexistent' });
  return { names: (out?.packageSets ?? []).flatMap((s) => s.packages.map((p) => p.name)), warnings: (out?.warnings ?? []).map((w) => w.message) };
}

test('ndb: a database written here reads back every package, in package-index order', async () => {
  const got = await names(three());
  assert.deepEqual(got, { names: ['alpha', 'beta', 'gamma'], warnings: [] });
});

test('ndb: a corrupted blob, a slot pointing outside the file and a bad slot magic each cost one package', async () => {
  const db = three();
  // beta's blob: flip a byte of its header data (checksum no longer matches)
  const betaBlock = db.readUInt32LE(ndbSlotOffset(1) + 8);
  db.writeUInt8(db.readUInt8(betaBlock * 16 + 40) ^ 0xff, betaBlock * 16 + 40);
  let got = await names(db);
  assert.deepEqual(got.names, ['alpha', 'gamma']);
  assert.match(got.warnings.join('\n'), /package 2: blob checksum mismatch/);

  const db2 = three();
  db2.writeUInt32LE(0x0fffffff, ndbSlotOffset(2) + 8); // gamma's blob far beyond the end
  got = await names(db2);
  assert.deepEqual(got.names, ['alpha', 'beta']);
  assert.match(got.warnings.join('\n'), /package 3: its blob .* outside/);

  const db3 = three();
  db3.write('Xlot', ndbSlotOffset(0), 'latin1');
  got = await names(db3);
  assert.deepEqual(got.names, ['beta', 'gamma']);
  assert.match(got.warnings.join('\n'), /slot 0: bad magic/);
});

test('ndb: 250 slots naming one blob yield it once; overlapping blobs are refused, bounded warnings', () => {
  const db = three();
  const [blockOffset, blockCount] = [db.readUInt32LE(ndbSlotOffset(0) + 8), db.readUInt32LE(ndbSlotOffset(0) + 12)];
  for (let n = 3; n < 253; n++) {
    db.writeUInt32LE(n + 1, ndbSlotOffset(n) + 4);
    db.writeUInt32LE(blockOffset, ndbSlotOffset(n) + 8);
    db.writeUInt32LE(blockCount, ndbSlotOffset(n) + 12);
  }
  const problems: string[] = [];
  const blobs = readNdbBlobs(db, problems);
  assert.equal(blobs.length, 3);
  assert.ok(blobs.reduce((n, b) => n + b.length, 0) <= db.length);
  assert.equal(problems.length, 51, 'at most 50 problems and a count');
  assert.match(problems[0]!, /overlaps the blob of package 1/);
  assert.match(problems[50]!, /200 more NDB problems not shown/);
});

test('ndb: a header claiming more slot pages than the file holds, or no slot page, is refused whole', () => {
  const db = three();
  db.writeUInt32LE(1_000_000, 12);
  assert.throws(
    () => readNdbBlobs(db),
    (e: unknown) => e instanceof NdbError && /truncated: 1000000 slot pages claimed/.test(e.message),
  );
  db.writeUInt32LE(0, 12);
  assert.throws(
    () => readNdbBlobs(db),
    (e: unknown) => e instanceof NdbError && /no slot pages/.test(e.message),
  );
  assert.throws(() => readNdbBlobs(Buffer.from('RpmP')), NdbError);
});

test('ndb: a blob whose head claims more bytes than its blocks is skipped', () => {
  const db = three();
  const block = db.readUInt32LE(ndbSlotOffset(0) + 8);
  db.writeUInt32LE(0xffffffff, block * 16 + 12);
  const problems: string[] = [];
  assert.equal(readNdbBlobs(db, problems).length, 2);
  assert.match(problems.join('\n'), /package 1: blob length 4294967295 exceeds/);
});
