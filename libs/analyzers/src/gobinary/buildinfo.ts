/**
 * Go build info in ELF executables (what `go version -m` prints). The linker leaves a blob that starts
 * with "\xff Go buildinf:" (16-byte aligned, usually the `.go.buildinfo` section):
 *   magic[14], ptrSize[1], flags[1]; then either (flags & 2, Go ≥ 1.18) varint-length-prefixed
 *   strings for the Go version and the module info, or (older) two pointers to Go string headers
 *   (runtime.buildVersion, runtime.modinfo) that must be resolved through the ELF program headers.
 */

import { forEachLineOfText } from '../util/lines.js';

export const BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');

const HEADER_SIZE = 32;
const ALIGN = 16;
const MAX_STRING = 16 * 1024 * 1024;

export class GoBuildInfoError extends Error {
  override name = 'GoBuildInfoError';
}

/** Random access to the binary (a spooled temp file, or a Buffer in tests). */
export interface ByteSource {
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

export function bufferSource(buf: Buffer): ByteSource {
  return { size: buf.length, read: async (o, l) => buf.subarray(o, Math.min(buf.length, o + l)) };
}

interface ElfLoad {
  vaddr: bigint;
  offset: bigint;
  filesz: bigint;
  flags: number;
}

interface Elf {
  is64: boolean;
  little: boolean;
  loads: ElfLoad[];
  buildInfoSection?: { offset: number; size: number };
}

const PT_LOAD = 1;
const PF_W = 2;

async function readElf(src: ByteSource): Promise<Elf> {
  const h = await src.read(0, 64);
  if (h.length < 52 || h.readUInt32BE(0) !== 0x7f454c46) throw new GoBuildInfoError('not an ELF file');
  const is64 = h[4] === 2;
  const little = h[5] === 1;
  if ((h[4] !== 1 && h[4] !== 2) || (h[5] !== 1 && h[5] !== 2)) throw new GoBuildInfoError('bad ELF class or byte order');
  const u16 = (b: Buffer, o: number): number => (little ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number): number => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number): bigint => (little ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  const word = (b: Buffer, o: number): bigint => (is64 ? u64(b, o) : BigInt(u32(b, o)));
  const phoff = Number(word(h, is64 ? 32 : 28));
  const shoff = Number(word(h, is64 ? 40 : 32));
  const phentsize = u16(h, is64 ? 54 : 42);
  const phnum = u16(h, is64 ? 56 : 44);
  const shentsize = u16(h, is64 ? 58 : 46);
  const shnum = u16(h, is64 ? 60 : 48);
  const shstrndx = u16(h, is64 ? 62 : 50);

  const loads: ElfLoad[] = [];
  if (phnum > 0 && phnum < 4096 && phentsize >= (is64 ? 56 : 32)) {
    const ph = await src.read(phoff, phnum * phentsize);
    for (let i = 0; i < phnum && (i + 1) * phentsize <= ph.length; i++) {
      const o = i * phentsize;
      if (u32(ph, o) !== PT_LOAD) continue;
      if (is64) loads.push({ flags: u32(ph, o + 4), offset: u64(ph, o + 8), vaddr: u64(ph, o + 16), filesz: u64(ph, o + 32) });
      else loads.push({ offset: BigInt(u32(ph, o + 4)), vaddr: BigInt(u32(ph, o + 8)), filesz: BigInt(u32(ph, o + 16)), flags: u32(ph, o + 24) });
    }
  }
  const elf: Elf = { is64, little, loads };

  if (shoff > 0 && shnum > 0 && shnum < 65280 && shentsize >= (is64 ? 64 : 40) && shstrndx < shnum && shoff + shnum * shentsize <= src.size) {
    const sh = await src.read(shoff, shnum * shentsize);
    const section = (i: number): { name: number; offset: number; size: number; type: number } => {
      const o = i * shentsize;
      return {
        name: u32(sh, o),
        type: u32(sh, o + 4),
        offset: Number(word(sh, o + (is64 ? 24 : 16))),
        size: Number(word(sh, o + (is64 ? 32 : 20))),
      };
    };
    const strtab = section(shstrndx);
    if (strtab.offset + strtab.size <= src.size && strtab.size < 16 * 1024 * 1024) {
      const names = await src.read(strtab.offset, strtab.size);
      for (let i = 0; i < shnum; i++) {
        const s = section(i);
        const end = names.indexOf(0, s.name);
        if (end < 0) continue;
        // SHT_NOBITS (8) has no file content
        if (names.toString('latin1', s.name, end) === '.go.buildinfo' && s.type !== 8) {
          elf.buildInfoSection = { offset: s.offset, size: s.size };
          break;
        }
      }
    }
  }
  return elf;
}

function vaddrToOffset(elf: Elf, addr: bigint, length: number): number | undefined {
  for (const l of elf.loads) {
    if (l.vaddr <= addr && addr + BigInt(length) <= l.vaddr + l.filesz) return Number(l.offset + (addr - l.vaddr));
  }
  return undefined;
}

/** Finds the 16-byte-aligned build info header, as debug/buildinfo does. Returns its file offset. */
async function findBlob(src: ByteSource, elf: Elf): Promise<number | undefined> {
  const ranges: Array<{ offset: number; size: number }> = [];
  if (elf.buildInfoSection) ranges.push({ offset: elf.buildInfoSection.offset, size: elf.buildInfoSection.size });
  else {
    for (const l of elf.loads) {
      // Without section headers, the blob sits at the start of the first writable segment.
      if (l.flags & PF_W) {
        ranges.push({ offset: Number(l.offset), size: Number(l.filesz) });
        break;
      }
    }
  }
  const CHUNK = 1024 * 1024;
  for (const r of ranges) {
    const end = Math.min(src.size, r.offset + r.size);
    for (let start = r.offset; start < end; start += CHUNK) {
      const buf = await src.read(start, Math.min(CHUNK + HEADER_SIZE, end - start));
      let i = buf.indexOf(BUILDINFO_MAGIC);
      while (i >= 0 && i < CHUNK) {
        const fileOff = start + i;
        const vaRel = fileOff - r.offset; // alignment is relative to the start of the section/segment
        if (vaRel % ALIGN === 0 && buf.length - i >= HEADER_SIZE) return fileOff;
        i = buf.indexOf(BUILDINFO_MAGIC, i + 1);
      }
    }
  }
  return undefined;
}

function readUvarint(buf: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    const b = buf[i] ?? 0;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
    shift += 7;
  }
  return undefined;
}

