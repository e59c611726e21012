// `--format json`: Trivy's JSON report, schema version 2, so that consumers of Trivy's output
// (dashboards, DefectDojo, scripts) read Strata's unchanged. Field names and nesting follow
// Trivy's `types.Report`; Strata-specific facts go in fields Trivy also has (VendorIDs,
// SeveritySource, DataSource) or are left out.
import { boundImageConfig, type InventoryPackage, type LayerRef } from '@strata/model';
import type { CvssScore, Finding } from '@strata/matcher';
import { reportResults, SEVERITY_NUMBER, type ScanReport } from './report.js';

export interface TrivyLayer {
  Digest?: string;
  DiffID?: string;
}

export interface TrivyPackage {
  ID: string;
  Name: string;
  Identifier: { PURL: string };
  Version: string;
  Release?: string;
  Epoch?: number;
  Arch?: string;
  SrcName?: string;
  SrcVersion?: string;
  SrcRelease?: string;
  SrcEpoch?: number;
  Licenses?: string[];
  Layer: TrivyLayer;
  FilePath?: string;
  /** Strata's own field (Trivy has none): what the analyzer could not know about the package, e.g. a jar's groupId */
  Notes?: string[];
}

export interface TrivyCvss {
  V2Vector?: string;
  V3Vector?: string;
  V40Vector?: string;
  V2Score?: number;
  V3Score?: number;
  V40Score?: number;
}

export interface TrivyVulnerability {
  VulnerabilityID: string;
  VendorIDs: string[];
  PkgID: string;
  PkgName: string;
  PkgPath?: string;
  PkgIdentifier: { PURL: string };
  InstalledVersion: string;
  FixedVersion: string;
  Status: string;
  Layer: TrivyLayer;
  SeveritySource: string;
  PrimaryURL: string;
  DataSource: { ID: string; Name: string; URL: string };
  Title: string;
  Description: string;
  Severity: string;
  VendorSeverity?: Record<string, number>;
  CVSS: Record<string, TrivyCvss>;
  References: string[];
  PublishedDate?: string;
  LastModifiedDate?: string;
}

export interface TrivyResult {
  Target: string;
  Class: 'os-pkgs' | 'lang-pkgs';
  Type: string;
  Packages: TrivyPackage[];
  Vulnerabilities: TrivyVulnerability[];
}

export interface TrivyReport {
  SchemaVersion: 2;
  CreatedAt: string;
  ArtifactName: string;
  ArtifactType: 'container_image';
  Metadata: {
    OS?: { Family: string; Name: string; EOSL?: boolean } | undefined;
    ImageID: string;
    DiffIDs: string[];
    RepoTags: string[];
    RepoDigests: string[];
    ImageConfig: Record<string, unknown>;
    Layers: { Digest: string; DiffID: string; Size?: number; CreatedBy?: string }[];
    /** Strata's own: the advisory DB of the findings (a key Trivy does not have, so readers of Trivy JSON skip it) */
    AdvisoryDB?: { Path: string; Kind: string; Version: string; Records: number; Dumps: string[]; JsonFiles: number };
  };
  Results: TrivyResult[];
}

const layer = (l: LayerRef): TrivyLayer => ({ Digest: l.digest, DiffID: l.diffId });

/** dpkg versions carry their epoch in the string; Trivy reports it apart ("1:1.2.13" → 1 and "1.2.13"). */
function splitEpoch(pkg: InventoryPackage, version: string | undefined): { version?: string; epoch?: number } {
  if (version === undefined) return {};
  const m = /^(\d+):(.+)$/.exec(version);
  return m && pkg.type === 'dpkg' ? { version: m[2] as string, epoch: Number(m[1]) } : { version };
}

