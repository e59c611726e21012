/**
 * Reader for BerkeleyDB hash databases, enough for rpm's legacy `Packages` file (RHEL/CentOS ≤ 8,
 * Amazon Linux 2, older SUSE): every value of the hash, in page order. Layout (db_page.h):
 *   page 0 = hash meta page (magic 0x061561 at byte 12, page size at 20, last page number at 32);
 *   page header = 26 bytes (… entries u16 @20, hf_offset u16 @22, type u8 @25);
 *   hash pages (type 2 or 13) hold an index of u16 item offsets; items alternate key, value;
 *   an item is H_KEYDATA (1: inline bytes) or H_OFFPAGE (3: pgno u32 @4, total length u32 @8)
 *   whose bytes sit on a chain of overflow pages (type 7; bytes used = hf_offset; next = u32 @16).
 * Integers use the byte order the meta page's magic reveals.
 */

const HASH_MAGIC = 0x061561;
const PAGE_HEADER = 26;
/** page types (byte 25 of a page header) */
const PAGE = { HASH_UNSORTED: 2, OVERFLOW: 7, HASHMETA: 8, HASH: 13 } as const;
/** hash item types (first byte of an item) */
const ITEM = { KEYDATA: 1, OFFPAGE: 3 } as const;
const MAX_VALUE = 256 * 1024 * 1024;

export class BdbError extends Error {
  override name = 'BdbError';
}

/** Is this a BerkeleyDB hash database (either byte order)? */
export function isBdbHash(db: Buffer): boolean {
  return db.length >= 72 && (db.readUInt32LE(12) === HASH_MAGIC || db.readUInt32BE(12) === HASH_MAGIC);
}

/**
 * Every value stored in the hash database, in page order; rpm's key 0 (a counter) is left out.
 * Each overflow chain is read once (a second reference is skipped and noted in `problems`), and all
 * values together are bounded by the file size. Inline values are views into `db`.
 */
export function readBdbValues(db: Buffer, problems?: string[]): Buffer[] {
  if (db.length < 72) throw new BdbError(`file too short for a BerkeleyDB database (${db.length} bytes)`);
  const little = db.readUInt32LE(12) === HASH_MAGIC;
  if (!little && db.readUInt32BE(12) !== HASH_MAGIC) throw new BdbError('not a BerkeleyDB hash database (bad magic)');
  const u16 = (o: number): number => (little ? db.readUInt16LE(o) : db.readUInt16BE(o));
  const u32 = (o: number): number => (little ? db.readUInt32LE(o) : db.readUInt32BE(o));
  const pageSize = u32(20);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw new BdbError(`bad page size ${pageSize}`);
  if (db[25] !== PAGE.HASHMETA) throw new BdbError(`page 0 is not a hash meta page (type ${db[25]})`);
  if (db[24] !== 0) throw new BdbError('the database is encrypted');
  if (((db[26] ?? 0) & 1) !== 0) throw new BdbError('the database uses page checksums, which are not supported');
  const lastPgno = u32(32);
  const pages = Math.min(lastPgno + 1, Math.floor(db.length / pageSize));
  if (pages < lastPgno + 1) throw new BdbError(`truncated: meta page says ${lastPgno + 1} pages, file holds ${Math.floor(db.length / pageSize)}`);

  // Every byte of a legitimate value sits on its own page, so all values together never exceed the
  // file: more means overflow chains that share pages (a hostile file), refused before it costs memory.
  let budget = db.length;
  const readChains = new Set<number>();
  const overflow = (pgno: number, total: number): Buffer | undefined => {
    if (total > MAX_VALUE) throw new BdbError(`value of ${total} bytes is too large`);
    if (readChains.has(pgno)) {
      problems?.push(`overflow chain at page ${pgno} is referenced more than once; read once`);
      return undefined;
    }
    readChains.add(pgno);
    budget -= total;
    if (budget < 0) throw new BdbError(`values add up to more than the file's ${db.length} bytes (overlapping overflow chains)`);
    const out = Buffer.alloc(total);
    let filled = 0;
    let steps = 0;
    while (filled < total) {
      if (pgno === 0 || pgno >= pages) throw new BdbError(`overflow chain points at page ${pgno}, outside the file`);
      if (++steps > pages) throw new BdbError('overflow chain loops');
      const base = pgno * pageSize;
      if (db[base + 25] !== PAGE.OVERFLOW) throw new BdbError(`page ${pgno} on an overflow chain has type ${db[base + 25]}`);
      const used = u16(base + 22);
      if (used > pageSize - PAGE_HEADER) throw new BdbError(`overflow page ${pgno} claims ${used} bytes`);
      const n = Math.min(used, total - filled);
      db.copy(out, filled, base + PAGE_HEADER, base + PAGE_HEADER + n);
      filled += n;
      pgno = u32(base + 16);
    }
    return out;
  };

  const values: Buffer[] = [];
  for (let pgno = 1; pgno < pages; pgno++) {
    const base = pgno * pageSize;
    const type = db[base + 25];
    if (type !== PAGE.HASH && type !== PAGE.HASH_UNSORTED) continue;
    const entries = u16(base + 20);
    if (PAGE_HEADER + entries * 2 > pageSize) throw new BdbError(`hash page ${pgno} claims ${entries} entries`);
    const itemAt = (i: number): { start: number; end: number } => {
      const start = u16(base + PAGE_HEADER + i * 2);
      const end = i === 0 ? pageSize : u16(base + PAGE_HEADER + (i - 1) * 2);
      if (start < PAGE_HEADER || start >= end || end > pageSize) throw new BdbError(`hash page ${pgno} item ${i} has bad bounds`);
      return { start: base + start, end: base + end };
    };
    const bytesOf = (i: number): Buffer | undefined => {
      const { start, end } = itemAt(i);
      const itemType = db[start];
      if (itemType === ITEM.KEYDATA) return db.subarray(start + 1, end);
      if (itemType === ITEM.OFFPAGE) {
        if (end - start < 12) throw new BdbError(`hash page ${pgno} item ${i}: short off-page reference`);
        return overflow(u32(start + 4), u32(start + 8));
      }
      return undefined; // duplicates are not used by rpm
    };
    for (let i = 0; i + 1 < entries; i += 2) {
      const key = bytesOf(i);
      if (key && key.length === 4 && key.readUInt32LE(0) === 0) continue;
      const value = bytesOf(i + 1);
      if (value) values.push(value);
    }
  }
  return values;
}
