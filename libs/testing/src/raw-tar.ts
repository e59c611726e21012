// A byte-level tar writer for hostile archives. tar-stream's pack (packTar, tarStream) refuses to
// write what attackers write: negative, huge or junk sizes, GNU long-name headers claiming
// gigabytes, bad checksums, entries after the end-of-archive marker. Every header here is a plain
// 512-byte ustar block whose fields the caller chooses.

export type TarType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'fifo' | 'pax' | 'pax-global' | 'gnu-longname' | 'gnu-longlink';

const TYPEFLAG: Record<TarType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  directory: '5',
  fifo: '6',
  pax: 'x',
  'pax-global': 'g',
  'gnu-longname': 'L',
  'gnu-longlink': 'K',
};

export interface TarHeaderFields {
  name: string;
  /** the entry type (default file); `typeflag` writes a raw flag character instead */
  type?: TarType;
  typeflag?: string;
  /**
   * the size field: a number is written as octal (default 0), a string as it stands (junk, a
   * sign), a Buffer as the raw 12-byte field (GNU base-256)
   */
  size?: number | string | Buffer;
  linkname?: string;
  mode?: number;
  /** a checksum one off, which every reader must refuse */
  badChecksum?: boolean;
}

/** One ustar header block, with a correct checksum unless told otherwise. */
export function tarHeader(fields: TarHeaderFields): Buffer {
  const block = Buffer.alloc(512);
  block.write(fields.name, 0, 100, 'utf8');
  const mode = fields.mode ?? (fields.type === 'directory' ? 0o755 : 0o644);
  block.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  const size = fields.size ?? 0;
  if (Buffer.isBuffer(size)) size.copy(block, 124, 0, 12);
  else block.write(`${(typeof size === 'number' ? size.toString(8) : size).padStart(11, '0')}\0`, 124, 'latin1');
  block.write('00000000000\0', 136, 'latin1');
  block.write(fields.typeflag ?? TYPEFLAG[fields.type ?? 'file'], 156, 'latin1');
  if (fields.linkname !== undefined) block.write(fields.linkname, 157, 100, 'utf8');
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  if (fields.badChecksum) sum += 1;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** Content padded to whole 512-byte blocks. */
export const tarPad = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

export interface RawTarEntry {
  name: string;
  type?: TarType;
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

/** A header and its padded content. Names and link targets longer than 100 bytes get a PAX record first. */
export function tarMember(e: RawTarEntry): Buffer {
  const content = e.content === undefined ? Buffer.alloc(0) : Buffer.from(e.content);
  const parts: Buffer[] = [];
  const pax: Record<string, string> = {};
  if (Buffer.byteLength(e.name) > 100) pax.path = e.name;
  if (e.linkname !== undefined && Buffer.byteLength(e.linkname) > 100) pax.linkpath = e.linkname;
  if (Object.keys(pax).length > 0) parts.push(paxHeader(pax));
  parts.push(
    tarHeader({
      name: e.name.slice(0, 100),
      type: e.type ?? 'file',
      size: content.length,
      ...(e.linkname !== undefined ? { linkname: e.linkname.slice(0, 100) } : {}),
      ...(e.mode !== undefined ? { mode: e.mode } : {}),
    }),
  );
  if (content.length > 0) parts.push(tarPad(content));
  return Buffer.concat(parts);
}

/** One PAX record: "<len> key=value\n", where len counts itself (in bytes). */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

/** A PAX extended header (typeflag x, or g for a global one) with its records. */
export function paxHeader(records: Record<string, string>, type: 'pax' | 'pax-global' = 'pax'): Buffer {
  const body = Buffer.from(
    Object.entries(records)
      .map(([k, v]) => paxRecord(k, v))
      .join(''),
  );
  return Buffer.concat([tarHeader({ name: 'PaxHeaders/x', type, size: body.length }), tarPad(body)]);
}

/** The end-of-archive marker: two zero blocks. */
export const TAR_EOF = Buffer.alloc(1024);

/** A whole tar: the members, then the end-of-archive marker. */
export function rawTar(entries: RawTarEntry[]): Buffer {
  return Buffer.concat([...entries.map(tarMember), TAR_EOF]);
}

/** GNU base-256 size field: 0x80 + big-endian positive, or 0xff… two's complement negative. */
export function base256(value: bigint): Buffer {
  const field = Buffer.alloc(12);
  let v = BigInt.asUintN(88, value);
  for (let i = 11; i >= 1; i--) {
    field[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  field[0] = value < 0n ? 0xff : 0x80;
  return field;
}
