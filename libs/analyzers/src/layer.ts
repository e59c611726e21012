import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { walkLayer } from '@strata/layers';
import type { LayerEntry, LayerLimits, LayerVisitor } from '@strata/layers';
import type { AnalyzerWarning, LayerEntryNote, LayerResult, PackageSet } from '@strata/model';
import { describeError } from '@strata/errors';
import { releaseFileRank } from './os/os-release.js';
import { osPackagePurl } from './purl.js';
import { analyzerSetVersion, defaultAnalyzers } from './registry.js';
import { DEFAULT_ANALYZER_LIMITS, isPostAnalyzer } from './types.js';
import type { Analyzer, AnalyzerContext, AnalyzerLimits, AnalyzerOutput, AnyAnalyzer, CollectedFile, PostAnalyzer } from './types.js';
import { BufferedEntry, EntrySource } from './util/guard.js';
import { normalizePath } from './util/paths.js';
import { spoolToFile } from './util/stream.js';
import { tempPath } from './util/tempfile.js';
import { makeLayerTempDir, removeLayerTempDir } from './util/tempdirs.js';

export interface AnalyzeLayerOptions {
  /** the layer's diffID (sha256 of the uncompressed tar) */
  diffId: string;
  /** layer media type; decides decompression (the walk sniffs when absent) */
  mediaType?: string;
  /** human label for messages, e.g. "layer 2/5 sha256:ab12…" */
  label?: string;
  /** limits of the layer walk (sizes, entries, ratio) */
  limits?: Partial<LayerLimits>;
  /** limits of the analyzers (buffered files, binaries, archives) */
  analyzerLimits?: Partial<AnalyzerLimits>;
  /** defaults to defaultAnalyzers() */
  analyzers?: AnyAnalyzer[];
  compressedSize?: number;
  signal?: AbortSignal;
  /** hash the uncompressed stream and refuse the layer (LayerError DIFF_ID_MISMATCH) unless it is diffId */
  verifyDiffId?: boolean;
  /** the digest the source stream is verified against while it streams (WalkOptions.sourceDigest) */
  sourceDigest?: string;
  /**
   * Where the layer's private temp directory goes (spooled jars and binaries): the scan's cache
   * directory, never the shared /tmp, in a real scan. Defaults to os.tmpdir(). The directory is
   * removed when the layer is done, on every path, and at process exit; see removeStaleLayerTempDirs.
   */
  tmpRoot?: string;
  /**
   * A targeted second read of a layer already analyzed: only the entries at these paths are looked
   * at, and a regular file there is handed to the named analyzers as if it sat at `as` (the package
   * DB location a link led to it from). Nothing else is recorded (no notes, whiteouts or other files);
   * `onRead` is told what each wanted path is in this layer.
   */
  reads?: ReadonlyMap<string, { as: string; analyzers: readonly string[] }>;
  onRead?(path: string, found: { type: LayerEntry['type']; target?: string; targetEscapes?: boolean; index: number }): void;
}

/** Names of folders that hold packages: an upper layer's non-directory entry by this name hides the lower folder's packages. */
const PACKAGE_FOLDER = /(^|\/)(node_modules|site-packages|dist-packages|[^/]+\.(dist-info|egg-info))$/;

/** links, type changes and DB-location entries one layer records for the merge (bounds a hostile layer's result) */
export const MAX_ENTRY_NOTES = 100_000;

/**
 * Regular files recorded for the merge besides those (see `shallowFolderName`), per layer. Past
 * this they are not recorded, silently: a missing note only keeps a lower folder's packages listed
 * (over-reporting), it never hides one, and it never stops links from being followed.
 */
export const MAX_FILE_NOTES = 20_000;

/**
 * A regular file whose path could be a folder of a lower layer that it replaces (overlayfs: a file
 * hides everything below its path): a name without a dot, at most 4 components deep, the shape of
 * the folders applications and their lockfiles live in (app, srv/app, usr/src/app, home/node/app).
 * Every file is not recorded (a layer may hold hundreds of thousands); the merge hides what sits
 * below the recorded ones.
 */
