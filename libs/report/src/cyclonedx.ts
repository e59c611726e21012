// `--format cyclonedx`: a CycloneDX 1.6 JSON BOM built with the CycloneDX JavaScript library: the
// image as the metadata component, every package as a component (purl, layer and source package
// as properties), and one vulnerability per id with its ratings and the components it affects.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Cdx from '@cyclonedx/cyclonedx-library';
import type { InventoryPackage, Severity } from '@strata/model';
import type { CvssScore, Finding } from '@strata/matcher';
import { describeAdvisoryDb, reportResults, type ScanReport } from './report.js';

export interface CycloneDxOptions {
  /** urn:uuid serial number; random by default */
  serialNumber?: string;
  toolVersion?: string;
  now?: Date;
}

// The CycloneDX library is required on first use, so only `--format cyclonedx` pays for it, and
// only the parts a report needs: its index also loads the JSON-schema validators (ajv and the
// schemas), which cost three times the rest and which only validateCycloneDx uses.
const requireCjs = createRequire(import.meta.url);
type CdxParts = Pick<typeof Cdx, 'Enums' | 'Models' | 'Serialize' | 'Spec'>;
let cdxModule: CdxParts | undefined;
// In the CLI bundle (tools/bundle.mjs --deps) `require` is defined and esbuild compiles these four
// parts in, evaluated on first use (no resolution in node_modules); from source (ESM) Node loads them.
/* eslint-disable @typescript-eslint/no-require-imports -- direct require() calls are what esbuild compiles in */
const cdx = (): CdxParts =>
  (cdxModule ??=
    typeof require === 'function'
      ? {
          Enums: require('@cyclonedx/cyclonedx-library/Enums') as typeof Cdx.Enums,
          Models: require('@cyclonedx/cyclonedx-library/Models') as typeof Cdx.Models,
          Serialize: require('@cyclonedx/cyclonedx-library/Serialize') as typeof Cdx.Serialize,
          Spec: require('@cyclonedx/cyclonedx-library/Spec') as typeof Cdx.Spec,
        }
      : {
          Enums: requireCjs('@cyclonedx/cyclonedx-library/Enums') as typeof Cdx.Enums,
          Models: requireCjs('@cyclonedx/cyclonedx-library/Models') as typeof Cdx.Models,
          Serialize: requireCjs('@cyclonedx/cyclonedx-library/Serialize') as typeof Cdx.Serialize,
          Spec: requireCjs('@cyclonedx/cyclonedx-library/Spec') as typeof Cdx.Spec,
        });
/* eslint-enable @typescript-eslint/no-require-imports */

function severity(s: Severity): Cdx.Enums.Vulnerability.Severity {
  const levels = cdx().Enums.Vulnerability.Severity;
  const bySeverity: Record<Severity, Cdx.Enums.Vulnerability.Severity> = {
    CRITICAL: levels.Critical,
    HIGH: levels.High,
    MEDIUM: levels.Medium,
    LOW: levels.Low,
    UNKNOWN: levels.Unknown,
  };
  return bySeverity[s];
}

function method(s: CvssScore): Cdx.Enums.Vulnerability.RatingMethod {
  const { Enums } = cdx();
  if (s.type === 'CVSS_V2') return Enums.Vulnerability.RatingMethod.CVSSv2;
  if (s.type === 'CVSS_V4') return Enums.Vulnerability.RatingMethod.CVSSv4;
  return s.version === '3.1' ? Enums.Vulnerability.RatingMethod.CVSSv31 : Enums.Vulnerability.RatingMethod.CVSSv3;
}

function component(pkg: InventoryPackage, bomRef: string): Cdx.Models.Component {
  const { Enums, Models } = cdx();
  const c = new Models.Component(Enums.ComponentType.Library, pkg.name, {
    bomRef,
    version: pkg.type === 'rpm' && pkg.release ? `${pkg.version}-${pkg.release}` : pkg.version,
  });
  if (pkg.purl) c.purl = pkg.purl as unknown as NonNullable<Cdx.Models.Component['purl']>;
  const props: [string, string | undefined][] = [
    ['strata:PkgType', pkg.type],
    ['strata:SrcName', pkg.srcName],
    ['strata:SrcVersion', pkg.srcVersion],
    ['strata:Arch', pkg.arch],
    ['strata:LayerDigest', pkg.layer.digest],
    ['strata:LayerDiffID', pkg.layer.diffId],
    ['strata:PkgPath', pkg.filePath ?? pkg.setPath],
  ];
  for (const note of pkg.notes ?? []) props.push(['strata:Note', note]);
  for (const [name, value] of props) if (value) c.properties.add(new Models.Property(name, value));
  for (const l of pkg.licenses ?? []) c.licenses.add(new Models.NamedLicense(l));
  return c;
}

