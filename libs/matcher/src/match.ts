// Package × advisory matching. Which name and version a package is looked up by:
//   - dpkg, apk (Debian, Ubuntu, Alpine, Wolfi, Chainguard): the SOURCE package and source version
//     (dpkg `Source:`, apk origin `o:`), as their advisories are keyed;
//   - rpm (RHEL family, Azure Linux, ...): the binary name and its [epoch:]version-release; the
//     source RPM name is looked up too, because some feeds (Rocky, Alma, SUSE) name source packages;
//   - language packages: ecosystem + normalised name (PEP 503 for PyPI, group:artifact for Maven,
//     module path for Go, `stdlib` for the Go standard library, lower case for NuGet and Packagist,
//     crates.io and RubyGems names as written); conda packages have no OSV ecosystem.
// Records that name the same CVE (through id, aliases or upstream) become one finding.
import type { AnalyzerWarning, ImageInventory, InventoryPackage, InventorySet, OsInfo, Severity } from '@strata/model';
import { appTargetType, SEVERITIES } from '@strata/model';
import { ecosystemKey, osEcosystems, packageEcosystem, rangeScheme, type AdvisoryIndex, type AffectedEntry, type IndexedRecord } from '@strata/advisories';
import { comparator, InvalidVersionError, type VersionScheme } from '@strata/versions';
import { describeError } from '@strata/errors';
import type { DataSource, Finding, TargetClass } from './finding.js';
import { evaluateRange, inVersionList, probeFor, type VersionProbe } from './ranges.js';
import { chooseSeverity, scoreRecord, type RecordEvidence } from './severity.js';

export interface MatchOptions {
  /** only report findings of these records (re-matching after an advisory update); default all */
  onlyRecords?: ReadonlySet<string>;
}

export interface MatchResult {
  findings: Finding[];
  warnings: AnalyzerWarning[];
}

/** What a package is looked up by: a name, the version compared, under which ecosystem keys. */
interface Lookup {
  keys: string[];
  name: string;
  version: string;
}

interface RecordHit {
  record: IndexedRecord;
  entries: AffectedEntry[];
  fixed: Set<string>;
  scheme: VersionScheme;
}

