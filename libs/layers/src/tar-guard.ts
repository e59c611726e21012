// tar-stream disagrees with Go's archive/tar (what containerd and Docker unpack with) in ways an
// attacker can use: it reads on after the end-of-archive marker, and it buffers GNU long-name /
// long-link and PAX headers of up to 4 MiB. This guard makes the extractor behave as Go's reader:
// - two zero blocks end the archive; whatever follows is never parsed (the walk still drains and
//   hashes it, because the diffID covers it);
// - a single zero block followed by a header is an error (Go: ErrHeader);
// - a special header (L, K, x, g) larger than MAX_SPECIAL_HEADER_BYTES, or with a negative or
//   unreadable size, is an error before anything is buffered (Go: ErrFieldTooLong / ErrHeader).
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
  if (typeof consumeHeader !== 'function' || typeof final !== 'function' || !('_missing' in internals) || !('_header' in internals) || !('_locked' in internals)) {
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
        events.violation('LIMIT_EXCEEDED', `${special} header claims ${size} bytes; such headers are bounded at ${MAX_SPECIAL_HEADER_BYTES} bytes, as Go’s archive/tar bounds them`);
        return false;
      }
    }
    return consumed;
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