export function trivyPackage(pkg: InventoryPackage): TrivyPackage {
  const v = splitEpoch(pkg, pkg.version);
  const src = splitEpoch(pkg, pkg.srcVersion);
  const out: TrivyPackage = {
    ID: `${pkg.name}@${pkg.type === 'rpm' ? `${pkg.version}-${pkg.release ?? ''}` : pkg.version}`,
    Name: pkg.name,
    Identifier: { PURL: pkg.purl },
    Version: v.version ?? pkg.version,
    Layer: layer(pkg.layer),
  };
  if (pkg.release) out.Release = pkg.release;
  const epoch = pkg.epoch ?? v.epoch;
  if (epoch) out.Epoch = epoch;
  if (pkg.arch) out.Arch = pkg.arch;
  if (pkg.srcName) out.SrcName = pkg.srcName;
  if (src.version) out.SrcVersion = src.version;
  if (pkg.srcRelease) out.SrcRelease = pkg.srcRelease;
  const srcEpoch = pkg.srcEpoch ?? src.epoch;
  if (srcEpoch) out.SrcEpoch = srcEpoch;
  if (pkg.licenses && pkg.licenses.length > 0) out.Licenses = pkg.licenses;
  if (pkg.filePath ?? (pkg.type !== 'dpkg' && pkg.type !== 'apk' && pkg.type !== 'rpm' ? pkg.setPath : undefined)) {
    out.FilePath = pkg.filePath ?? pkg.setPath;
  }
  if (pkg.notes && pkg.notes.length > 0) out.Notes = pkg.notes;
  return out;
}

function trivyCvss(scores: readonly CvssScore[], source: string): Record<string, TrivyCvss> {
  if (scores.length === 0) return {};
  const c: TrivyCvss = {};
  for (const s of scores) {
    if (s.type === 'CVSS_V2' && c.V2Vector === undefined) Object.assign(c, { V2Vector: s.vector, V2Score: s.score });
    if (s.type === 'CVSS_V3' && c.V3Vector === undefined) Object.assign(c, { V3Vector: s.vector, V3Score: s.score });
    if (s.type === 'CVSS_V4' && c.V40Vector === undefined) Object.assign(c, { V40Vector: s.vector, V40Score: s.score });
  }
  return { [source]: c };
}

export function trivyVulnerability(f: Finding): TrivyVulnerability {
  const v: TrivyVulnerability = {
    VulnerabilityID: f.vulnerabilityId,
    VendorIDs: f.vendorIds,
    PkgID: f.pkgId,
    PkgName: f.pkgName,
    PkgIdentifier: { PURL: f.pkg.purl },
    InstalledVersion: f.installedVersion,
    FixedVersion: f.fixedVersion,
    Status: f.status,
    Layer: layer(f.layer),
    SeveritySource: f.severitySource,
    PrimaryURL: f.primaryUrl,
    DataSource: { ID: f.dataSource.id, Name: f.dataSource.name, URL: f.dataSource.url },
    Title: f.title,
    Description: f.description,
    Severity: f.severity,
    CVSS: trivyCvss(f.cvss, f.dataSource.id),
    References: f.references,
  };
  if (f.targetClass === 'lang-pkgs') v.PkgPath = f.pkg.filePath ?? f.pkg.setPath;
  if (f.vendorSeverity && f.severitySource === 'vendor') v.VendorSeverity = { [f.vendorSeverity.vendor]: SEVERITY_NUMBER[f.severity] };
  if (f.publishedDate) v.PublishedDate = f.publishedDate;
  if (f.lastModifiedDate) v.LastModifiedDate = f.lastModifiedDate;
  return v;
}

export function toTrivyJson(report: ScanReport, now: Date = new Date()): TrivyReport {
  const doc = trivyJsonSkeleton(report, now);
  doc.report.Results = doc.results.map((r) => ({
    Target: r.target,
    Class: r.class,
    Type: r.type,
    Packages: r.packages.map(trivyPackage),
    Vulnerabilities: r.findings.map(trivyVulnerability),
  }));
  return doc.report;
}

