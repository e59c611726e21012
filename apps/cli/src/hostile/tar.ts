// A byte-level tar writer for the hostile suite. tar-stream's pack (used by the libraries' own test
// helpers, which other projects cannot import) refuses to write what attackers write: negative or
// huge PAX sizes, GNU long-name headers claiming gigabytes, entries after the end-of-archive marker.
// Every header here is a plain 512-byte ustar block whose fields the case chooses.

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

export interface HeaderFields {
  name: string;
  type?: TarType;
  /** the size field as written; defaults to the content's length */
  size?: number;
  /** a size field written verbatim (e.g. a base-256 or junk value) */
  rawSize?: Buffer;
  linkname?: string;
  mode?: number;
}

/** One ustar header block with a correct checksum. */
export function header(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(512);
  block.write(fields.name, 0, 100, 'utf8');
  const mode = fields.mode ?? (fields.type === 'directory' ? 0o755 : 0o644);
  block.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  if (fields.rawSize) fields.rawSize.copy(block, 124, 0, 12);
  else block.write(`${(fields.size ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  block.write('00000000000\0', 136, 'latin1');
  block.write(TYPEFLAG[fields.type ?? 'file'], 156, 'latin1');
  if (fields.linkname !== undefined) block.write(fields.linkname, 157, 100, 'utf8');
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

export const pad = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

export interface Entry {
  name: string;
  type?: TarType;
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

/** A header and its padded content. Names longer than 100 bytes get a PAX `path` record first. */
export function entry(e: Entry): Buffer {
  const content = e.content === undefined ? Buffer.alloc(0) : Buffer.from(e.content);
  const parts: Buffer[] = [];
  const pax: Record<string, string> = {};
  if (Buffer.byteLength(e.name) > 100) pax.path = e.name;
  if (e.linkname !== undefined && Buffer.byteLength(e.linkname) > 100) pax.linkpath = e.linkname;
  if (Object.keys(pax).length > 0) parts.push(paxHeader(pax));
  parts.push(
    header({
      name: e.name.slice(0, 100),
      type: e.type ?? 'file',
      size: content.length,
      ...(e.linkname !== undefined ? { linkname: e.linkname.slice(0, 100) } : {}),
      ...(e.mode !== undefined ? { mode: e.mode } : {}),
    }),
  );
  if (content.length > 0) parts.push(pad(content));
  return Buffer.concat(parts);
}

/** One PAX record: "<len> key=value\n", where len counts itself. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

/** A PAX extended header (typeflag x) with its records. */
export function paxHeader(records: Record<string, string>, type: 'pax' | 'pax-global' = 'pax'): Buffer {
  const body = Buffer.from(
    Object.entries(records)
      .map(([k, v]) => paxRecord(k, v))
      .join(''),
  );
  return Buffer.concat([header({ name: 'PaxHeaders/x', type, size: body.length }), pad(body)]);
}

/** The end-of-archive marker: two zero blocks. */
export const EOF_MARKER = Buffer.alloc(1024);

/** A whole tar: the entries, then the end-of-archive marker. */
export function tar(entries: Entry[]): Buffer {
  return Buffer.concat([...entries.map(entry), EOF_MARKER]);
}