export function toCycloneDxBom(report: ScanReport, opts: CycloneDxOptions = {}): Cdx.Models.Bom {
  const { Enums, Models } = cdx();
  const bom = new Models.Bom({ serialNumber: opts.serialNumber ?? `urn:uuid:${randomUUID()}` });
  bom.metadata.timestamp = opts.now ?? (report.createdAt ? new Date(report.createdAt) : new Date());
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, 'strata', { version: opts.toolVersion ?? '0.1.0' }));
  const image = new Models.Component(Enums.ComponentType.Container, report.artifactName, { bomRef: report.metadata.manifestDigest || report.artifactName });
  if (report.metadata.manifestDigest) image.version = report.metadata.manifestDigest;
  image.properties.add(new Models.Property('strata:ImageID', report.metadata.configDigest));
  for (const d of report.metadata.repoDigests) image.properties.add(new Models.Property('strata:RepoDigest', d));
  for (const t of report.metadata.repoTags) image.properties.add(new Models.Property('strata:RepoTag', t));
  const os = report.inventory.os;
  if (os) image.properties.add(new Models.Property('strata:OS', `${os.family} ${os.name}`));
  bom.metadata.component = image;
  const db = report.advisoryDb;
  if (db) {
    const dbProps: [string, string][] = [
      ['strata:AdvisoryDB', describeAdvisoryDb(db)],
      ['strata:AdvisoryDBPath', db.path],
      ['strata:AdvisoryDBKind', db.kind],
      ['strata:AdvisoryDBVersion', db.version],
      ['strata:AdvisoryDBRecords', String(db.records)],
    ];
    for (const [name, value] of dbProps) bom.metadata.properties.add(new Models.Property(name, value));
  }

  // One component per inventory package; bom-refs are unique even when a package repeats.
  const refOf = new Map<InventoryPackage, Cdx.Models.Component>();
  const used = new Set<string>();
  for (const r of reportResults(report)) {
    for (const pkg of r.packages) {
      let ref = pkg.purl || `${pkg.type}:${pkg.name}@${pkg.version}`;
      if (used.has(ref)) ref = `${ref}#${pkg.setPath}`;
      for (let n = 2; used.has(ref); n++) ref = `${ref}#${n}`;
      used.add(ref);
      const c = component(pkg, ref);
      refOf.set(pkg, c);
      bom.components.add(c);
      image.dependencies.add(c.bomRef);
    }
  }

  // One vulnerability per id, affecting every component it was found in.
  const byId = new Map<string, Finding[]>();
  for (const f of report.findings) byId.set(f.vulnerabilityId, [...(byId.get(f.vulnerabilityId) ?? []), f]);
  for (const [id, findings] of [...byId].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const f = findings[0] as Finding;
    const source = new Models.Vulnerability.Source({ name: f.dataSource.name, url: f.primaryUrl });
    const v = new Models.Vulnerability.Vulnerability({
      bomRef: `vuln:${id}`,
      id,
      source,
      description: f.title || undefined,
      detail: f.description || undefined,
    });
    if (f.publishedDate) v.published = new Date(f.publishedDate);
    if (f.lastModifiedDate) v.updated = new Date(f.lastModifiedDate);
    const fixes = [...new Set(findings.filter((x) => x.fixedVersion).map((x) => `${x.pkgName} ${x.fixedVersion}`))];
    if (fixes.length > 0) v.recommendation = `Upgrade to a fixed version: ${fixes.join('; ')}`;
    if (f.severitySource === 'vendor' && f.vendorSeverity) {
      v.ratings.add(
        new Models.Vulnerability.Rating({
          severity: severity(f.severity),
          method: Enums.Vulnerability.RatingMethod.Other,
          source: new Models.Vulnerability.Source({ name: f.vendorSeverity.vendor }),
          justification: `${f.vendorSeverity.vendor} rating "${f.vendorSeverity.rating}"`,
        }),
      );
    }
    for (const s of f.cvss) {
      v.ratings.add(
        new Models.Vulnerability.Rating({
          score: s.score,
          severity: severity(s.severity),
          method: method(s),
          vector: s.vector,
          source: new Models.Vulnerability.Source({ name: s.source }),
        }),
      );
    }
    if (v.ratings.size === 0)
      v.ratings.add(new Models.Vulnerability.Rating({ severity: severity(f.severity), method: Enums.Vulnerability.RatingMethod.Other }));
    for (const vendorId of f.vendorIds) {
      if (vendorId !== id)
        v.references.add(
          new Models.Vulnerability.Reference(vendorId, new Models.Vulnerability.Source({ name: 'OSV', url: `https://osv.dev/vulnerability/${vendorId}` })),
        );
    }
    for (const url of f.references) {
      try {
        v.advisories.add(new Models.Vulnerability.Advisory(new URL(url).toString()));
      } catch {
        // not a URL: left out rather than making the BOM invalid
      }
    }
    for (const x of findings) {
      const c = refOf.get(x.pkg) ?? [...refOf].find(([p]) => p.name === x.pkg.name && p.version === x.pkg.version && p.setPath === x.pkg.setPath)?.[1];
      if (!c) continue;
      v.affects.add(
        new Models.Vulnerability.Affect(c.bomRef, {
          versions: new Models.Vulnerability.AffectedVersionRepository([
            new Models.Vulnerability.AffectedSingleVersion(x.installedVersion, { status: Enums.Vulnerability.AffectStatus.Affected }),
          ]),
        }),
      );
    }
    bom.vulnerabilities.add(v);
  }
  return bom;
}

export function renderCycloneDx(report: ScanReport, opts: CycloneDxOptions = {}): string {
  const { Serialize, Spec } = cdx();
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  return serializer.serialize(toCycloneDxBom(report, opts), { sortLists: true, space: 2 }) + '\n';
}

/** The library's own strict JSON-schema validation for CycloneDX 1.6; null when valid. */
export async function validateCycloneDx(json: string): Promise<unknown> {
  const { Spec } = cdx();
  const Validation = requireCjs('@cyclonedx/cyclonedx-library/Validation') as typeof Cdx.Validation;
  return new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(json);
}
