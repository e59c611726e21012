// A byte-level zip writer for the hostile suite: jars and OSV all.zip dumps whose entry names,
// claimed sizes and inflated sizes the case chooses (a zip library would refuse to write a lie).
import { constants, crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  content?: string | Buffer;
  /** an already deflated body: the entry is written with method 8 and these bytes as they are */
  deflated?: { data: Buffer; uncompressedSize: number; crc: number };
  /** the uncompressed size written in the headers, when it should lie */
  claimedSize?: number;
}

/** A zip archive (no zip64): local headers, bodies, central directory, end record. */
export function zip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    let data: Buffer;
    let method: number;
    let crc: number;
    let size: number;
    if (e.deflated) {
      ({ data, crc } = e.deflated);
      size = e.deflated.uncompressedSize;
      method = 8;
    } else {
      const content = Buffer.from(e.content ?? '');
      crc = crc32(content);
      size = content.length;
      data = content.length > 0 ? deflateRawSync(content) : content;
      method = content.length > 0 ? 8 : 0;
    }
    const claimed = e.claimedSize ?? size;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(claimed, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(claimed, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/**
 * A deflate body that inflates to `gib` GiB of zeros while taking ~1 MB per GiB: one sync-flushed
 * (non-final) segment of 64 MiB of zeros repeated, then an empty final block. Each repeat decodes
 * the same way because the window holds only zeros.
 */
export function zeroBomb(gib: number): { data: Buffer; uncompressedSize: number; crc: number } {
  const chunk = Buffer.alloc(64 * 1024 * 1024);
  const segment = deflateRawSync(chunk, { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
  const repeats = gib * 16;
  let crc = 0;
  for (let i = 0; i < repeats; i++) crc = crc32(chunk, crc);
  const data = Buffer.concat([...Array.from({ length: repeats }, () => segment), Buffer.from([0x03, 0x00])]);
  return { data, uncompressedSize: repeats * chunk.length, crc };
}