class Warnings {
  readonly list: AnalyzerWarning[] = [];
  private readonly seen = new Set<string>();
  add(path: string, message: string): void {
    const key = `${path}\u0000${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push({ analyzer: 'matcher', path, message });
  }
}

const rpmEvr = (epoch: number | undefined, version: string, release: string | undefined): string =>
  `${epoch ? `${epoch}:` : ''}${version}${release ? `-${release}` : ''}`;

/** The version shown as installed: what the package manager prints (rpm: [epoch:]version-release). */
export function installedVersionOf(pkg: InventoryPackage): string {
  return pkg.type === 'rpm' ? rpmEvr(pkg.epoch, pkg.version, pkg.release) : pkg.version;
}

function osLookups(pkg: InventoryPackage, keys: string[]): Lookup[] {
  switch (pkg.type) {
    case 'dpkg':
    case 'apk':
      return [{ keys, name: pkg.srcName || pkg.name, version: pkg.srcVersion || pkg.version }];
    case 'rpm': {
      const out: Lookup[] = [{ keys, name: pkg.name, version: rpmEvr(pkg.epoch, pkg.version, pkg.release) }];
      if (pkg.srcName && pkg.srcName !== pkg.name) {
        const srcVersion = pkg.srcVersion ? rpmEvr(pkg.srcEpoch ?? pkg.epoch, pkg.srcVersion, pkg.srcRelease ?? pkg.release) : (out[0]?.version ?? '');
        out.push({ keys, name: pkg.srcName, version: srcVersion });
      }
      return out;
    }
    default:
      return [];
  }
}

const SOURCES: [RegExp, DataSource][] = [
  [/^GHSA-/, { id: 'ghsa', name: 'GitHub Security Advisory Database', url: 'https://github.com/advisories' }],
  [/^GO-/, { id: 'go-vulndb', name: 'Go Vulnerability Database', url: 'https://pkg.go.dev/vuln/' }],
  [/^PYSEC-/, { id: 'pypa', name: 'PyPA Advisory Database', url: 'https://github.com/pypa/advisory-database' }],
  [/^ALPINE-/, { id: 'alpine', name: 'Alpine Secdb (OSV)', url: 'https://secdb.alpinelinux.org/' }],
  [/^(DEBIAN-|DSA-|DLA-|DTSA-)/, { id: 'debian', name: 'Debian Security Tracker (OSV)', url: 'https://security-tracker.debian.org/tracker/' }],
  [/^(UBUNTU-|USN-)/, { id: 'ubuntu', name: 'Ubuntu CVE Tracker (OSV)', url: 'https://ubuntu.com/security/cves' }],
  [/^(RHSA-|RHBA-|RHEA-)/, { id: 'redhat', name: 'Red Hat Security Data (OSV)', url: 'https://access.redhat.com/security/data' }],
  [/^RLSA-/, { id: 'rocky', name: 'Rocky Linux Security Advisories (OSV)', url: 'https://errata.rockylinux.org/' }],
  [/^ALSA-/, { id: 'alma', name: 'AlmaLinux Security Advisories (OSV)', url: 'https://errata.almalinux.org/' }],
  [/^(CGA-|WOLFI-)/, { id: 'chainguard', name: 'Chainguard / Wolfi Security Advisories (OSV)', url: 'https://images.chainguard.dev/security' }],
];

export function dataSourceFor(recordId: string): DataSource {
  for (const [re, ds] of SOURCES) if (re.test(recordId)) return ds;
  return { id: 'osv', name: 'OSV', url: 'https://osv.dev/' };
}

function primaryUrl(record: IndexedRecord): string {
  return record.url ?? record.references.find((r) => r.type === 'ADVISORY')?.url ?? `https://osv.dev/vulnerability/${record.id}`;
}

function titleOf(record: IndexedRecord): string {
  if (record.summary) return record.summary;
  const firstLine =
    (record.details ?? '')
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  return firstLine.length > 120 ? `${firstLine.slice(0, 117)}...` : firstLine;
}

/** Union-find over record hits: records that share a CVE (when they name exactly one) or a non-CVE id. */
function groupHits(hits: RecordHit[]): RecordHit[][] {
  const parent = hits.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i] as number] as number;
    return i;
  };
  const owner = new Map<string, number>();
  hits.forEach((h, i) => {
    const ids = [h.record.id, ...h.record.aliases, ...h.record.upstream];
    for (const id of ids) {
      // A record that names several CVEs (a DSA) must not glue those CVEs' findings together.
      if (/^CVE-/.test(id) && h.record.cves.length !== 1) continue;
      const j = owner.get(id);
      if (j === undefined) owner.set(id, i);
      else parent[find(i)] = find(j);
    }
  });
  const groups = new Map<number, RecordHit[]>();
  hits.forEach((h, i) => {
    const root = find(i);
    const g = groups.get(root);
    if (g) g.push(h);
    else groups.set(root, [h]);
  });
  return [...groups.values()];
}

/** Vendor-rated records first, then records naming one CVE, then by id: the first one is "primary". */
function orderHits(hits: RecordHit[]): RecordHit[] {
  const rank = (h: RecordHit): number => (h.entries.some((e) => e.vendorRating) || h.record.vendorRating ? 0 : 2) + (h.record.cves.length === 1 ? 0 : 1);
  return [...hits].sort((a, b) => rank(a) - rank(b) || (a.record.id < b.record.id ? -1 : 1));
}

interface Target {
  target: string;
  targetClass: TargetClass;
  targetType: string;
}

