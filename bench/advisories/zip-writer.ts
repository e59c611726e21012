// A small streaming zip writer for the generated OSV dumps: each entry is deflated and written as
// it comes, only the central directory (a few dozen bytes per entry) is kept until the end. Zip64
// end records are written when the entry count passes 65,535 (the Debian dump does), as the OSV
// bucket's own dumps do; yauzl reads both.
import { closeSync, openSync, writeSync } from 'node:fs';
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipWriter {
  add(name: string, content: string | Buffer): void;
  /** writes the central directory and closes the file; returns the entry count */
  close(): number;
}

const DOS_DATE = ((2024 - 1980) << 9) | (1 << 5) | 1; // 2024-01-01: fixed, so output is reproducible

export function createZipWriter(path: string): ZipWriter {
  const fd = openSync(path, 'w');
  let offset = 0;
  const central: Buffer[] = [];
  const write = (buf: Buffer): void => {
    writeSync(fd, buf);
    offset += buf.length;
  };
  return {
    add(name, content) {
      const data = typeof content === 'string' ? Buffer.from(content) : content;
      const packed = deflateRawSync(data, { level: 6 });
      const nameBytes = Buffer.from(name);
      const crc = crc32(data);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4); // version needed
      local.writeUInt16LE(0x0800, 6); // UTF-8 names
      local.writeUInt16LE(8, 8); // deflate
      local.writeUInt16LE(0, 10);
      local.writeUInt16LE(DOS_DATE, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(packed.length, 18);
      local.writeUInt32LE(data.length, 22);
      local.writeUInt16LE(nameBytes.length, 26);
      local.writeUInt16LE(0, 28);
      const at = offset;
      write(Buffer.concat([local, nameBytes, packed]));
      const entry = Buffer.alloc(46);
      entry.writeUInt32LE(0x02014b50, 0);
      entry.writeUInt16LE(20, 4);
      entry.writeUInt16LE(20, 6);
      entry.writeUInt16LE(0x0800, 8);
      entry.writeUInt16LE(8, 10);
      entry.writeUInt16LE(0, 12);
      entry.writeUInt16LE(DOS_DATE, 14);
      entry.writeUInt32LE(crc, 16);
      entry.writeUInt32LE(packed.length, 20);
      entry.writeUInt32LE(data.length, 24);
      entry.writeUInt16LE(nameBytes.length, 28);
      entry.writeUInt32LE(at, 42);
      central.push(entry, nameBytes);
    },
    close() {
      const count = central.length / 2;
      const cdStart = offset;
      for (const part of central) write(part);
      const cdSize = offset - cdStart;
      if (count > 0xffff) {
        const zip64End = Buffer.alloc(56);
        const endAt = offset;
        zip64End.writeUInt32LE(0x06064b50, 0);
        zip64End.writeBigUInt64LE(44n, 4);
        zip64End.writeUInt16LE(45, 12);
        zip64End.writeUInt16LE(45, 14);
        zip64End.writeBigUInt64LE(BigInt(count), 24);
        zip64End.writeBigUInt64LE(BigInt(count), 32);
        zip64End.writeBigUInt64LE(BigInt(cdSize), 40);
        zip64End.writeBigUInt64LE(BigInt(cdStart), 48);
        write(zip64End);
        const locator = Buffer.alloc(20);
        locator.writeUInt32LE(0x07064b50, 0);
        locator.writeBigUInt64LE(BigInt(endAt), 8);
        locator.writeUInt32LE(1, 16);
        write(locator);
      }
      const end = Buffer.alloc(22);
      end.writeUInt32LE(0x06054b50, 0);
      end.writeUInt16LE(Math.min(count, 0xffff), 8);
      end.writeUInt16LE(Math.min(count, 0xffff), 10);
      end.writeUInt32LE(cdSize, 12);
      end.writeUInt32LE(cdStart, 16);
      write(end);
      closeSync(fd);
      return count;
    },
  };
}
