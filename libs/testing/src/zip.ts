// The one byte-level zip writer of the tests, the hostile suite and the benchmarks: entry names,
// claimed sizes and bodies are the caller's (a zip library would refuse to write a lie), in memory
// (`zip`) or streamed to a file (`createZipWriter`, for generated dumps of 100,000s of entries).
// Zip64 end records are written past 65,535 entries, as the OSV bucket's own dumps do.
import { closeSync, openSync, writeSync } from 'node:fs';
import { constants, crc32, deflateRawSync } from 'node:zlib';

/** A body deflated elsewhere, written as it is, with the true size and CRC of what it inflates to. */
export interface DeflatedBody {
  data: Buffer;
  uncompressedSize: number;
  crc: number;
}

export interface ZipEntry {
  name: string;
  /** the content, deflated here (an empty one is stored) */
  content?: string | Buffer;
  deflated?: DeflatedBody;
  /** the uncompressed size written in the headers, when it should lie */
  claimedSize?: number;
}

const DOS_DATE = 0x21; // 1980-01-01: fixed, so output is reproducible
const UTF8_NAMES = 0x0800;

/** Writes entries through `write` and keeps only the central directory until `finish`. */
function zipAssembler(write: (buf: Buffer) => void): { add(e: ZipEntry): void; finish(): number } {
  const central: Buffer[] = [];
  let offset = 0;
  let count = 0;
  const out = (buf: Buffer): void => {
    write(buf);
    offset += buf.length;
  };
  return {
    add(e) {
      const name = Buffer.from(e.name, 'utf8');
      let body: DeflatedBody;
      let method = 8;
      if (e.deflated) {
        body = e.deflated;
      } else {
        const content = Buffer.from(e.content ?? '');
        body = { data: content.length > 0 ? deflateRawSync(content) : content, uncompressedSize: content.length, crc: crc32(content) };
        if (content.length === 0) method = 0;
      }
      const size = e.claimedSize ?? body.uncompressedSize;
      // The local header and the central directory entry share the fields from "version needed" to the name length.
      const fields = (header: Buffer, at: number): Buffer => {
        header.writeUInt16LE(20, at); // version needed
        header.writeUInt16LE(UTF8_NAMES, at + 2);
        header.writeUInt16LE(method, at + 4);
        header.writeUInt16LE(DOS_DATE, at + 8);
        header.writeUInt32LE(body.crc >>> 0, at + 10);
        header.writeUInt32LE(body.data.length, at + 14);
        header.writeUInt32LE(size, at + 18);
        header.writeUInt16LE(name.length, at + 22);
        return header;
      };
      const local = fields(Buffer.alloc(30), 4);
      local.writeUInt32LE(0x04034b50, 0);
      const entry = fields(Buffer.alloc(46), 6);
      entry.writeUInt32LE(0x02014b50, 0);
      entry.writeUInt16LE(20, 4); // version made by
      entry.writeUInt32LE(offset, 42);
      central.push(entry, name);
      count++;
      out(Buffer.concat([local, name, body.data]));
    },
    finish() {
      const cdStart = offset;
      for (const part of central) out(part);
      const cdSize = offset - cdStart;
      if (count > 0xffff) {
        const endAt = offset;
        const zip64End = Buffer.alloc(56);
        zip64End.writeUInt32LE(0x06064b50, 0);
        zip64End.writeBigUInt64LE(44n, 4);
        zip64End.writeUInt16LE(45, 12);
        zip64End.writeUInt16LE(45, 14);
        zip64End.writeBigUInt64LE(BigInt(count), 24);
        zip64End.writeBigUInt64LE(BigInt(count), 32);
        zip64End.writeBigUInt64LE(BigInt(cdSize), 40);
        zip64End.writeBigUInt64LE(BigInt(cdStart), 48);
        out(zip64End);
        const locator = Buffer.alloc(20);
        locator.writeUInt32LE(0x07064b50, 0);
        locator.writeBigUInt64LE(BigInt(endAt), 8);
        locator.writeUInt32LE(1, 16);
        out(locator);
      }
      const end = Buffer.alloc(22);
      end.writeUInt32LE(0x06054b50, 0);
      end.writeUInt16LE(Math.min(count, 0xffff), 8);
      end.writeUInt16LE(Math.min(count, 0xffff), 10);
      end.writeUInt32LE(cdSize, 12);
      end.writeUInt32LE(cdStart, 16);
      out(end);
      return count;
    },
  };
}

/** A zip archive in memory: local headers and bodies, central directory, end record. */
export function zip(entries: Iterable<ZipEntry>): Buffer {
  const parts: Buffer[] = [];
  const assembler = zipAssembler((buf) => parts.push(buf));
  for (const e of entries) assembler.add(e);
  assembler.finish();
  return Buffer.concat(parts);
}

export interface ZipWriter {
  add(entry: ZipEntry): void;
  /** writes the central directory and closes the file; returns the entry count */
  close(): number;
}

/** A zip written to `path` entry by entry: only the central directory (a few dozen bytes an entry) is held. */
export function createZipWriter(path: string): ZipWriter {
  const fd = openSync(path, 'w');
  const assembler = zipAssembler((buf) => writeSync(fd, buf));
  return {
    add: (entry) => assembler.add(entry),
    close() {
      try {
        return assembler.finish();
      } finally {
        closeSync(fd);
      }
    },
  };
}

/**
 * A deflate body that inflates to `mib` MiB of zeros while taking about 1 KB per MiB: one
 * full-flushed 1 MiB block repeated, then an empty final block (a 3 GiB entry costs ~3 MB).
 */
export function zeroBomb(mib: number): DeflatedBody {
  const chunk = Buffer.alloc(1024 * 1024);
  const block = deflateRawSync(chunk, { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = crc32(chunk, crc);
  const finalBlock = Buffer.from([0x03, 0x00]); // an empty final fixed-Huffman block
  return { data: Buffer.concat([...Array.from({ length: mib }, () => block), finalBlock]), uncompressedSize: mib * chunk.length, crc };
}