interface RecordInfo {
  urls: string[];
  primaryUrl: string;
  title: string;
  dataSource: DataSource;
}
// Per-record presentation data, computed once per loaded record.
const recordInfo = new WeakMap<IndexedRecord, RecordInfo>();
function infoOf(record: IndexedRecord): RecordInfo {
  let info = recordInfo.get(record);
  if (!info) {
    info = { urls: record.references.map((r) => r.url), primaryUrl: primaryUrl(record), title: titleOf(record), dataSource: dataSourceFor(record.id) };
    recordInfo.set(record, info);
  }
  return info;
}

function buildFinding(pkg: InventoryPackage, target: Target, members: RecordHit[], extraVendorIds: string[]): Finding {
  const single = members.length === 1;
  const ordered = single ? members : orderHits(members);
  const primary = ordered[0] as RecordHit;
  const info = infoOf(primary.record);
  const cves = single ? primary.record.cves : [...new Set(members.flatMap((m) => m.record.cves))].sort();
  const vulnerabilityId = cves.length === 1 ? (cves[0] as string) : primary.record.id;
  const evidence: RecordEvidence[] = ordered.map((m) => ({ record: m.record, affected: m.entries, cvss: scoreRecord(m.record, m.entries) }));
  const choice = chooseSeverity(evidence);
  let fixed = single ? [...primary.fixed] : [...new Set(members.flatMap((m) => [...m.fixed]))];
  if (fixed.length > 1) {
    const cmp = comparator(primary.scheme);
    fixed = fixed.sort((a, b) => {
      try {
        return cmp.compare(a, b);
      } catch {
        return a < b ? -1 : 1;
      }
    });
  }
  const references = single ? info.urls : [...new Set(ordered.flatMap((m) => infoOf(m.record).urls))];
  const published = single
    ? primary.record.published
    : members
        .map((m) => m.record.published)
        .filter((d): d is string => !!d)
        .sort()[0];
  // Go's database writes "0001-01-01T00:00:00Z" for "never modified".
  const modified = (single ? [primary.record.modified] : members.map((m) => m.record.modified))
    .filter((d) => d && !d.startsWith('0001-'))
    .sort()
    .at(-1);
  const installedVersion = installedVersionOf(pkg);
  const vendorIds = single && extraVendorIds.length === 0 ? [primary.record.id] : [...new Set([...members.map((m) => m.record.id), ...extraVendorIds])].sort();
  const finding: Finding = {
    vulnerabilityId,
    vendorIds,
    cves,
    pkg,
    pkgName: pkg.name,
    pkgId: `${pkg.name}@${installedVersion}`,
    installedVersion,
    fixedVersion: fixed.join(', '),
    status: fixed.length > 0 ? 'fixed' : 'affected',
    severity: choice.severity,
    severitySource: choice.source,
    layer: pkg.layer,
    primaryUrl: info.primaryUrl,
    title: info.title,
    description: primary.record.details ?? ordered.find((m) => m.record.details)?.record.details ?? '',
    cvss: single ? (evidence[0] as RecordEvidence).cvss : evidence.flatMap((e) => e.cvss),
    references,
    dataSource: info.dataSource,
    ...target,
  };
  if (choice.vendor) finding.vendorSeverity = choice.vendor;
  if (published) finding.publishedDate = published;
  if (modified) finding.lastModifiedDate = modified;
  return finding;
}

/**
 * Groups a package's record hits into findings. A record naming several CVEs (a DSA) is folded
 * into the per-CVE findings when every one of its CVEs has a per-CVE record for this package in
 * the index (`perCve`, matched or not: a per-CVE record that does not match says that CVE is fixed
 * here); its id then joins the vendor ids of the per-CVE findings that remain.
 */
