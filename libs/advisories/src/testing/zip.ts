// Test support: writes zip files with Python's zipfile module (a real zip writer, as independent
// of the reader under test as the OSV bucket's own tooling).
import { execFileSync } from 'node:child_process';
import { constants, crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  content: string | Buffer;
}

const WRITER = `
import json, sys, zipfile, base64
spec = json.load(sys.stdin)
with zipfile.ZipFile(spec["path"], "w", compression=zipfile.ZIP_DEFLATED) as z:
    for e in spec["entries"]:
        z.writestr(e["name"], base64.b64decode(e["data"]))
`;

export function writeZip(path: string, entries: ZipEntry[]): void {
  const spec = {
    path,
    entries: entries.map((e) => ({ name: e.name, data: Buffer.from(e.content).toString('base64') })),
  };
  execFileSync('python3', ['-c', WRITER], { input: JSON.stringify(spec), stdio: ['pipe', 'inherit', 'inherit'], maxBuffer: 1 << 30 });
}

export interface RawZipEntry {
  name: string;
  /** the entry's content, deflated here; or `deflated` for data made elsewhere */
  content?: string | Buffer;
  deflated?: Buffer;
  /** the inflated size the headers claim (default: the true size) */
  claimedSize?: number;
  /** the true inflated size when `deflated` is given */
  size?: number;
}

/**
 * Writes a zip byte by byte (local headers, central directory, end record), so a test can make
 * what no zip tool would: names with "../" or backslashes, and sizes that lie.
 */
export function rawZip(entries: RawZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const content = e.content !== undefined ? Buffer.from(e.content) : undefined;
    const data = e.deflated ?? deflateRawSync(content ?? Buffer.alloc(0));
    const size = e.claimedSize ?? e.size ?? content?.length ?? 0;
    const crc = content ? crc32(content) : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x800, 8);
    cd.writeUInt16LE(8, 10);
    cd.writeUInt16LE(0, 12);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    parts.push(local, name, data);
    offset += local.length + name.length + data.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBytes, end]);
}

/**
 * Raw deflate data of `mib` MiB of zeros, made from one flushed 1 MiB block repeated: a 3 GiB
 * entry costs about 3 MB and no time to build.
 */
export function zeroBomb(mib: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(1024 * 1024), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  const finalBlock = Buffer.from([0x03, 0x00]); // an empty final fixed-Huffman block
  return Buffer.concat([...Array.from({ length: mib }, () => block), finalBlock]);
}
