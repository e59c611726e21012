import { inflateSync, constants as zc } from 'node:zlib';
import { executableAnalyzer } from '../util/executable.js';
import { isRecord, ownString, parseJsonBounded, Problems } from '../util/json.js';
import { manifestOutput, PackageList } from '../util/manifest.js';
import { SizeLimitError } from '../util/stream.js';
import { cratePackage } from './cargo-lock.js';

const ELF_MAGIC = 0x7f454c46;
/** Most compressed bytes kept from the start of a `.dep-v0` candidate (real ones are a few KB). */
export const MAX_DEP_COMPRESSED = 4 * 1024 * 1024;
/** Most bytes the `.dep-v0` JSON may inflate to (zlib bombs stop here). */
export const MAX_DEP_JSON = 16 * 1024 * 1024;
/** Bytes of a candidate inflated to check that it starts a cargo-auditable document. */
const PROBE = 512;
const HEAD = 64 * 1024;
/** Text every Rust program built with std carries, stripped or not. */
const RUST_MARKERS = [Buffer.from('/rustc/'), Buffer.from('RUST_BACKTRACE')];
const DOC_START = /^\s*\{\s*"packages"\s*:/;

/**
 * Where the loadable part of an ELF file ends (the largest end of a PT_LOAD segment), read from the
 * header and program headers in `head`; 0 when they are not all there. Sections outside every
 * segment (`.comment`, `.dep-v0`, `.symtab`, …) come after it.
 */
export function elfLoadEnd(head: Buffer): number | undefined {
  if (head.length < 52 || head.readUInt32BE(0) !== ELF_MAGIC) return undefined;
  const is64 = head[4] === 2;
  const little = head[5] === 1;
  if (is64 && head.length < 64) return undefined;
  const u16 = (o: number): number => (little ? head.readUInt16LE(o) : head.readUInt16BE(o));
  const u32 = (o: number): number => (little ? head.readUInt32LE(o) : head.readUInt32BE(o));
  const word = (o: number): number => (is64 ? Number(little ? head.readBigUInt64LE(o) : head.readBigUInt64BE(o)) : u32(o));
  const phoff = word(is64 ? 32 : 28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  if (phentsize < (is64 ? 56 : 32) || phoff + phnum * phentsize > head.length) return 0;
  let end = 0;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (u32(o) !== 1) continue;
    const offset = is64 ? word(o + 8) : u32(o + 4);
    const size = is64 ? word(o + 32) : u32(o + 16);
    end = Math.max(end, offset + size);
  }
  return end;
}

const DOC_PREFIX = '{"packages":';

/**
 * Does `buf` (a zlib stream's first PROBE bytes) inflate to the start of a cargo-auditable document?
 * Inflated a little at a time, so neither a dynamic Huffman header (tens of bytes before the first
 * character) nor a bomb (megabytes from a few bytes) hides the answer.
 */
function startsDepDocument(buf: Buffer): boolean {
  for (const n of [32, 64, 128, 256, PROBE]) {
    let text: string;
    try {
      text = inflateSync(buf.subarray(0, n), { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: 64 * 1024 }).toString('latin1');
    } catch {
      return false; // not deflate data, or 64 KiB from n bytes before the prefix was complete
    }
    if (DOC_START.test(text)) return true;
    const start = text.trimStart();
    if (!DOC_PREFIX.startsWith(start)) return false;
    if (n >= buf.length) return false;
  }
  return false;
}

/** A zlib header: deflate with a 32 KiB window, no preset dictionary, a valid check. */
const isZlibHeader = (b0: number, b1: number): boolean => b0 === 0x78 && (b1 & 0x20) === 0 && ((b0 << 8) | b1) % 31 === 0;

/**
 * Finds a cargo-auditable `.dep-v0` section while an ELF file streams by, without holding the file:
 * past the loadable segments, every zlib header is probed, and the first one that inflates to
 * `{"packages":` is kept (up to MAX_DEP_COMPRESSED bytes from there). Also notes whether the file
 * carries the text every Rust std program has.
 */
class DepScanner {
  private carry = Buffer.alloc(0);
  private carryAt = 0;
  private captured: Buffer[] | undefined;
  private capturedBytes = 0;
  private markerTail = Buffer.alloc(0);
  rust = false;

  constructor(private readonly from: number) {}

  feed(chunk: Buffer, at: number): void {
    this.scanMarkers(chunk);
    if (this.captured) {
      this.keep(chunk);
      return;
    }
    if (at + chunk.length <= this.from) return;
    const window = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const windowAt = this.carry.length > 0 ? this.carryAt : at;
    const found = this.scan(window, windowAt, false);
    if (found >= 0) {
      this.captured = [];
      this.keep(window.subarray(found));
      this.carry = Buffer.alloc(0);
      return;
    }
    // keep the last PROBE-1 bytes: a candidate starting there is probed once more bytes are in
    const keep = Math.min(window.length, PROBE - 1);
    this.carry = Buffer.from(window.subarray(window.length - keep));
    this.carryAt = windowAt + window.length - keep;
  }

  /** Call at the end of the file: probes the last bytes, then returns the kept candidate, if any. */
  finish(): Buffer | undefined {
    if (!this.captured && this.carry.length > 0) {
      const found = this.scan(this.carry, this.carryAt, true);
      if (found >= 0) {
        this.captured = [];
        this.keep(this.carry.subarray(found));
      }
    }
    return this.captured ? Buffer.concat(this.captured, this.capturedBytes) : undefined;
  }

  /** The first position in `window` (at file offset `windowAt`) that starts a dep document, or -1. */
  private scan(window: Buffer, windowAt: number, last: boolean): number {
    const end = last ? window.length - 1 : window.length - (PROBE - 1);
    for (let i = window.indexOf(0x78); i >= 0 && i < end; i = window.indexOf(0x78, i + 1)) {
      if (windowAt + i < this.from) continue;
      if (isZlibHeader(window[i]!, window[i + 1]!) && startsDepDocument(window.subarray(i, i + PROBE))) return i;
    }
    return -1;
  }

  private keep(part: Buffer): void {
    const room = MAX_DEP_COMPRESSED - this.capturedBytes;
    if (room <= 0) return;
    const taken = part.length > room ? part.subarray(0, room) : part;
    this.captured!.push(Buffer.from(taken));
    this.capturedBytes += taken.length;
  }

  private scanMarkers(chunk: Buffer): void {
    if (this.rust) return;
    const seam = this.markerTail.length > 0 ? Buffer.concat([this.markerTail, chunk.subarray(0, 15)]) : undefined;
    if (RUST_MARKERS.some((m) => chunk.indexOf(m) >= 0 || (seam !== undefined && seam.indexOf(m) >= 0))) {
      this.rust = true;
      return;
    }
    const keep = Math.min(chunk.length, 15);
    this.markerTail = Buffer.from(chunk.subarray(chunk.length - keep));
  }
}

/**
 * The crates of a cargo-auditable document (`{"packages": [{name, version, source, kind?,
 * dependencies?, root?}], "format": 1}`): runtime crates only (`kind` absent or "runtime"; build
 * dependencies and proc macros are not in the program), the root crate included.
 */
export function readDepDocument(value: unknown, filePath: string, list: PackageList, problems: Problems): string | undefined {
  if (!isRecord(value) || !Array.isArray(value.packages)) return 'cargo-auditable data is not an object with "packages"';
  for (const entry of value.packages) {
    if (!isRecord(entry)) {
      problems.add('package entry is not a JSON object; skipped');
      continue;
    }
    const kind = ownString(entry, 'kind');
    if (kind !== undefined && kind !== 'runtime') continue;
    const pkg = cratePackage(ownString(entry, 'name'), ownString(entry, 'version'), filePath, problems);
    if (pkg) list.add(pkg);
  }
  return undefined;
}

/**
 * Rust executables built with `cargo auditable`: the zlib-compressed JSON of their `.dep-v0` section,
 * found in one streaming pass (nothing is held but the section). A Rust program without the section
 * gets a warning, since its crates cannot be known.
 */
export const rustBinaryAnalyzer = executableAnalyzer({ type: 'rustbinary', version: 1, produces: 'cargo' }, async (source, file, ctx) => {
  let head: Buffer[] = [];
  let headBytes = 0;
  let total = 0;
  let scanner: DepScanner | undefined;
  let skip = false;
  const start = (buf: Buffer): DepScanner | undefined => {
    const loadEnd = elfLoadEnd(buf);
    if (loadEnd === undefined) {
      skip = true;
      return undefined;
    }
    const s = new DepScanner(loadEnd);
    s.feed(buf, 0);
    return s;
  };
  for await (const c of source) {
    const chunk = c as Buffer;
    if (skip) continue; // the stream is still read to its end
    const at = total;
    total += chunk.length;
    if (total > ctx.limits.maxBinarySize) throw new SizeLimitError(file.path, ctx.limits.maxBinarySize);
    if (!scanner) {
      head.push(chunk);
      headBytes += chunk.length;
      if (headBytes < Math.min(HEAD, file.size)) continue;
      const buf = Buffer.concat(head, headBytes);
      head = [];
      scanner = start(buf);
      continue;
    }
    scanner.feed(chunk, at);
  }
  if (!scanner && !skip && headBytes > 0) {
    scanner = start(Buffer.concat(head, headBytes));
  }
  if (!scanner) return undefined;
  const doc = scanner.finish();
  if (!doc) {
    if (!scanner.rust) return undefined;
    return {
      warnings: [
        {
          path: file.path,
          message:
            'Rust executable without cargo-auditable data (.dep-v0 section): its crates are NOT in this report (build it with `cargo auditable build` to have them found)',
        },
      ],
    };
  }
  const problems = new Problems();
  let json: Buffer;
  try {
    json = inflateSync(doc, { maxOutputLength: MAX_DEP_JSON });
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? `inflates past ${MAX_DEP_JSON} bytes (zlib bomb?)` : 'is not a complete zlib stream';
    return manifestOutput('rustbinary', 'cargo', file.path, undefined, problems, `cargo-auditable data (.dep-v0) ${why}; its crates are NOT in this report`);
  }
  const parsed = parseJsonBounded(json.toString('utf8'));
  if ('error' in parsed)
    return manifestOutput(
      'rustbinary',
      'cargo',
      file.path,
      undefined,
      problems,
      `cargo-auditable data (.dep-v0): ${parsed.error}; its crates are NOT in this report`,
    );
  const list = new PackageList(ctx.limits.maxPackagesPerDatabase);
  const fatal = readDepDocument(parsed.value, file.path, list, problems);
  return manifestOutput('rustbinary', 'cargo', file.path, list, problems, fatal);
});