function findingsFor(pkg: InventoryPackage, target: Target, hits: RecordHit[], perCveOf: () => ReadonlySet<string>): Finding[] {
  if (hits.length === 1 && (hits[0] as RecordHit).record.cves.length <= 1) return [buildFinding(pkg, target, hits, [])];
  const groups = groupHits(hits);
  let perCve: ReadonlySet<string> | undefined;
  const singleCve = new Map<string, RecordHit[]>();
  for (const g of groups) {
    const cves = new Set(g.flatMap((h) => h.record.cves));
    if (cves.size === 1) singleCve.set([...cves][0] as string, g);
  }
  const folded = new Map<RecordHit[], string[]>();
  const standalone: RecordHit[][] = [];
  for (const g of groups) {
    const cves = [...new Set(g.flatMap((h) => h.record.cves))];
    if (cves.length > 1) perCve ??= perCveOf();
    if (cves.length <= 1 || !cves.every((c) => perCve?.has(c))) {
      standalone.push(g);
      continue;
    }
    for (const c of cves) {
      const into = singleCve.get(c);
      if (into) folded.set(into, [...(folded.get(into) ?? []), ...g.map((h) => h.record.id)]);
    }
  }
  return standalone.map((g) => buildFinding(pkg, target, g, folded.get(g) ?? []));
}

// Version scheme per (ecosystem string, range type): a handful of distinct values, asked for per entry.
const schemeCache = { ECOSYSTEM: new Map<string, VersionScheme | null>(), SEMVER: new Map<string, VersionScheme | null>() };
function schemeOf(ecosystem: string, type: 'ECOSYSTEM' | 'SEMVER'): VersionScheme | undefined {
  const cache = schemeCache[type];
  let scheme = cache.get(ecosystem);
  if (scheme === undefined) {
    scheme = rangeScheme(ecosystem, type) ?? null;
    cache.set(ecosystem, scheme);
  }
  return scheme ?? undefined;
}

/** isValid, where a comparator that throws on a hostile string counts as "not valid". */
function isValidVersion(cmp: ReturnType<typeof comparator>, version: string): boolean {
  try {
    return cmp.isValid(version);
  } catch {
    return false;
  }
}

/** Whether the index has entries for a name under a key: answered from one batch per key (packagesIn). */
type Present = (key: string, name: string) => boolean;

/** The Present of a batch of lookups: the names of each key checked against the index at once. */
function presentIn(index: AdvisoryIndex, lookups: Iterable<Lookup>): Present {
  const names = new Map<string, string[]>();
  for (const lookup of lookups) {
    for (const key of lookup.keys) {
      const list = names.get(key);
      if (list) list.push(lookup.name);
      else names.set(key, [lookup.name]);
    }
  }
  const present = new Map<string, Set<string>>();
  for (const [key, list] of names) present.set(key, index.packagesIn(key, list));
  return (key, name) => present.get(key)?.has(name) === true;
}

/** matchPackage, where anything unexpected costs this package's findings with a warning, never the scan. */
function matchPackageSafely(...args: Parameters<typeof matchPackage>): Finding[] {
  try {
    return matchPackage(...args);
  } catch (e) {
    const [pkg, , , , warnings] = args;
    warnings.add(pkg.setPath, `${pkg.name} ${pkg.version}: not matched: ${describeError(e)}`);
    return [];
  }
}

