import { rm } from 'node:fs/promises';
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import type { Package } from '@strata/model';
import { describeError } from '@strata/errors';
import { purl } from '../purl.js';
import { headerField } from '../util/lines.js';
import { contentBuffer, readBounded, SizeLimitError, spoolToFile } from '../util/stream.js';
import { tempPath } from '../util/tempfile.js';
import type { Analyzer, AnalyzerContext, AnalyzerLimits, AnalyzerOutput, AnalyzerWarningOut } from '../types.js';

const ARCHIVE = /\.(?:jar|war|ear|par)$/i;

// Archives up to limits.maxInMemoryArchive are read into memory and opened there: the zip reader
// reads each entry's header on its own, and from a file every such read is a round trip through
// the thread pool (a jar of 2,000 classes costs 4,000 of them, waited for one after another).

/** An archive to open: its bytes in memory, or the temp file they were spooled to. */
type ArchiveSource = { buffer: Buffer } | { file: string };
const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;
const MANIFEST = 'META-INF/MANIFEST.MF';

/** Java .properties (the subset pom.properties uses): `key=value`, `key: value`, comments. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out.set(m[1] ?? '', (m[2] ?? '').trim());
  }
  return out;
}

/** The main section of a JAR manifest (72-byte lines continued with a leading space). */
export function parseManifest(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (raw === '') break;
    if (raw.startsWith(' ') && last) {
      out.set(last, (out.get(last) ?? '') + raw.slice(1));
      continue;
    }
    const field = headerField(raw);
    last = field?.name;
    if (field) out.set(field.name, field.value);
  }
  return out;
}

export interface Gav {
  groupId: string;
  artifactId: string;
  version: string;
}

/** What a manifest (and the archive's file name) tell about an archive without pom.properties. */
export interface ManifestCoordinates {
  /** undefined when nothing in the manifest names a group */
  groupId?: string;
  artifactId: string;
  version: string;
  /** where each part came from, for the package's notes */
  sources: { groupId?: string; artifactId: string; version: string };
}

/** A Maven groupId: dotted Java-package-like words, no spaces. */
const GROUP_ID = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+$/;
const ARTIFACT_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const VERSION = /^[0-9A-Za-z][0-9A-Za-z._+-]*$/;
const MAX_COORDINATE = 256;

const coordinate = (v: string | undefined, rule: RegExp): string | undefined => (v !== undefined && v.length <= MAX_COORDINATE && rule.test(v) ? v : undefined);

/** "spring-core-5.3.17.jar" with version 5.3.17 gives "spring-core"; a name without that version gives undefined. */
function artifactFromFileName(fileName: string | undefined, version: string | undefined): { artifactId: string; version: string } | undefined {
  if (!fileName) return undefined;
  const base = fileName.replace(/^.*[/!]/, '').replace(/\.(?:jar|war|ear|par)$/i, '');
  if (version && base.endsWith(`-${version}`)) return { artifactId: base.slice(0, -version.length - 1), version };
  const m = /^(.+?)-(\d[0-9A-Za-z._+-]*)$/.exec(base);
  return m ? { artifactId: m[1]!, version: m[2]! } : undefined;
}

/**
 * Names an archive that carries no pom.properties from its META-INF/MANIFEST.MF and file name:
 * - version: Implementation-Version, Bundle-Version, Specification-Version, else the file name's;
 * - artifactId: Implementation-Title (when it is one word), else the file name less its version,
 *   else the last part of Bundle-SymbolicName;
 * - groupId: Implementation-Vendor-Id; else Bundle-SymbolicName or Automatic-Module-Name less a
 *   last part that is the artifactId ("org.yaml.snakeyaml" for snakeyaml gives "org.yaml"); else a
 *   dotted Implementation-Vendor. Otherwise the group is unknown (spring-core's manifest names none).
 */
