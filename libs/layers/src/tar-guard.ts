// tar-stream disagrees with Go's archive/tar (what containerd and Docker unpack with) in ways an
// attacker can use: it reads on after the end-of-archive marker, and it buffers GNU long-name /
// long-link and PAX headers of up to 4 MiB. This guard makes the extractor behave as Go's reader:
// - two zero blocks end the archive; whatever follows is never parsed (the walk still drains and
//   hashes it, because the diffID covers it);
// - a single zero block followed by a header is an error (Go: ErrHeader);
// - a special header (L, K, x, g) larger than MAX_SPECIAL_HEADER_BYTES, or with a negative or
//   unreadable size, is an error before anything is buffered (Go: ErrFieldTooLong / ErrHeader);
// - PAX records are parsed as strictly as Go parses them: a malformed record, or a `size`, `uid`,
//   `gid` or time that is not a plain decimal number (tar-stream reads "12abc" as 12), or a NUL in
//   a path or name, is an error (Go: ErrHeader);
// - a PAX global header (g) applies to no later entry: Go returns it as an entry of its own and
//   containerd ignores it, while tar-stream would merge its records (even `path`) into later ones.
// It hooks the extractor's header step, so it depends on tar-stream's internals (pinned in the
// lockfile); guardTarExtract throws at once if they change, and the tests say so.
import type tar from 'tar-stream';
import type { LayerErrorCode } from './errors.js';

/** Go's archive/tar caps GNU long names/links and PAX headers at 1 MiB (maxSpecialFileSize). */
export const MAX_SPECIAL_HEADER_BYTES = 1024 * 1024;

const SPECIAL_HEADERS: Record<string, string> = {
  'gnu-long-path': 'GNU long-name',
  'gnu-long-link-path': 'GNU long-link',
  'pax-header': 'PAX',
  'pax-global-header': 'PAX global',
};

/** The part of tar-stream's Extract the guard hooks (tar-stream 3.x). */
interface ExtractInternals {
  _consumeHeader(): boolean;
  _decodeLongHeader(buf: Uint8Array): void;
  _paxGlobal: Record<string, string> | null;
  _final(callback: (err: Error | null) => void): void;
  _finished: boolean;
  _header: { type?: string | null; size?: number } | null;
  _locked: boolean;
  _missing: number;
}

export interface TarGuardEvents {
  /** two zero blocks were read at a header position: nothing after them is parsed */
  archiveEnd(): void;
  /** the archive breaks a rule Go's reader enforces; the walk must fail */
  violation(code: LayerErrorCode, message: string): void;
}

