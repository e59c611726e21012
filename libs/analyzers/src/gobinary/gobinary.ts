import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Package } from '@strata/model';
import { purl } from '../purl.js';
import { executableAnalyzer } from '../util/executable.js';
import { SizeLimitError } from '../util/stream.js';
import { openTempSource, tempPath } from '../util/tempfile.js';
import type { AnalyzerOutput } from '../types.js';
import {
  BUILDINFO_MAGIC,
  bufferSource,
  decodeInlineBlob,
  GoBuildInfoError,
  goToolchainSemver,
  inspectElfHead,
  MAX_GO_DEPS,
  parseModInfo,
  readGoBuildInfo,
} from './buildinfo.js';
import type { ByteSource, GoBuildInfo, RawBuildInfo } from './buildinfo.js';

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

export function goPurl(path: string, version: string): string {
  const slash = path.lastIndexOf('/');
  const v = version && version !== '(devel)' ? version : undefined;
  return slash > 0 ? purl('golang', path.slice(0, slash), path.slice(slash + 1), v) : purl('golang', undefined, path, v);
}

/** Packages for one Go binary: the main module, its dependencies (replacements honoured) and `stdlib`. */
export function goPackages(info: GoBuildInfo, filePath: string): Package[] {
  const out: Package[] = [];
  const add = (path: string, version: string, main: boolean): void => {
    const pkg: Package = { type: 'gobinary', name: path, version, purl: goPurl(path, version), filePath };
    if (main) pkg.isMainModule = true;
    out.push(pkg);
  };
  if (info.main) add(info.main.path, info.main.version, true);
  for (const dep of info.deps) {
    const r = dep.replacedBy;
    if (!r) add(dep.path, dep.version, false);
    // A local-directory replacement keeps the module's identity; its code is whatever the directory held.
    else if (/^(?:\.\.?\/|\/)/.test(r.path)) add(dep.path, r.version ?? '(devel)', false);
    else add(r.path, r.version ?? dep.version, false);
  }
  const std = goToolchainSemver(info.goVersion);
  if (std) add('stdlib', std, false);
  return out;
}

const WRITE_BATCH = 1024 * 1024;
const HEAD = 64 * 1024;
const MAX_CAPTURE = 32 * 1024 * 1024;

/** Tracks whether the build info magic occurs anywhere in a stream, across chunk boundaries. */
function magicScanner(): { feed(chunk: Buffer): void; readonly seen: boolean } {
  let seen = false;
  let tail = Buffer.alloc(0);
  const keep = BUILDINFO_MAGIC.length - 1;
  return {
    feed(chunk) {
      if (seen) return;
      if (chunk.indexOf(BUILDINFO_MAGIC) >= 0 || (tail.length > 0 && Buffer.concat([tail, chunk.subarray(0, keep)]).indexOf(BUILDINFO_MAGIC) >= 0)) {
        seen = true;
        return;
      }
      tail = Buffer.from(chunk.length >= keep ? chunk.subarray(chunk.length - keep) : Buffer.concat([tail, chunk]).subarray(-keep));
    },
    get seen() {
      return seen;
    },
  };
}

/**
 * Finds the 16-byte-aligned build info blob inside the writable segment while a file streams by,
 * and keeps the bytes from there on until the (inline, Go ≥ 1.18) blob is complete.
 */
function blobCatcher(range: { offset: number; size: number }): {
  feed(chunk: Buffer, at: number): void;
  result(): ReturnType<typeof decodeInlineBlob> | 'none';
} {
  let carry = Buffer.alloc(0);
  let carryAt = 0;
  let captured: Buffer[] | undefined;
  let capturedBytes = 0;
  let decoded: ReturnType<typeof decodeInlineBlob> | undefined;
  const end = range.offset + range.size;
  return {
    feed(chunk, at) {
      if (decoded !== undefined && decoded !== 'more') return;
      if (captured) {
        captured.push(chunk);
        capturedBytes += chunk.length;
      } else {
        if (at + chunk.length <= range.offset || at >= end) return;
        const window = carry.length > 0 && carryAt + carry.length === at ? Buffer.concat([carry, chunk]) : chunk;
        const windowAt = window === chunk ? at : carryAt;
        for (let i = window.indexOf(BUILDINFO_MAGIC); i >= 0; i = window.indexOf(BUILDINFO_MAGIC, i + 1)) {
          const abs = windowAt + i;
          if (abs >= range.offset && abs < end && (abs - range.offset) % 16 === 0) {
            captured = [window.subarray(i)];
            capturedBytes = window.length - i;
            break;
          }
        }
        if (!captured) {
          const keep = Math.min(window.length, BUILDINFO_MAGIC.length - 1);
          carry = Buffer.from(window.subarray(window.length - keep));
          carryAt = windowAt + window.length - keep;
          return;
        }
      }
      if (capturedBytes > MAX_CAPTURE) throw new GoBuildInfoError(`Go build info larger than ${MAX_CAPTURE} bytes`);
      const blob = captured.length === 1 ? captured[0]! : Buffer.concat(captured, capturedBytes);
      captured = [blob];
      decoded = decodeInlineBlob(blob);
      if (decoded !== 'more') captured = [];
    },
    result() {
      if (decoded === undefined) return 'none';
      return decoded;
    },
  };
}

