/**
 * Reader for rpm's NDB package database (`Packages.db`, rpm ≥ 4.15 with `_db_backend ndb`: SUSE
 * Linux Enterprise 15, openSUSE Leap 15 and Tumbleweed). Layout, all integers little-endian:
 *   bytes 0..31   file header: magic "RpmP", format version 0, generation, number of slot pages,
 *                 next package index;
 *   slot pages    the first `slotPages` pages of 4096 bytes, after the header: 16-byte slots
 *                 { magic "Slot", package index (0 = free), block offset, block count };
 *   blobs         at blockOffset × 16, blockCount × 16 bytes long: a 16-byte head { magic "BlbS",
 *                 package index, generation, length }, the rpm header blob, padding, and a 12-byte
 *                 tail { Adler-32 of everything before it in the blocks, length, magic "BlbE" }.
 * Every slot is checked against the file (inside it, after the slot pages, no two blobs sharing a
 * block, head and tail agreeing, checksum); a bad slot costs that package with a problem noted,
 * never the others. Blobs are views into `db`: nothing is copied, so memory stays the file's size.
 */

const FILE_MAGIC = 0x506d7052; // "RpmP"
const SLOT_MAGIC = 0x746f6c53; // "Slot"
const HEAD_MAGIC = 0x53626c42; // "BlbS"
const TAIL_MAGIC = 0x45626c42; // "BlbE"
const PAGE = 4096;
const HEADER_SIZE = 32;
const SLOT_SIZE = 16;
const BLOCK = 16;
const HEAD_SIZE = 16;
const TAIL_SIZE = 12;
/** problems kept per file; the count of the rest is still reported */
const MAX_PROBLEMS = 50;

export class NdbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NdbError';
  }
}

/** Is this an NDB package database? */
export function isNdb(db: Buffer): boolean {
  return db.length >= HEADER_SIZE && db.readUInt32LE(0) === FILE_MAGIC;
}

/** Adler-32 over the given byte ranges, in order (zlib's checksum; no table, no allocation). */
function adler32(parts: Buffer[]): number {
  let a = 1;
  let b = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; ) {
      // 5552 bytes keep the sums below 2^53 before the modulo, as zlib does with 32 bits (NMAX).
      const end = Math.min(part.length, i + 5552);
      for (; i < end; i++) {
        a += part[i] as number;
        b += a;
      }
      a %= 65521;
      b %= 65521;
    }
  }
  return ((b << 16) | a) >>> 0;
}

interface Slot {
  slot: number;
  pkgIdx: number;
  start: number;
  end: number;
}

/**
 * The rpm header blob of every installed package, in package-index order (the order `rpm -qa`
 * lists them in). Problems with single slots go to `problems` (at most 50 lines and a count);
 * a file that is not an NDB database at all, or whose slot area is cut off, throws NdbError.
 */
export function readNdbBlobs(db: Buffer, problems?: string[]): Buffer[] {
  if (db.length < HEADER_SIZE) throw new NdbError(`file too short for an NDB database (${db.length} bytes)`);
  if (db.readUInt32LE(0) !== FILE_MAGIC) throw new NdbError('not an NDB package database (bad magic)');
  const version = db.readUInt32LE(4);
  if (version !== 0) throw new NdbError(`unsupported NDB format version ${version}`);
  const slotPages = db.readUInt32LE(12);
  if (slotPages === 0) throw new NdbError('the header names no slot pages');
  if (slotPages > Math.floor(db.length / PAGE))
    throw new NdbError(`truncated: ${slotPages} slot pages claimed, the file holds ${Math.floor(db.length / PAGE)} pages`);
  const slotAreaEnd = slotPages * PAGE;

  let problemCount = 0;
  const problem = (message: string): void => {
    problemCount++;
    if (problems && problemCount <= MAX_PROBLEMS) problems.push(message);
  };

  const slots: Slot[] = [];
  const seen = new Set<number>();
  for (let slot = 0, at = HEADER_SIZE; at + SLOT_SIZE <= slotAreaEnd; slot++, at += SLOT_SIZE) {
    if (db.readUInt32LE(at) !== SLOT_MAGIC) {
      problem(`slot ${slot}: bad magic; slot skipped`);
      continue;
    }
    const pkgIdx = db.readUInt32LE(at + 4);
    if (pkgIdx === 0) continue; // a free slot
    const blockOffset = db.readUInt32LE(at + 8);
    const blockCount = db.readUInt32LE(at + 12);
    const start = blockOffset * BLOCK;
    const end = start + blockCount * BLOCK;
    if (blockCount * BLOCK < HEAD_SIZE + TAIL_SIZE || start < slotAreaEnd || end > db.length) {
      problem(`package ${pkgIdx}: its blob (blocks ${blockOffset}+${blockCount}) lies outside the file's blob area; package skipped`);
      continue;
    }
    if (seen.has(pkgIdx)) {
      problem(`package ${pkgIdx}: a second slot names it; the second is skipped`);
      continue;
    }
    seen.add(pkgIdx);
    slots.push({ slot, pkgIdx, start, end });
  }

  // No two blobs may share a block: a hostile file cannot make one region count as many packages.
  slots.sort((x, y) => x.start - y.start);
  const placed: Slot[] = [];
  for (const s of slots) {
    const previous = placed.at(-1);
    if (previous && s.start < previous.end) {
      problem(`package ${s.pkgIdx}: its blob overlaps the blob of package ${previous.pkgIdx}; package skipped`);
      continue;
    }
    placed.push(s);
  }

  const blobs: Array<{ pkgIdx: number; blob: Buffer }> = [];
  for (const { pkgIdx, start, end } of placed) {
    const head = db.subarray(start, start + HEAD_SIZE);
    if (head.readUInt32LE(0) !== HEAD_MAGIC || head.readUInt32LE(4) !== pkgIdx) {
      problem(`package ${pkgIdx}: the blob head does not name it; package skipped`);
      continue;
    }
    const length = head.readUInt32LE(12);
    if (length > end - start - HEAD_SIZE - TAIL_SIZE) {
      problem(`package ${pkgIdx}: blob length ${length} exceeds its ${end - start} bytes of blocks; package skipped`);
      continue;
    }
    const tail = end - TAIL_SIZE;
    if (db.readUInt32LE(tail + 8) !== TAIL_MAGIC || db.readUInt32LE(tail + 4) !== length) {
      problem(`package ${pkgIdx}: the blob tail does not match its head; package skipped`);
      continue;
    }
    const blob = db.subarray(start + HEAD_SIZE, start + HEAD_SIZE + length);
    if (adler32([db.subarray(start, tail)]) !== db.readUInt32LE(tail)) {
      problem(`package ${pkgIdx}: blob checksum mismatch; package skipped`);
      continue;
    }
    blobs.push({ pkgIdx, blob });
  }
  if (problems && problemCount > MAX_PROBLEMS) problems.push(`${problemCount - MAX_PROBLEMS} more NDB problems not shown`);
  return blobs.sort((x, y) => x.pkgIdx - y.pkgIdx).map((b) => b.blob);
}