export function coordinatesFromManifest(m: Map<string, string>, fileName?: string): ManifestCoordinates | undefined {
  const symbolic = (m.get('bundle-symbolicname') ?? '').split(';')[0]?.trim() ?? '';
  const moduleName = (m.get('automatic-module-name') ?? '').trim();
  let version: string | undefined;
  let versionFrom = '';
  for (const [key, from] of [
    ['implementation-version', 'Implementation-Version'],
    ['bundle-version', 'Bundle-Version'],
    ['specification-version', 'Specification-Version'],
  ] as const) {
    version = coordinate(m.get(key), VERSION);
    if (version) {
      versionFrom = from;
      break;
    }
  }
  const fromFile = artifactFromFileName(fileName, version);
  if (!version && fromFile) {
    version = fromFile.version;
    versionFrom = 'the file name';
  }
  if (!version) return undefined;
  let artifactId = coordinate(m.get('implementation-title'), ARTIFACT_ID);
  let artifactFrom = 'Implementation-Title';
  if (!artifactId && fromFile && coordinate(fromFile.artifactId, ARTIFACT_ID)) {
    artifactId = fromFile.artifactId;
    artifactFrom = 'the file name';
  }
  if (!artifactId && symbolic.includes('.')) {
    artifactId = coordinate(symbolic.slice(symbolic.lastIndexOf('.') + 1), ARTIFACT_ID);
    artifactFrom = 'Bundle-SymbolicName';
  }
  if (!artifactId) return undefined;
  const out: ManifestCoordinates = { artifactId, version, sources: { artifactId: artifactFrom, version: versionFrom } };
  const groupOf = (name: string): string | undefined => {
    const dot = name.lastIndexOf('.');
    // only when the last part is the artifact itself: "org.yaml.snakeyaml" for snakeyaml gives
    // "org.yaml"; "spring.core" for spring-core, or "org.apache.commons.lang3" for commons-lang3, give nothing
    if (dot <= 0 || name.slice(dot + 1).toLowerCase() !== artifactId.toLowerCase()) return undefined;
    return coordinate(name.slice(0, dot), GROUP_ID);
  };
  const candidates: Array<[string | undefined, string]> = [
    [coordinate(m.get('implementation-vendor-id'), /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/), 'Implementation-Vendor-Id'],
    [symbolic ? groupOf(symbolic) : undefined, 'Bundle-SymbolicName'],
    [moduleName ? groupOf(moduleName) : undefined, 'Automatic-Module-Name'],
    [coordinate(m.get('implementation-vendor'), GROUP_ID), 'Implementation-Vendor'],
  ];
  for (const [groupId, from] of candidates) {
    if (!groupId) continue;
    out.groupId = groupId;
    out.sources.groupId = from;
    break;
  }
  return out;
}

/** Maven coordinates from a manifest, for archives that carry no pom.properties (undefined when the group is unknown). */
export function gavFromManifest(m: Map<string, string>, fileName?: string): Gav | undefined {
  const c = coordinatesFromManifest(m, fileName);
  return c?.groupId ? { groupId: c.groupId, artifactId: c.artifactId, version: c.version } : undefined;
}

/**
 * The package of an archive named from its manifest. With a group it is a Maven package whose notes
 * say where its coordinates came from; without one it keeps the artifactId as its name, a generic
 * PURL (a Maven PURL needs the group) and a note saying the group is unknown, so it is listed but
 * not matched against Maven advisories.
 */
export function manifestPackage(c: ManifestCoordinates, filePath: string): Package {
  const from = `artifactId from ${c.sources.artifactId}, version from ${c.sources.version}`;
  if (c.groupId) {
    const pkg = mavenPackage({ groupId: c.groupId, artifactId: c.artifactId, version: c.version }, filePath);
    pkg.notes = [`no pom.properties: named from META-INF/MANIFEST.MF (groupId from ${c.sources.groupId ?? ''}, ${from})`];
    return pkg;
  }
  return {
    type: 'jar',
    name: c.artifactId,
    version: c.version,
    purl: purl('generic', undefined, c.artifactId, c.version),
    filePath,
    notes: [
      `groupId unknown: no pom.properties, and the manifest names no group (Implementation-Vendor-Id, Bundle-SymbolicName, Automatic-Module-Name); ${from}; not matched against Maven advisories`,
    ],
  };
}