function evaluateEntries(
  pkg: InventoryPackage,
  lookup: Lookup,
  entries: readonly AffectedEntry[],
  warnings: Warnings,
  onlyRecords: ReadonlySet<string> | undefined,
): RecordHit[] | undefined {
  const byRecord = new Map<string, RecordHit>();
  // Per scheme: whether the installed version is valid, and its memoised comparisons.
  const probes = new Map<VersionScheme, VersionProbe | null>();
  for (const entry of entries) {
    if (onlyRecords && !onlyRecords.has(entry.recordId)) continue;
    const n = entry.ranges.length > 0 ? entry.ranges.length : 1;
    let affected = false;
    let fixed: Set<string> | undefined;
    let scheme: VersionScheme | undefined;
    for (let i = 0; i < n; i++) {
      const range = entry.ranges[i];
      scheme = schemeOf(entry.ecosystem, range ? range.type : 'ECOSYSTEM');
      if (!scheme) {
        warnings.add(pkg.setPath, `${entry.recordId}: cannot compare versions of ecosystem ${JSON.stringify(entry.ecosystem)}; entry ignored`);
        continue;
      }
      const cmp = comparator(scheme);
      let probe = probes.get(scheme);
      if (probe === undefined) {
        probe = isValidVersion(cmp, lookup.version) ? probeFor(lookup.version, cmp) : null;
        probes.set(scheme, probe);
      }
      if (probe === null) {
        warnings.add(pkg.setPath, `${pkg.name} ${lookup.version}: not a valid ${scheme} version; package not matched`);
        return undefined;
      }
      try {
        if (range) {
          const verdict = evaluateRange(lookup.version, range, cmp, probe);
          if (verdict.affected) {
            affected = true;
            if (verdict.fixed) (fixed ??= new Set<string>()).add(verdict.fixed);
          }
        }
        if (i === 0 && entry.versions && inVersionList(lookup.version, entry.versions, cmp)) affected = true;
      } catch (e) {
        // A version the comparator refuses, or one it cannot cope with (a comparator's own limits):
        // the range is ignored with a warning naming the record, and the scan goes on.
        const why = e instanceof InvalidVersionError ? e.message : `cannot compare versions (${describeError(e)})`;
        warnings.add(entry.record.origin, `${entry.recordId}: ${why} in the ${entry.name} range; range ignored`);
      }
    }
    if (!affected || !scheme) continue;
    const hit = byRecord.get(entry.recordId);
    if (hit) {
      hit.entries.push(entry);
      if (fixed) for (const f of fixed) hit.fixed.add(f);
    } else {
      byRecord.set(entry.recordId, { record: entry.record, entries: [entry], fixed: fixed ?? new Set<string>(), scheme });
    }
  }
  return [...byRecord.values()];
}

/**
 * The entries of a lookup that can affect its version, over its keys in order: the index leaves
 * out the entries whose every range is fixed at or below the version, which evaluateEntries would
 * pass over without a hit or a warning (the whole list when it cannot decide that).
 */
function entriesFor(lookup: Lookup, index: AdvisoryIndex, present: Present): readonly AffectedEntry[] {
  let entries: readonly AffectedEntry[] = [];
  for (const key of lookup.keys) {
    if (!present(key, lookup.name)) continue;
    const found = index.lookupAffecting(key, lookup.name, lookup.version) ?? index.lookup(key, lookup.name);
    entries = entries.length === 0 ? found : [...entries, ...found];
  }
  return entries;
}

function matchPackage(
  pkg: InventoryPackage,
  lookups: Lookup[],
  index: AdvisoryIndex,
  target: Target,
  warnings: Warnings,
  onlyRecords: ReadonlySet<string> | undefined,
  present: Present,
): Finding[] {
  const hits = new Map<string, RecordHit>();
  for (const lookup of lookups) {
    const entries = entriesFor(lookup, index, present);
    if (entries.length === 0) continue;
    const found = evaluateEntries(pkg, lookup, entries, warnings, onlyRecords);
    if (!found) return [];
    for (const h of found) {
      const have = hits.get(h.record.id);
      if (!have) hits.set(h.record.id, h);
      else for (const f of h.fixed) have.fixed.add(f);
    }
  }
  if (hits.size === 0) return [];
  // CVEs that have a per-CVE record for this package (matched or not, so every entry of the
  // package is read): only needed to fold DSAs.
  const perCve = (): ReadonlySet<string> =>
    new Set(
      lookups
        .flatMap((l) => l.keys.filter((k) => present(k, l.name)).flatMap((k) => index.lookup(k, l.name)))
        .filter((e) => e.record.cves.length === 1)
        .map((e) => e.record.cves[0] as string),
    );
  return findingsFor(pkg, target, [...hits.values()], perCve);
}

const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

