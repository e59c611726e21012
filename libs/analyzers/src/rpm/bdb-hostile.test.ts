// Hostile BerkeleyDB files built byte by byte (layout in bdb.ts): every hash item pointing at one
// overflow chain must not multiply the chain in memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BdbError, readBdbValues } from './bdb.js';

const PAGE = 4096;

/** A little-endian hash DB: page 1 holds `items` key/value pairs whose values all reference one overflow chain. */
function sharedChainDb(items: number, chainPages: number): Buffer {
  const pages = 2 + chainPages;
  const db = Buffer.alloc(pages * PAGE);
  db.writeUInt32LE(0x061561, 12);
  db.writeUInt32LE(PAGE, 20);
  db.writeUInt32LE(pages - 1, 32);
  db[25] = 8; // hash meta
  const hash = PAGE;
  db[hash + 25] = 13;
  db.writeUInt16LE(items * 2, hash + 20);
  let end = PAGE;
  const chainBytes = chainPages * (PAGE - 26);
  for (let i = 0; i < items; i++) {
    const keyStart = end - 5;
    db[hash + keyStart] = 1; // H_KEYDATA
    db.writeUInt32LE(i + 1, hash + keyStart + 1);
    db.writeUInt16LE(keyStart, hash + 26 + i * 4);
    const valueStart = keyStart - 12;
    db[hash + valueStart] = 3; // H_OFFPAGE
    db.writeUInt32LE(2, hash + valueStart + 4);
    db.writeUInt32LE(chainBytes, hash + valueStart + 8);
    db.writeUInt16LE(valueStart, hash + 26 + i * 4 + 2);
    end = valueStart;
  }
  for (let p = 0; p < chainPages; p++) {
    const base = (2 + p) * PAGE;
    db[base + 25] = 7; // overflow
    db.writeUInt16LE(PAGE - 26, base + 22);
    db.writeUInt32LE(p + 1 < chainPages ? 3 + p : 0, base + 16);
    db.fill(0x41 + (p % 26), base + 26, base + PAGE);
  }
  return db;
}

test('bdb: 150 hash items sharing one overflow chain read it once, with a problem noted', () => {
  const db = sharedChainDb(150, 64);
  const problems: string[] = [];
  const values = readBdbValues(db, problems);
  assert.equal(values.length, 1);
  assert.equal(values[0]!.length, 64 * (PAGE - 26));
  assert.equal(values.reduce((n, v) => n + v.length, 0) <= db.length, true);
  assert.equal(problems.length, 149);
  assert.match(problems[0]!, /page 2 is referenced more than once/);
});

test('bdb: overlapping chains that add up to more than the file are refused', () => {
  // two items: one chain from page 2, one from page 3 (inside the first): together more bytes than pages exist
  const db = sharedChainDb(2, 64);
  db.writeUInt32LE(3, PAGE + (PAGE - 5 - 12 - 5 - 12) + 4);
  db.writeUInt32LE(63 * (PAGE - 26), PAGE + (PAGE - 5 - 12 - 5 - 12) + 8);
  assert.throws(
    () => readBdbValues(db),
    (err: unknown) => err instanceof BdbError && /more than the file/.test(err.message),
  );
});