function shallowFolderName(path: string): boolean {
  let slashes = 0;
  for (let i = path.length - 1; i >= 0; i--) {
    const c = path.charCodeAt(i);
    if (c === 0x2f /* / */) {
      if (++slashes > 3) return false;
    } else if (c === 0x2e /* . */ && slashes === 0) return false;
  }
  return true;
}

const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * Analyzes one layer in a single streaming pass: each file goes only to the analyzers that required
 * it; post-step analyzers get their files once the walk is over. Analyzer failures become warnings
 * (naming analyzer, file and layer) and never stop the other analyzers or files. Errors of the layer
 * itself (corrupt compression, bad tar, limits) are thrown.
 */
export async function analyzeLayer(source: Readable, options: AnalyzeLayerOptions): Promise<LayerResult> {
  const analyzers = options.analyzers ?? defaultAnalyzers();
  const limits: AnalyzerLimits = { ...DEFAULT_ANALYZER_LIMITS, ...options.analyzerLimits };
  const result: LayerResult = {
    diffId: options.diffId,
    analyzerSetVersion: analyzerSetVersion(analyzers),
    packageSets: [],
    applications: [],
    whiteouts: [],
    opaqueDirs: [],
    warnings: [],
  };
  const warn = (analyzer: string, path: string, message: string): void => {
    const w: AnalyzerWarning = { analyzer, path, message };
    if (options.label !== undefined) w.layer = options.label;
    result.warnings.push(w);
  };
  const collected = new Map<PostAnalyzer, CollectedFile[]>();
  const watch = watchedPaths(analyzers);
  const entries: LayerEntryNote[] = [];
  let notesOverflowed = false;
  let fileNotes = 0;
  const hardlinks: Array<{ path: string; target: string; analyzers: AnyAnalyzer[]; note: LayerEntryNote }> = [];
  const reads = options.reads;
  /** the path analyzers see for an entry (its alias in a targeted read) */
  const seenAs = (path: string): string => reads?.get(path)?.as ?? path;
  const tmpDir = await makeLayerTempDir(options.tmpRoot ?? tmpdir());
  const ctx: AnalyzerContext = { limits, tmpDir };
  if (options.label !== undefined) ctx.layer = options.label;
  if (options.signal) ctx.signal = options.signal;

  const absorb = (a: AnyAnalyzer, out: AnalyzerOutput | undefined): void => {
    if (!out) return;
    if (out.os && !result.os) {
      result.os = out.os;
      if (out.osPath !== undefined) result.osPath = out.osPath;
    }
    for (const f of out.osFiles ?? []) (result.osFiles ??= []).push(f);
    for (const set of out.packageSets ?? []) result.packageSets.push(set);
    for (const set of out.applications ?? []) result.applications.push(set);
    for (const w of out.warnings ?? []) warn(a.type, w.path, w.message);
  };
  // An unreadable file still replaces whatever a lower layer had at its path.
  const recordFailure = (a: AnyAnalyzer, path: string): void => {
    if (!a.produces) return;
    const set: PackageSet = { path, analyzer: a.type, type: a.produces.type, packages: [] };
    (a.produces.kind === 'os' ? result.packageSets : result.applications).push(set);
  };
  const maxSizeOf = (a: AnyAnalyzer): number => {
    if (a.maxSize) return a.maxSize(limits);
    return a.input === 'stream' && !isPostAnalyzer(a) ? Number.MAX_SAFE_INTEGER : limits.maxBufferedFile;
  };
  const requires = (a: AnyAnalyzer, path: string, e: LayerEntry): boolean => {
    try {
      return a.required(path, { size: e.size, mode: e.mode });
    } catch {
      return false;
    }
  };
  // A hard link names an earlier entry of this layer: the analyzer's result for that entry is the link's too.
  const resolveHardlink = (link: { path: string; target: string; analyzers: AnyAnalyzer[]; note: LayerEntryNote }): void => {
    for (const a of link.analyzers) {
      let found = false;
      for (const list of [result.packageSets, result.applications]) {
        for (const set of list.filter((s) => s.path === link.target && s.analyzer === a.type)) {
          list.push({ ...set, path: link.path, packages: set.packages.map((p) => ({ ...p })) });
          found = true;
        }
      }
      for (const f of (result.osFiles ?? []).filter((o) => o.path === link.target)) {
        if (a.type === 'os-release') {
          result.osFiles!.push({ path: link.path, os: { ...f.os } });
          found = true;
        }
      }
      // the merge reads the target for it in a second pass over this layer (and warns if it cannot)
      if (!found) (link.note.unread ??= []).push(a.type);
    }
  };
  const select = (path: string, e: LayerEntry): AnyAnalyzer[] =>
    analyzers.filter((a) => {
      try {
        return a.required(path, { size: e.size, mode: e.mode });
      } catch (err) {
        warn(a.type, path, `required() failed: ${describeError(err)}`);
        return false;
      }
    });
  let lastSelection: { path: string; analyzers: AnyAnalyzer[] } | undefined;
  /** entries seen so far (targeted reads: a hard link names an earlier entry) */
  let ordinal = 0;

  const runOne = async (a: AnyAnalyzer, path: string, fn: () => Promise<AnalyzerOutput | undefined>): Promise<void> => {
    try {
      absorb(a, await fn());
    } catch (err) {
      warn(a.type, path, `${a.type} analyzer failed: ${describeError(err)}`);
      recordFailure(a, path);
    }
  };

  const fileVisitor = async (e: LayerEntry, content: Readable | Buffer): Promise<void> => {
    const path = seenAs(normalizePath(e.path));
    const cached = lastSelection;
    const targets = cached && cached.path === e.path ? cached.analyzers : select(path, e);
    lastSelection = undefined;
    const entry = Buffer.isBuffer(content) ? new BufferedEntry(content) : new EntrySource(content);
    const accepted: AnyAnalyzer[] = [];
    for (const a of targets) {
      const max = maxSizeOf(a);
      if (e.size > max) {
        warn(a.type, path, `file is ${e.size} bytes, over the ${a.type} analyzer's limit of ${max} bytes; not analyzed`);
        recordFailure(a, path);
      } else {
        accepted.push(a);
      }
    }
    const info = { size: e.size, mode: e.mode };
    const only = accepted.length === 1 ? accepted[0] : undefined;
    try {
      if (accepted.length === 0) return;
      if (only && only.input === 'stream' && !isPostAnalyzer(only)) {
        await runOne(only, path, () => only.analyze({ path, content: entry.stream(), ...info }, ctx));
        return;
      }
      if (accepted.every((a) => a.input === 'stream' && !isPostAnalyzer(a))) {
        // Several stream analyzers want one file (an executable: Go and Rust): one read, a stream each, run together.
        const streams = entry.streams(accepted.length);
        await Promise.all(
          accepted.map(async (a, i) => {
            const stream = streams[i]!;
            try {
              await runOne(a, path, () => (a as Analyzer).analyze({ path, content: stream, ...info }, ctx));
            } finally {
              // an analyzer that stops early (or fails) must not hold the others up
              if (!stream.readableEnded) stream.destroy();
            }
          }),
        );
        return;
      }
      if (accepted.some((a) => a.input === 'stream' && !isPostAnalyzer(a))) {
        // Several analyzers want one big file: spool it once, then give each its own reader.
        const tmp = tempPath(tmpDir, 'shared');
        try {
          const max = accepted.reduce((m, a) => Math.max(m, maxSizeOf(a)), 0);
          await spoolToFile(entry.stream(), tmp, max, path);
          for (const a of accepted) {
            if (isPostAnalyzer(a)) {
              const content = await readFile(tmp);
              collected.set(a, [...(collected.get(a) ?? []), { path, content, ...info }]);
            } else if (a.input === 'stream') {
              await runOne(a, path, () => a.analyze({ path, content: createReadStream(tmp), ...info }, ctx));
            } else {
              await runOne(a, path, async () => a.analyze({ path, content: await readFile(tmp), ...info }, ctx));
            }
          }
        } finally {
          await rm(tmp, { force: true });
        }
        return;
      }
      let content: Buffer;
      try {
        content = await entry.buffer(
          accepted.reduce((m, a) => Math.max(m, maxSizeOf(a)), 0),
          path,
        );
      } catch (err) {
        await entry.discard();
        for (const a of accepted) {
          warn(a.type, path, `cannot read file: ${describeError(err)}`);
          recordFailure(a, path);
        }
        return;
      }
      for (const a of accepted) {
        if (isPostAnalyzer(a)) collected.set(a, [...(collected.get(a) ?? []), { path, content, ...info }]);
        else await runOne(a, path, () => a.analyze({ path, content, ...info }, ctx));
      }
    } finally {
      // Rethrows an error of the layer stream itself (a fatal layer error), never an analyzer's.
      await entry.discard();
    }
  };

  const visitor: LayerVisitor = {
    wants(e) {
      if (e.type !== 'file') return false;
      let path = normalizePath(e.path);
      let chosen: AnyAnalyzer[];
      if (reads) {
        const read = reads.get(path);
        if (!read) return false;
        path = read.as;
        chosen = select(path, e).filter((a) => read.analyzers.includes(a.type));
      } else {
        chosen = select(path, e);
      }
      lastSelection = { path: e.path, analyzers: chosen };
      return chosen.length > 0;
    },
    file: fileVisitor,
    smallFile: fileVisitor,
    entry(e) {
      const path = normalizePath(e.path);
      if (reads) {
        ordinal++;
        if (!reads.has(path)) return;
        const found: { type: LayerEntry['type']; target?: string; targetEscapes?: boolean; index: number } = { type: e.type, index: ordinal };
        if (e.linkTarget !== undefined) found.target = e.linkTarget;
        if (e.linkEscapesRoot) found.targetEscapes = true;
        options.onRead?.(path, found);
        return;
      }
      const linkFollowers = e.type === 'file' || e.type === 'directory' ? [] : watch.followers.filter((a) => requires(a, path, e));
      // every symlink is kept: a chain may lead from a DB location through any path of the image.
      // Type changes: a non-directory named like a package folder hides the lower folder's packages,
      // and a directory where an analyzer reads a file hides the lower file's packages.
      const packageFolder = e.type !== 'directory' && PACKAGE_FOLDER.test(path);
      const overFile = (e.type === 'directory' || e.type === 'other') && analyzers.some((a) => a.produces !== undefined && requires(a, path, e));
      // Regular files the merge must know of: one named like a package DB file anywhere (a link
      // further up a DB's path may lead to it), and one that may replace a lower folder.
      const fileNote =
        e.type === 'file' &&
        fileNotes < MAX_FILE_NOTES &&
        (watch.baseNames.has(path.slice(path.lastIndexOf('/') + 1)) || shallowFolderName(path)) &&
        !watch.paths.has(path);
      if (!watch.paths.has(path) && linkFollowers.length === 0 && e.type !== 'symlink' && !packageFolder && !overFile && !fileNote) return;
      // file notes have their own bound (MAX_FILE_NOTES): they never use up the links' budget
      if (fileNote) fileNotes++;
      else if (entries.length - fileNotes >= MAX_ENTRY_NOTES) {
        if (!notesOverflowed)
          warn(
            'layer',
            path,
            `more than ${MAX_ENTRY_NOTES} links and type changes; later ones are not followed when package databases are looked up, nor hide lower packages`,
          );
        notesOverflowed = true;
        return;
      }
      const note: LayerEntryNote = { path, type: e.type };
      if ((e.type === 'symlink' || e.type === 'hardlink') && e.linkTarget !== undefined) {
        note.target = e.linkTarget;
        if (e.linkEscapesRoot) note.targetEscapes = true;
      }
      entries.push(note);
      if (e.type === 'hardlink' && linkFollowers.length > 0) {
        if (e.linkTarget === undefined || e.linkEscapesRoot) {
          for (const a of linkFollowers) {
            warn(a.type, path, `hard link without a usable target; this ${a.type} file is NOT analyzed`);
            recordFailure(a, path);
          }
        } else {
          hardlinks.push({ path, target: e.linkTarget, analyzers: linkFollowers, note });
        }
      }
    },
    whiteout(path) {
      if (!reads) result.whiteouts.push(normalizePath(path));
    },
    opaqueDir(dir) {
      if (!reads) result.opaqueDirs.push(normalizePath(dir));
    },
    warning(w) {
      // a targeted read repeats the walk the first pass already reported on
      if (!reads) warn('layer', w.path, w.message);
    },
  };

  try {
    const walkOptions: Parameters<typeof walkLayer>[1] = {};
    if (options.mediaType !== undefined) walkOptions.mediaType = options.mediaType;
    if (options.limits !== undefined) walkOptions.limits = options.limits;
    if (options.label !== undefined) walkOptions.label = options.label;
    if (options.compressedSize !== undefined) walkOptions.compressedSize = options.compressedSize;
    if (options.signal !== undefined) walkOptions.signal = options.signal;
    if (options.verifyDiffId) walkOptions.diffId = options.diffId;
    if (options.sourceDigest !== undefined) walkOptions.sourceDigest = options.sourceDigest;
    await walkLayer(source, walkOptions, visitor);

    for (const a of analyzers) {
      if (!isPostAnalyzer(a)) continue;
      const files = collected.get(a);
      if (!files || files.length === 0) continue;
      try {
        absorb(a, await a.postAnalyze(files, ctx));
      } catch (err) {
        warn(a.type, files.map((f) => f.path).join(', '), `${a.type} analyzer failed: ${describeError(err)}`);
      }
    }
    collected.clear();
    for (const link of hardlinks) resolveHardlink(link);
  } finally {
    await removeLayerTempDir(tmpDir);
  }

  if (result.os) {
    for (const set of result.packageSets) for (const pkg of set.packages) pkg.purl = osPackagePurl(pkg, result.os);
  }
  result.packageSets.sort(byPath);
  result.applications.sort(byPath);
  result.whiteouts.sort();
  result.opaqueDirs.sort();
  if (entries.length > 0) result.entries = entries;
  if (result.osFiles) {
    // The layer's own choice (os/osPath) stays for readers of a single layer; the merge uses osFiles.
    const best = result.osFiles.reduce((b, f) => ((releaseFileRank(f.path) ?? 0) > (releaseFileRank(b.path) ?? 0) ? f : b));
    result.os = best.os;
    result.osPath = best.path;
  }
  return result;
}

/**
 * Paths whose entries the merge must see (every type): the analyzers' fixed locations and each of
 * their parent directories. `followers` are the analyzers whose files are resolved through links;
 * `baseNames` the file names of the locations (status, installed, Packages.db, os-release…).
 */
function watchedPaths(analyzers: readonly AnyAnalyzer[]): { paths: Set<string>; followers: AnyAnalyzer[]; baseNames: Set<string> } {
  const paths = new Set<string>();
  const baseNames = new Set<string>();
  const followers = analyzers.filter((a) => a.locations !== undefined && a.locations.length > 0);
  for (const a of followers) {
    for (const location of a.locations ?? []) {
      baseNames.add(location.slice(location.lastIndexOf('/') + 1));
      let p = location;
      while (p !== '') {
        paths.add(p);
        const slash = p.lastIndexOf('/');
        p = slash < 0 ? '' : p.slice(0, slash);
      }
    }
  }
  return { paths, followers, baseNames };
}