export function guardTarExtract(extract: tar.Extract, events: TarGuardEvents): void {
  const internals = extract as unknown as ExtractInternals;
  const consumeHeader = internals._consumeHeader;
  const final = internals._final;
  const decodeLongHeader = internals._decodeLongHeader;
  if (
    typeof consumeHeader !== 'function' ||
    typeof final !== 'function' ||
    typeof decodeLongHeader !== 'function' ||
    !('_paxGlobal' in internals) ||
    !('_missing' in internals) ||
    !('_header' in internals) ||
    !('_locked' in internals)
  ) {
    throw new Error('tar-stream internals changed: the end-of-archive and header-size guard cannot hook the extractor');
  }
  let zeroBlocks = 0;
  let ended = false;
  internals._consumeHeader = function guardedConsumeHeader(this: ExtractInternals): boolean {
    if (ended) return discardRest(this);
    if (this._locked) return consumeHeader.call(this);
    this._header = null; // so a header that fails to decode is not mistaken for the previous one
    const consumed = consumeHeader.call(this);
    const header = this._header as ExtractInternals['_header'];
    if (header === null) {
      if (!consumed) return false; // a decode error: tar-stream reports it
      zeroBlocks++;
      if (zeroBlocks < 2) return true;
      ended = true;
      events.archiveEnd();
      return discardRest(this);
    }
    if (zeroBlocks === 1) {
      events.violation('BAD_TAR', 'a single zero block is followed by another header (Go’s archive/tar and containerd refuse this archive)');
      return false;
    }
    zeroBlocks = 0;
    const special = SPECIAL_HEADERS[header.type ?? ''];
    if (special !== undefined) {
      const size = header.size;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
        events.violation('BAD_TAR', `${special} header with an invalid size (${String(size)})`);
        return false;
      }
      if (size > MAX_SPECIAL_HEADER_BYTES) {
        events.violation(
          'LIMIT_EXCEEDED',
          `${special} header claims ${size} bytes; such headers are bounded at ${MAX_SPECIAL_HEADER_BYTES} bytes, as Go’s archive/tar bounds them`,
        );
        return false;
      }
    }
    return consumed;
  };
  internals._decodeLongHeader = function guardedDecodeLongHeader(this: ExtractInternals, buf: Uint8Array): void {
    const type = this._header?.type;
    if (type === 'pax-header' || type === 'pax-global-header') {
      const problem = paxProblem(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
      if (problem !== undefined) {
        events.violation('BAD_TAR', `${SPECIAL_HEADERS[type]} header: ${problem} (Go’s archive/tar refuses it)`);
        discardRest(this);
        return;
      }
    }
    decodeLongHeader.call(this, buf);
    if (type === 'pax-global-header') this._paxGlobal = null;
  };
  // After the marker the skipped rest leaves bytes "missing": that is the archive's end, not a truncation.
  internals._final = function guardedFinal(this: ExtractInternals, callback: (err: Error | null) => void): void {
    if (!ended) return final.call(this, callback);
    this._finished = true;
    callback(null);
  };
}

/** From now on every byte the extractor holds or receives is skipped, never parsed. */
function discardRest(internals: ExtractInternals): boolean {
  internals._missing = Number.POSITIVE_INFINITY;
  return true;
}

const DECIMAL = /^[+-]?[0-9]+$/;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const fitsInt64 = (v: string): boolean => DECIMAL.test(v) && BigInt(v) <= INT64_MAX && BigInt(v) >= INT64_MIN;

/**
 * What Go's archive/tar would refuse in a PAX header's records ("<len> <key>=<value>\n" each), or
 * undefined. Numbers are Go's strconv.ParseInt (an optional sign, decimal digits, int64); times
 * are seconds with an optional fraction.
 */
export function paxProblem(data: Buffer): string | undefined {
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1 || space === pos || space - pos > 20) return `malformed record at byte ${pos}`;
    const lengthText = data.subarray(pos, space).toString('latin1');
    if (!DECIMAL.test(lengthText)) return `record length ${JSON.stringify(lengthText)} is not a number`;
    const length = Number(lengthText);
    if (length < 5 || pos + length > data.length) return `record length ${length} does not fit the header`;
    const end = pos + length;
    if (data[end - 1] !== 0x0a) return `record at byte ${pos} does not end with a newline`;
    const record = data.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq === -1) return `record at byte ${pos} has no "="`;
    const key = record.subarray(0, eq).toString('utf8');
    const value = record.subarray(eq + 1).toString('utf8');
    if (key === '') return `record at byte ${pos} has an empty key`;
    if ((key === 'path' || key === 'linkpath' || key === 'uname' || key === 'gname') && value.includes('\0')) return `${key} contains a NUL byte`;
    // an empty value removes the record (the ustar field counts), as in Go
    if (value === '') {
      pos = end;
      continue;
    }
    if (key === 'size' || key === 'uid' || key === 'gid') {
      if (!fitsInt64(value)) return `${key}=${JSON.stringify(value.slice(0, 40))} is not a decimal number`;
      if (key === 'size' && BigInt(value) < 0n) return `size=${value} is negative`;
    }
    if ((key === 'mtime' || key === 'atime' || key === 'ctime') && !/^[+-]?[0-9]+(\.[0-9]*)?$/.test(value))
      return `${key}=${JSON.stringify(value.slice(0, 40))} is not a time`;
    pos = end;
  }
  return undefined;
}
