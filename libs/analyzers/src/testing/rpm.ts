// Test-only builders for package databases written byte by byte (the `./testing` entry; never
// imported by production code): rpm header blobs and NDB `Packages.db` files, for the analyzer's
// own tests and the CLI's hostile suite.

/** A minimal rpm header blob (the form package DBs store): NAME, VERSION, RELEASE, ARCH as strings. */
export function rpmHeaderBlob(p: { name: string; version: string; release: string; arch?: string }): Buffer {
  const tags: Array<[number, string]> = [
    [1000, p.name],
    [1001, p.version],
    [1002, p.release],
  ];
  if (p.arch !== undefined) tags.push([1022, p.arch]);
  const data: Buffer[] = [];
  const index = Buffer.alloc(tags.length * 16);
  let offset = 0;
  tags.forEach(([tag, value], i) => {
    index.writeInt32BE(tag, i * 16);
    index.writeUInt32BE(6, i * 16 + 4); // RPM_STRING_TYPE
    index.writeInt32BE(offset, i * 16 + 8);
    index.writeUInt32BE(1, i * 16 + 12);
    const bytes = Buffer.from(`${value}\0`);
    data.push(bytes);
    offset += bytes.length;
  });
  const head = Buffer.alloc(8);
  head.writeUInt32BE(tags.length, 0);
  head.writeUInt32BE(offset, 4);
  return Buffer.concat([head, index, ...data]);
}

const NDB_PAGE = 4096;

function adler32(bytes: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of bytes) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Byte offset of NDB slot `n` (slots follow the 32-byte file header), to rewrite it in a case. */
export const ndbSlotOffset = (n: number): number => 32 + n * 16;

/**
 * A valid NDB `Packages.db` (layout in src/rpm/ndb.ts) holding `blobs` as packages 1, 2, …, with
 * `slotPages` slot pages (default 1). Rewrite slots with ndbSlotOffset() to make hostile variants.
 */
export function ndbDatabase(blobs: Buffer[], slotPages = 1): Buffer {
  const parts: Buffer[] = [];
  const slotArea = Buffer.alloc(slotPages * NDB_PAGE);
  slotArea.write('RpmP', 0, 'latin1');
  slotArea.writeUInt32LE(0, 4); // version
  slotArea.writeUInt32LE(1, 8); // generation
  slotArea.writeUInt32LE(slotPages, 12);
  slotArea.writeUInt32LE(blobs.length + 1, 16); // next package index
  for (let n = 0; ndbSlotOffset(n) + 16 <= slotArea.length; n++) slotArea.write('Slot', ndbSlotOffset(n), 'latin1');
  parts.push(slotArea);
  let block = (slotPages * NDB_PAGE) / 16;
  blobs.forEach((blob, i) => {
    const pkgIdx = i + 1;
    const blocks = Math.ceil((16 + blob.length + 12) / 16);
    const bytes = Buffer.alloc(blocks * 16);
    bytes.write('BlbS', 0, 'latin1');
    bytes.writeUInt32LE(pkgIdx, 4);
    bytes.writeUInt32LE(1, 8);
    bytes.writeUInt32LE(blob.length, 12);
    blob.copy(bytes, 16);
    const tail = bytes.length - 12;
    bytes.writeUInt32LE(adler32(bytes.subarray(0, tail)), tail);
    bytes.writeUInt32LE(blob.length, tail + 4);
    bytes.write('BlbE', tail + 8, 'latin1');
    const slot = ndbSlotOffset(i);
    slotArea.writeUInt32LE(pkgIdx, slot + 4);
    slotArea.writeUInt32LE(block, slot + 8);
    slotArea.writeUInt32LE(blocks, slot + 12);
    parts.push(bytes);
    block += blocks;
  });
  return Buffer.concat(parts);
}