export interface RawBuildInfo {
  goVersion: string;
  modInfo: string;
}

/** Returns undefined for an ELF that carries no Go build info (not a Go binary). */
/** Module info is framed by two 16-byte sentinels (cmd/go's infoStart/infoEnd); strips them. */
function unframe(goVersion: string, modInfo: string): RawBuildInfo | undefined {
  if (!goVersion) return undefined;
  const mod = modInfo.length >= 33 && modInfo[modInfo.length - 17] === '\n' ? modInfo.slice(16, -16) : '';
  return { goVersion, modInfo: mod };
}

/**
 * Decodes a Go ≥ 1.18 inline build info blob from a buffer that starts at the magic. Returns
 * 'more' when the buffer ends before the blob does, 'pointer' for the older pointer format.
 */
export function decodeInlineBlob(blob: Buffer): RawBuildInfo | 'more' | 'pointer' | undefined {
  if (blob.length < HEADER_SIZE) return 'more';
  if (!blob.subarray(0, BUILDINFO_MAGIC.length).equals(BUILDINFO_MAGIC)) throw new GoBuildInfoError('no Go build info magic');
  if (((blob[15] ?? 0) & 2) === 0) return 'pointer';
  let pos = HEADER_SIZE;
  const strings: string[] = [];
  for (let i = 0; i < 2; i++) {
    const v = readUvarint(blob, pos);
    if (!v) {
      if (blob.length - pos < 10) return 'more';
      throw new GoBuildInfoError('bad string length in Go build info');
    }
    if (v.value > MAX_STRING) throw new GoBuildInfoError(`bad string length ${v.value} in Go build info`);
    if (v.next + v.value > blob.length) return 'more';
    strings.push(blob.toString('utf8', v.next, v.next + v.value));
    pos = v.next + v.value;
  }
  return unframe(strings[0] ?? '', strings[1] ?? '');
}

/** Returns undefined for an ELF that carries no Go build info (not a Go binary). */
export async function readGoBuildInfo(src: ByteSource): Promise<RawBuildInfo | undefined> {
  const elf = await readElf(src);
  const at = await findBlob(src, elf);
  if (at === undefined) return undefined;
  const header = await src.read(at, HEADER_SIZE);
  const ptrSize = header[14] ?? 0;
  const flags = header[15] ?? 0;
  if (flags & 2) {
    let want = 64 * 1024;
    for (;;) {
      const blob = await src.read(at, want);
      const out = decodeInlineBlob(blob);
      if (out !== 'more' && out !== 'pointer') return out;
      if (blob.length < want || want >= MAX_STRING * 2) throw new GoBuildInfoError(`Go build info truncated at offset ${at}`);
      want *= 4;
    }
  }
  if (ptrSize !== 4 && ptrSize !== 8) throw new GoBuildInfoError(`bad pointer size ${ptrSize} in Go build info`);
  const big = flags !== 0;
  const ptr = (b: Buffer, o: number): bigint =>
    ptrSize === 8 ? (big ? b.readBigUInt64BE(o) : b.readBigUInt64LE(o)) : BigInt(big ? b.readUInt32BE(o) : b.readUInt32LE(o));
  const readGoString = async (addr: bigint): Promise<string> => {
    const hdrOff = vaddrToOffset(elf, addr, ptrSize * 2);
    if (hdrOff === undefined) throw new GoBuildInfoError(`string header address 0x${addr.toString(16)} is not in the file`);
    const hdr = await src.read(hdrOff, ptrSize * 2);
    if (hdr.length < ptrSize * 2) throw new GoBuildInfoError('Go build info truncated');
    const dataAddr = ptr(hdr, 0);
    const len = Number(ptr(hdr, ptrSize));
    if (len === 0) return '';
    if (len > MAX_STRING) throw new GoBuildInfoError(`bad string length ${len}`);
    const dataOff = vaddrToOffset(elf, dataAddr, len);
    if (dataOff === undefined) throw new GoBuildInfoError(`string data address 0x${dataAddr.toString(16)} is not in the file`);
    return (await src.read(dataOff, len)).toString('utf8');
  };
  return unframe(await readGoString(ptr(header, 16)), await readGoString(ptr(header, 16 + ptrSize)));
}