interface Budget {
  entries: number;
  bytes: number;
  limits: AnalyzerLimits;
  /** set once a limit is hit: every archive stops reading, keeping what it found so far */
  exhausted: boolean;
}

class ArchiveLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveLimitError';
  }
}

function charge(budget: Budget, bytes: number, where: string): void {
  budget.bytes += bytes;
  if (budget.bytes > budget.limits.maxArchiveUncompressed) {
    throw new ArchiveLimitError(`${where}: archive expands past ${budget.limits.maxArchiveUncompressed} bytes uncompressed (zip bomb?); the rest was not read`);
  }
}

async function readEntry(zip: ZipFile, entry: Entry, budget: Budget, where: string): Promise<Buffer> {
  const max = budget.limits.maxArchiveMetadataFile;
  if (entry.uncompressedSize > max) throw new SizeLimitError(where, max);
  charge(budget, entry.uncompressedSize, where);
  return readBounded(await zip.openReadStreamPromise(entry), max, where);
}

export function mavenPackage(gav: Gav, filePath: string): Package {
  const name = `${gav.groupId}:${gav.artifactId}`;
  return { type: 'jar', name, version: gav.version, purl: purl('maven', gav.groupId, gav.artifactId, gav.version), filePath };
}

/**
 * Packages of one archive on disk, its nested archives included (depth- and size-bounded).
 * `display` is the archive's path as reported ("app.war!/WEB-INF/lib/x.jar" for nested ones).
 */