function compareFindings(a: Finding, b: Finding): number {
  if (a.targetClass !== b.targetClass) return a.targetClass === 'os-pkgs' ? -1 : 1;
  if (a.target !== b.target) return a.target < b.target ? -1 : 1;
  if (a.pkgName !== b.pkgName) return a.pkgName < b.pkgName ? -1 : 1;
  if (a.pkg.setPath !== b.pkg.setPath) return a.pkg.setPath < b.pkg.setPath ? -1 : 1;
  const bySeverity = severityRank(b.severity) - severityRank(a.severity);
  if (bySeverity !== 0) return bySeverity;
  return a.vulnerabilityId < b.vulnerabilityId ? -1 : a.vulnerabilityId > b.vulnerabilityId ? 1 : 0;
}

export function osTarget(os: OsInfo): string {
  return `${os.family} ${os.name}`;
}

/**
 * Matches every package of an inventory against the index. Never throws for bad data: invalid
 * versions, unknown ecosystems and missing advisory data become warnings.
 */
export function matchInventory(inventory: ImageInventory, index: AdvisoryIndex, options: MatchOptions = {}): MatchResult {
  const warnings = new Warnings();
  const findings: Finding[] = [];
  const only = options.onlyRecords;

  if (inventory.osPackages.length > 0) {
    const os = inventory.os;
    if (!os) {
      warnings.add('', `OS not detected: ${inventory.osPackages.length} OS package(s) were not matched`);
    } else {
      const ecosystems = osEcosystems(os);
      const keys = ecosystems.map((e) => ecosystemKey(e)).filter((k) => index.hasEcosystem(k));
      if (ecosystems.length === 0) {
        warnings.add('', `OSV publishes no advisories for ${os.family} ${os.name}: its ${inventory.osPackages.length} OS package(s) were not matched`);
      } else if (keys.length === 0) {
        warnings.add('', `the advisory database has no ${ecosystems.join(' / ')} records: OS packages were not matched (fetch them with "strata db update")`);
      } else {
        const target: Target = { target: osTarget(os), targetClass: 'os-pkgs', targetType: os.family };
        const lookups = inventory.osPackages.map((pkg) => osLookups(pkg, keys));
        const present = presentIn(index, lookups.flat());
        inventory.osPackages.forEach((pkg, i) => {
          for (const f of matchPackageSafely(pkg, lookups[i] as Lookup[], index, target, warnings, only, present)) findings.push(f);
        });
      }
    }
  }

  // Locally built Go main modules carry "(devel)": there is no version to compare.
  const matchable = (pkg: InventoryPackage): boolean => !!pkg.version && pkg.version !== '(devel)';
  const appKey = (set: InventorySet): string | undefined => {
    const ecosystem = packageEcosystem(set.type);
    return ecosystem && set.packages.length > 0 ? ecosystemKey(ecosystem) : undefined;
  };
  // The names of every set, checked per key in one batch: a huge inventory spreads over many sets.
  const appPresent = presentIn(
    index,
    inventory.applications.flatMap((set) => {
      const key = appKey(set);
      return key && index.hasEcosystem(key) ? set.packages.filter(matchable).map((pkg) => ({ keys: [key], name: pkg.name, version: pkg.version })) : [];
    }),
  );
  for (const set of inventory.applications) {
    const ecosystem = packageEcosystem(set.type);
    const key = appKey(set);
    if (!ecosystem || !key) continue;
    if (!index.hasEcosystem(key)) {
      warnings.add('', `the advisory database has no ${ecosystem} records: ${ecosystem} packages were not matched (fetch them with "strata db update")`);
      continue;
    }
    const target: Target = { target: set.path, targetClass: 'lang-pkgs', targetType: appTargetType(set) };
    for (const pkg of set.packages) {
      if (!matchable(pkg)) continue;
      for (const f of matchPackageSafely(pkg, [{ keys: [key], name: pkg.name, version: pkg.version }], index, target, warnings, only, appPresent))
        findings.push(f);
    }
  }

  findings.sort(compareFindings);
  return { findings, warnings: warnings.list };
}