/**
 * What the first bytes of an ELF file (header, program headers, early notes) say: where the first
 * writable segment is (the build info lives there) and whether a Go build ID note is present.
 */
export function inspectElfHead(head: Buffer): { writable?: { offset: number; size: number }; goNote: boolean } | undefined {
  if (head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = head[4] === 2;
  const little = head[5] === 1;
  const u16 = (o: number): number => (little ? head.readUInt16LE(o) : head.readUInt16BE(o));
  const u32 = (o: number): number => (little ? head.readUInt32LE(o) : head.readUInt32BE(o));
  const word = (o: number): number => (is64 ? Number(little ? head.readBigUInt64LE(o) : head.readBigUInt64BE(o)) : u32(o));
  if (is64 && head.length < 64) return undefined;
  const phoff = word(is64 ? 32 : 28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  if (phentsize < (is64 ? 56 : 32) || phoff + phnum * phentsize > head.length) return undefined;
  let writable: { offset: number; size: number } | undefined;
  let goNote = false;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const type = u32(o);
    const flags = is64 ? u32(o + 4) : u32(o + 24);
    const offset = is64 ? word(o + 8) : u32(o + 4);
    const size = is64 ? word(o + 32) : u32(o + 16);
    if (type === 1 && !writable && (flags & 3) === 2) writable = { offset, size };
    if (type === 4 && offset + size <= head.length) {
      // notes: namesz, descsz, type, name (4-aligned), desc (4-aligned); Go's is name "Go", type 4
      for (let n = offset; n + 12 <= offset + size; ) {
        const namesz = u32(n);
        const descsz = u32(n + 4);
        if (namesz === 4 && u32(n + 8) === 4 && head.toString('latin1', n + 12, n + 14) === 'Go') goNote = true;
        n += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
      }
    }
  }
  const out: { writable?: { offset: number; size: number }; goNote: boolean } = { goNote };
  if (writable) out.writable = writable;
  return out;
}

export interface GoModule {
  path: string;
  version: string;
  /** the module this one was replaced with (`=>` line) */
  replacedBy?: { path: string; version?: string };
}

export interface GoBuildInfo {
  goVersion: string;
  path?: string;
  main?: GoModule;
  deps: GoModule[];
  /** `dep` lines past MAX_GO_DEPS: counted, not kept */
  droppedDeps?: number;
}

/** Dependencies kept from one Go binary (real ones list a few hundred); the rest are counted in a warning. */
export const MAX_GO_DEPS = 20_000;

/** Parses the tab-separated module info (`path`, `mod`, `dep`, `=>`, `build` lines). */
export function parseModInfo(goVersion: string, modInfo: string, maxDeps = MAX_GO_DEPS): GoBuildInfo {
  const info: GoBuildInfo = { goVersion, deps: [] };
  let last: GoModule | undefined;
  let dropped = 0;
  forEachLineOfText(modInfo, (line) => {
    const cols = line.split('\t', 4);
    const kind = cols[0];
    if (kind === 'path') {
      if (cols[1] !== undefined) info.path = cols[1];
    } else if (kind === 'mod' || kind === 'dep') {
      const m: GoModule = { path: cols[1] ?? '', version: cols[2] ?? '' };
      last = undefined;
      if (!m.path) return;
      if (kind === 'dep' && info.deps.length >= maxDeps) {
        dropped++;
        return;
      }
      if (kind === 'mod') info.main = m;
      else info.deps.push(m);
      last = m;
    } else if (kind === '=>' && last) {
      const path = cols[1] ?? '';
      const version = cols[2];
      if (path) last.replacedBy = version ? { path, version } : { path };
    }
  });
  if (dropped > 0) info.droppedDeps = dropped;
  return info;
}

/** `go1.21.3` → `v1.21.3`; `go1.20` → `v1.20.0`; `go1.21rc2` → `v1.21.0-rc.2`. Undefined for devel builds. */
export function goToolchainSemver(goVersion: string): string | undefined {
  const v = goVersion.trim().split(/\s+/)[0] ?? '';
  const m = /^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?$/.exec(v);
  if (!m) return undefined;
  const base = `v${m[1]}.${m[2]}.${m[3] ?? '0'}`;
  return m[4] ? `${base}-${m[4]}.${m[5]}` : base;
}