async function analyzeArchive(
  source: ArchiveSource,
  display: string,
  depth: number,
  budget: Budget,
  ctx: AnalyzerContext,
  warnings: AnalyzerWarningOut[],
  topPath: string,
): Promise<Package[]> {
  // Names are decoded and checked here, per entry: yauzl's own check fails the whole archive on one bad name.
  const zipOptions = { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false, decodeStrings: false };
  const zip = 'buffer' in source ? await yauzl.fromBufferPromise(source.buffer, zipOptions) : await yauzl.openPromise(source.file, zipOptions);
  const poms: Gav[] = [];
  let manifest: Map<string, string> | undefined;
  const nested: Package[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      if (budget.exhausted) break;
      budget.entries++;
      if (budget.entries > budget.limits.maxArchiveEntries) {
        throw new ArchiveLimitError(`${display}: more than ${budget.limits.maxArchiveEntries} archive entries; the rest was not read`);
      }
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
      const badName = yauzl.validateFileName(name);
      if (badName !== null) {
        warnings.push({ path: topPath, message: `${display}: entry skipped: ${badName}` });
        continue;
      }
      if (name.endsWith('/')) continue;
      const where = `${display}!/${name}`;
      if (POM_PROPERTIES.test(name) || name === MANIFEST) {
        let text: string;
        try {
          text = (await readEntry(zip, entry, budget, where)).toString('utf8');
        } catch (err) {
          if (err instanceof ArchiveLimitError) throw err;
          warnings.push({ path: topPath, message: `${where}: not readable: ${describeError(err)}` });
          continue;
        }
        if (name === MANIFEST) {
          manifest = parseManifest(text);
          continue;
        }
        const props = parseProperties(text);
        const groupId = props.get('groupId');
        const artifactId = props.get('artifactId');
        const version = props.get('version');
        if (groupId && artifactId && version) poms.push({ groupId, artifactId, version });
        else warnings.push({ path: topPath, message: `${where}: pom.properties without groupId/artifactId/version` });
      } else if (ARCHIVE.test(name)) {
        if (depth + 1 > budget.limits.maxArchiveDepth) {
          warnings.push({ path: topPath, message: `${where}: nested deeper than ${budget.limits.maxArchiveDepth} archives; not opened` });
          continue;
        }
        if (entry.uncompressedSize > budget.limits.maxArchiveSize) {
          warnings.push({
            path: topPath,
            message: `${where}: nested archive of ${entry.uncompressedSize} bytes is over the limit of ${budget.limits.maxArchiveSize} (zip bomb?); not opened`,
          });
          continue;
        }
        charge(budget, entry.uncompressedSize, where);
        const tmp = entry.uncompressedSize <= budget.limits.maxInMemoryArchive ? undefined : tempPath(ctx.tmpDir, 'nested.jar');
        try {
          let inner: ArchiveSource;
          if (tmp === undefined) {
            // validateEntrySizes makes the stream fail unless it yields exactly uncompressedSize bytes
            inner = { buffer: await readBounded(await zip.openReadStreamPromise(entry), budget.limits.maxInMemoryArchive, where) };
          } else {
            await spoolToFile(await zip.openReadStreamPromise(entry), tmp, budget.limits.maxArchiveSize, where);
            inner = { file: tmp };
          }
          for (const set of await analyzeArchive(inner, where, depth + 1, budget, ctx, warnings, topPath)) nested.push(set);
        } catch (err) {
          if (err instanceof ArchiveLimitError) throw err;
          if (err instanceof SizeLimitError) {
            budget.exhausted = true;
            warnings.push({ path: topPath, message: `${where}: nested archive expands past ${budget.limits.maxArchiveSize} bytes (zip bomb?); not opened` });
            continue;
          }
          warnings.push({ path: topPath, message: `${where}: nested archive not readable: ${describeError(err)}` });
        } finally {
          if (tmp !== undefined) await rm(tmp, { force: true });
        }
      }
    }
  } catch (err) {
    if (!(err instanceof ArchiveLimitError)) throw err;
    budget.exhausted = true;
    warnings.push({ path: topPath, message: err.message });
  } finally {
    zip.close();
  }
  const own: Package[] = poms.map((g) => mavenPackage(g, display));
  if (own.length === 0) {
    const c = coordinatesFromManifest(manifest ?? new Map<string, string>(), display);
    if (c) own.push(manifestPackage(c, display));
  }
  return [...own, ...nested];
}

function dedupe(packages: Package[]): Package[] {
  const seen = new Set<string>();
  return packages.filter((p) => {
    const key = `${p.name}@${p.version}@${p.filePath ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Java archives: pom.properties, nested archives, MANIFEST.MF fallback. Memory stays bounded. */
export const jarAnalyzer: Analyzer = {
  type: 'jar',
  version: 3,
  input: 'stream',
  required: (path) => ARCHIVE.test(path),
  maxSize: (limits) => limits.maxArchiveSize,
  produces: { kind: 'application', type: 'jar' },
  async analyze(file, ctx): Promise<AnalyzerOutput> {
    const warnings: AnalyzerWarningOut[] = [];
    const budget: Budget = { entries: 0, bytes: 0, limits: ctx.limits, exhausted: false };
    let packages: Package[] = [];
    if (file.size <= ctx.limits.maxInMemoryArchive) {
      // the tar header's size; readBounded refuses more, and the zip reader checks the bytes it has
      const buffer = await contentBuffer(file.content, ctx.limits.maxInMemoryArchive, file.path);
      packages = await analyzeArchive({ buffer }, file.path, 0, budget, ctx, warnings, file.path);
    } else {
      const tmp = tempPath(ctx.tmpDir, 'archive.jar');
      try {
        await spoolToFile(file.content, tmp, ctx.limits.maxArchiveSize, file.path);
        packages = await analyzeArchive({ file: tmp }, file.path, 0, budget, ctx, warnings, file.path);
      } finally {
        await rm(tmp, { force: true });
      }
    }
    return { applications: [{ path: file.path, analyzer: 'jar', type: 'jar', packages: dedupe(packages) }], warnings };
  },
};