/** The report without its Results, and the results they are made from. */
function trivyJsonSkeleton(report: ScanReport, now: Date): { report: TrivyReport; results: ReturnType<typeof reportResults> } {
  const m = report.metadata;
  const os = report.inventory.os;
  const layers = m.layers.length > 0 ? m.layers : report.inventory.layers;
  const meta: TrivyReport['Metadata'] = {
    ImageID: m.configDigest,
    DiffIDs: m.diffIds,
    RepoTags: m.repoTags,
    RepoDigests: m.repoDigests,
    // Bounded again here: metadata stored by an older version may hold the whole config.
    ImageConfig: boundImageConfig(m.config),
    Layers: layers.map((l) => {
      const out: TrivyReport['Metadata']['Layers'][number] = { Digest: l.digest, DiffID: l.diffId };
      if (l.size !== undefined) out.Size = l.size;
      if (l.createdBy !== undefined) out.CreatedBy = l.createdBy;
      return out;
    }),
  };
  if (os) meta.OS = { Family: os.family, Name: os.name, ...(report.eol?.endOfLife ? { EOSL: true } : {}) };
  const db = report.advisoryDb;
  if (db) meta.AdvisoryDB = { Path: db.path, Kind: db.kind, Version: db.version, Records: db.records, Dumps: db.dumps, JsonFiles: db.jsonFiles };
  return {
    report: {
      SchemaVersion: 2,
      CreatedAt: report.createdAt ?? now.toISOString(),
      ArtifactName: report.artifactName,
      ArtifactType: 'container_image',
      Metadata: { OS: meta.OS, ...meta },
      Results: [],
    },
    results: reportResults(report),
  };
}

export function renderJson(report: ScanReport, now?: Date): string {
  return [...renderJsonChunks(report, now)].join('');
}

/**
 * Items of a Packages or Vulnerabilities list rendered per JSON.stringify call. Small enough that
 * the text (about 40 KB for 64 packages) stays a young object: larger strings go to V8's large
 * object space, which only a full collection frees, and 300 KB batches added up to ~45 MB of peak RSS.
 */
const LIST_BATCH = 64;
/** JSON.stringify([[[batch]]], null, 2) around the batch's items, which sit 8 spaces in as in the report. */
const BATCH_OPEN = '[\n  [\n    [\n      [';
const BATCH_CLOSE = '\n      ]\n    ]\n  ]\n]';

/**
 * The JSON report as pieces whose concatenation is exactly renderJson's text (JSON.stringify with
 * two-space indentation), a batch of packages or findings at a time: a report of 150,000 packages is
 * never held as one string, nor as one object tree.
 */
export function* renderJsonChunks(report: ScanReport, now: Date = new Date()): Generator<string> {
  const { report: head, results } = trivyJsonSkeleton(report, now);
  // the skeleton with an empty Results array: everything before and after it, as JSON.stringify writes it
  const skeleton = JSON.stringify(head, null, 2);
  const marker = '\n  "Results": []\n}';
  if (!skeleton.endsWith(marker)) throw new Error('the JSON report skeleton does not end with Results');
  yield skeleton.slice(0, -marker.length);
  if (results.length === 0) {
    yield `${marker}\n`;
    return;
  }
  yield '\n  "Results": [';
  const list = function* <T, U>(key: string, items: readonly T[], map: (item: T) => U, last: boolean): Generator<string> {
    if (items.length === 0) {
      yield `\n      "${key}": []${last ? '' : ','}`;
      return;
    }
    yield `\n      "${key}": [`;
    // Items go in batches, each one JSON.stringify call with the items at the list's own depth
    // (inside three arrays), which indents them natively: about 5x faster than one call and one
    // re-indenting pass per item, for reports of hundreds of thousands of packages.
    for (let i = 0; i < items.length; i += LIST_BATCH) {
      const batch = items.slice(i, i + LIST_BATCH).map(map);
      const text = JSON.stringify([[[batch]]], null, 2);
      if (!text.startsWith(BATCH_OPEN) || !text.endsWith(BATCH_CLOSE)) throw new Error('unexpected JSON layout of a report batch');
      yield `${i === 0 ? '' : ','}${text.slice(BATCH_OPEN.length, text.length - BATCH_CLOSE.length)}`;
    }
    yield `\n      ]${last ? '' : ','}`;
  };
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    yield `${i === 0 ? '' : ','}\n    {\n      "Target": ${JSON.stringify(r.target)},\n      "Class": ${JSON.stringify(r.class)},\n      "Type": ${JSON.stringify(r.type)},`;
    yield* list('Packages', r.packages, trivyPackage, false);
    yield* list('Vulnerabilities', r.findings, trivyVulnerability, true);
    yield '\n    }';
  }
  yield '\n  ]\n}\n';
}