async function buildInfoFromSource(src: ByteSource & { close?(): Promise<void> }): Promise<RawBuildInfo | undefined> {
  try {
    return await readGoBuildInfo(src);
  } finally {
    await src.close?.();
  }
}

/**
 * Go executables, read in one pass without holding non-Go files:
 * - ELF files whose first bytes carry a Go build ID note are held (in memory up to
 *   limits.maxInMemoryBinary, then spooled to the layer's temp dir) and read with random access,
 *   which the pre-1.18 pointer format needs;
 * - other ELF files are only scanned: if a build info blob turns up in their writable segment
 *   (a Go binary built without a build ID), the inline format is decoded from the stream.
 */
export const goBinaryAnalyzer = executableAnalyzer({ type: 'gobinary', version: 2, produces: 'gobinary' }, async (source, file, ctx) => {
  // Most executables are never spooled: the temp file gets a name, and is removed, only if one is written.
  let tmp: string | undefined;
  const st: { mode: 'head' | 'skip' | 'hold' | 'scan' } = { mode: 'head' };
  let held: Buffer[] = [];
  let heldBytes = 0;
  let total = 0;
  let fh: FileHandle | undefined;
  const magic = magicScanner();
  let catcher: ReturnType<typeof blobCatcher> | undefined;
  const flush = async (): Promise<void> => {
    if (heldBytes === 0) return;
    if (!fh) {
      tmp ??= tempPath(ctx.tmpDir, 'elf');
      fh = await open(tmp, 'w', 0o600);
    }
    await fh.write(Buffer.concat(held, heldBytes));
    held = [];
    heldBytes = 0;
  };
  const start = (head: Buffer): void => {
    const info = head.subarray(0, 4).equals(ELF_MAGIC) ? inspectElfHead(head) : undefined;
    if (!head.subarray(0, 4).equals(ELF_MAGIC)) st.mode = 'skip';
    else if (!info || info.goNote || !info.writable) st.mode = 'hold';
    else {
      st.mode = 'scan';
      catcher = blobCatcher(info.writable);
    }
  };
  const take = async (chunk: Buffer, at: number): Promise<void> => {
    if (st.mode === 'hold') {
      magic.feed(chunk);
      held.push(chunk);
      heldBytes += chunk.length;
      if (fh ? heldBytes >= WRITE_BATCH : total > ctx.limits.maxInMemoryBinary) await flush();
    } else if (st.mode === 'scan') {
      catcher!.feed(chunk, at);
    }
  };
  try {
    for await (const c of source) {
      const chunk = c as Buffer;
      if (st.mode === 'skip') continue; // the source must still be read to its end
      const at = total;
      total += chunk.length;
      if (total > ctx.limits.maxBinarySize) throw new SizeLimitError(file.path, ctx.limits.maxBinarySize);
      if (st.mode === 'head') {
        held.push(chunk);
        heldBytes += chunk.length;
        if (heldBytes < Math.min(HEAD, file.size)) continue;
        const head = Buffer.concat(held, heldBytes);
        held = [];
        heldBytes = 0;
        start(head);
        await take(head, 0);
        continue;
      }
      await take(chunk, at);
    }
    if (st.mode === 'head' && heldBytes > 0) {
      const head = Buffer.concat(held, heldBytes);
      held = [];
      heldBytes = 0;
      start(head);
      await take(head, 0);
    }
    let raw: RawBuildInfo | undefined;
    if (st.mode === 'scan') {
      const r = catcher!.result();
      if (r === 'none' || r === undefined) return undefined;
      if (r === 'more') throw new GoBuildInfoError('Go build info truncated (file ends inside it)');
      if (r === 'pointer') throw new GoBuildInfoError('pre-Go-1.18 build info in a binary without a Go build ID note; not read');
      raw = r;
    } else if (st.mode === 'hold') {
      if (!magic.seen) return undefined;
      if (fh) {
        await flush();
        await fh.close();
        fh = undefined;
        raw = await buildInfoFromSource(await openTempSource(tmp as string, false));
      } else {
        raw = await buildInfoFromSource(bufferSource(Buffer.concat(held, heldBytes)));
      }
    }
    if (!raw) return undefined;
    const info = parseModInfo(raw.goVersion, raw.modInfo);
    const packages = goPackages(info, file.path);
    const out: AnalyzerOutput = { applications: [{ path: file.path, analyzer: 'gobinary', type: 'gobinary', packages }] };
    if (info.droppedDeps)
      out.warnings = [{ path: file.path, message: `more than ${MAX_GO_DEPS} dependencies; ${info.droppedDeps} more are NOT in this report` }];
    return out;
  } finally {
    held = [];
    await fh?.close();
    if (tmp !== undefined) await rm(tmp, { force: true });
  }
});
