/**
 * rpm header blobs as stored in the package DB (the on-disk header without its 8-byte magic):
 *   int32 il, int32 dl, il × { int32 tag, uint32 type, int32 offset, uint32 count }, dl bytes of data.
 * All integers big-endian.
 */

export const RPMTAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  LICENSE: 1014,
  ARCH: 1022,
  SOURCERPM: 1044,
} as const;

/** index entry data types (rpm's rpmTagType) */
const TYPE = { INT32: 4, STRING: 6, STRING_ARRAY: 8, I18NSTRING: 9 } as const;
const MAX_TYPE = 9;
// rpm's own sanity bounds (hdrblob verification)
const MAX_INDEX_ENTRIES = 0xffff;
const MAX_DATA = 256 * 1024 * 1024;

export class RpmHeaderError extends Error {
  override name = 'RpmHeaderError';
}

interface IndexEntry {
  type: number;
  offset: number;
  count: number;
}

export interface RpmHeader {
  string(tag: number): string | undefined;
  int32(tag: number): number | undefined;
}

function readCString(data: Buffer, offset: number): string {
  const end = data.indexOf(0, offset);
  if (end < 0) throw new RpmHeaderError(`string at data offset ${offset} is not NUL-terminated`);
  return data.toString('utf8', offset, end);
}

/** Parses one header blob; throws RpmHeaderError when the blob is malformed. */
export function parseRpmHeader(blob: Buffer): RpmHeader {
  if (blob.length < 8) throw new RpmHeaderError(`header blob too short (${blob.length} bytes)`);
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  if (il < 1 || il > MAX_INDEX_ENTRIES) throw new RpmHeaderError(`bad index entry count ${il}`);
  if (dl > MAX_DATA) throw new RpmHeaderError(`bad data length ${dl}`);
  const dataStart = 8 + il * 16;
  if (dataStart + dl > blob.length) throw new RpmHeaderError(`header claims ${dataStart + dl} bytes but the blob has ${blob.length}`);
  const data = blob.subarray(dataStart, dataStart + dl);
  const entries = new Map<number, IndexEntry>();
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = blob.readInt32BE(at);
    const type = blob.readUInt32BE(at + 4);
    const offset = blob.readInt32BE(at + 8);
    const count = blob.readUInt32BE(at + 12);
    if (type > MAX_TYPE) throw new RpmHeaderError(`entry ${i} (tag ${tag}) has unknown type ${type}`);
    if (offset < 0 || offset > dl) throw new RpmHeaderError(`entry ${i} (tag ${tag}) points outside the data (${offset} > ${dl})`);
    // Entries after the immutable region ("dribbles") override region entries with the same tag, as in rpm.
    entries.set(tag, { type, offset, count });
  }
  return {
    string(tag) {
      const e = entries.get(tag);
      if (!e) return undefined;
      if (e.type !== TYPE.STRING && e.type !== TYPE.STRING_ARRAY && e.type !== TYPE.I18NSTRING) {
        throw new RpmHeaderError(`tag ${tag} has type ${e.type}, expected a string`);
      }
      return readCString(data, e.offset);
    },
    int32(tag) {
      const e = entries.get(tag);
      if (!e) return undefined;
      if (e.type !== TYPE.INT32 || e.count < 1) throw new RpmHeaderError(`tag ${tag} has type ${e.type}, expected int32`);
      if (e.offset % 4 !== 0 || e.offset + 4 > dl) throw new RpmHeaderError(`tag ${tag} int32 at bad offset ${e.offset}`);
      return data.readInt32BE(e.offset);
    },
  };
}

export interface RpmPackageInfo {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch?: string;
  sourceRpm?: string;
  license?: string;
}

export function rpmPackageInfo(blob: Buffer): RpmPackageInfo {
  const h = parseRpmHeader(blob);
  const name = h.string(RPMTAG.NAME);
  const version = h.string(RPMTAG.VERSION);
  const release = h.string(RPMTAG.RELEASE);
  if (!name || version === undefined || release === undefined) {
    throw new RpmHeaderError(`header lacks ${!name ? 'NAME' : version === undefined ? 'VERSION' : 'RELEASE'}`);
  }
  const info: RpmPackageInfo = { name, version, release };
  const epoch = h.int32(RPMTAG.EPOCH);
  if (epoch !== undefined) info.epoch = epoch;
  const arch = h.string(RPMTAG.ARCH);
  if (arch !== undefined) info.arch = arch;
  const src = h.string(RPMTAG.SOURCERPM);
  if (src !== undefined) info.sourceRpm = src;
  const license = h.string(RPMTAG.LICENSE);
  if (license !== undefined) info.license = license;
  return info;
}

/** `bash-5.1.8-1.cm2.src.rpm` → name, version, release. */
export function parseSourceRpm(file: string): { name: string; version: string; release: string } | undefined {
  const base = file.replace(/\.(no)?src\.rpm$/, '');
  if (base === file) return undefined;
  const r = base.lastIndexOf('-');
  if (r <= 0) return undefined;
  const v = base.lastIndexOf('-', r - 1);
  if (v <= 0) return undefined;
  return { name: base.slice(0, v), version: base.slice(v + 1, r), release: base.slice(r + 1) };
}
