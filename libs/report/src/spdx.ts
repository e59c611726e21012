// `--format spdx-json`: an SPDX 2.3 JSON document of the image: the image and its OS as packages,
// every installed package with its purl, source package and layer, relationships DESCRIBES /
// CONTAINS, and each package's vulnerabilities as SECURITY/advisory external references (SPDX 2.3
// has no vulnerability section). Licences go to `licenseComments`: the package managers' licence
// strings are often not SPDX expressions, and licenseDeclared must be one (so it is NOASSERTION).
import { createHash, randomUUID } from 'node:crypto';
import type { InventoryPackage } from '@strata/model';
import type { Finding } from '@strata/matcher';
import { describeAdvisoryDb, reportResults, type ScanReport } from './report.js';

export interface SpdxOptions {
  /** uuid in the document namespace; random by default */
  uuid?: string;
  toolVersion?: string;
  now?: Date;
}

type Json = Record<string, unknown>;

/** SPDX ids allow letters, digits, '.' and '-' only. */
const spdxId = (kind: string, key: string): string => `SPDXRef-${kind}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
const created = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function packageEntry(pkg: InventoryPackage, id: string, findings: Finding[], annotator: string, when: string): Json {
  const version = pkg.type === 'rpm' && pkg.release ? `${pkg.version}-${pkg.release}` : pkg.version;
  const externalRefs: Json[] = [];
  if (pkg.purl) externalRefs.push({ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: pkg.purl });
  for (const url of [...new Set(findings.map((f) => f.primaryUrl))].sort()) {
    externalRefs.push({ referenceCategory: 'SECURITY', referenceType: 'advisory', referenceLocator: url });
  }
  const entry: Json = {
    SPDXID: id,
    name: pkg.name,
    versionInfo: version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'LIBRARY',
    externalRefs,
    annotations: [
      {
        annotationDate: when,
        annotationType: 'OTHER',
        annotator,
        comment: `LayerDigest: ${pkg.layer.digest}; LayerDiffID: ${pkg.layer.diffId}; PkgPath: ${pkg.filePath ?? pkg.setPath}; PkgType: ${pkg.type}${pkg.notes && pkg.notes.length > 0 ? `; Notes: ${pkg.notes.join(' | ')}` : ''}`,
      },
    ],
  };
  if (pkg.srcName && (pkg.srcName !== pkg.name || pkg.srcVersion !== pkg.version))
    entry.sourceInfo = `built package from: ${pkg.srcName} ${pkg.srcVersion ?? ''}`.trim();
  if (pkg.licenses && pkg.licenses.length > 0) entry.licenseComments = `declared by the package manager: ${pkg.licenses.join(', ')}`;
  if (findings.length > 0) entry.comment = `vulnerabilities: ${[...new Set(findings.map((f) => `${f.vulnerabilityId} (${f.severity})`))].join(', ')}`;
  return entry;
}

export function toSpdx(report: ScanReport, opts: SpdxOptions = {}): Json {
  const now = opts.now ?? (report.createdAt ? new Date(report.createdAt) : new Date());
  const when = created(now);
  const tool = `Tool: strata-${opts.toolVersion ?? '0.1.0'}`;
  const m = report.metadata;
  const imageId = spdxId('ContainerImage', m.manifestDigest || report.artifactName);
  const image: Json = {
    SPDXID: imageId,
    name: report.artifactName,
    versionInfo: m.manifestDigest || 'NOASSERTION',
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'CONTAINER',
    comment: `ImageID: ${m.configDigest}; RepoDigests: ${m.repoDigests.join(', ') || 'none'}; RepoTags: ${m.repoTags.join(', ') || 'none'}`,
  };
  if (m.manifestDigest && /^sha256:[0-9a-f]{64}$/.test(m.manifestDigest)) {
    const repo = report.artifactName.replace(/[@:][^/]*$/, '');
    const name = repo.split('/').pop() || repo;
    image.externalRefs = [
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: `pkg:oci/${encodeURIComponent(name)}@${encodeURIComponent(m.manifestDigest)}`,
      },
    ];
  }
  const packages: Json[] = [image];
  const relationships: Json[] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId }];

  const os = report.inventory.os;
  let osId: string | undefined;
  if (os) {
    osId = spdxId('OperatingSystem', `${os.family} ${os.name}`);
    packages.push({
      SPDXID: osId,
      name: os.family,
      versionInfo: os.name,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'OPERATING_SYSTEM',
    });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: osId });
  }

  const findingsOf = new Map<InventoryPackage, Finding[]>();
  for (const f of report.findings) findingsOf.set(f.pkg, [...(findingsOf.get(f.pkg) ?? []), f]);
  const used = new Set<string>();
  for (const r of reportResults(report)) {
    for (const pkg of r.packages) {
      let id = spdxId('Package', `${pkg.type} ${pkg.name} ${pkg.version} ${pkg.setPath}`);
      for (let n = 2; used.has(id); n++) id = spdxId('Package', `${pkg.type} ${pkg.name} ${pkg.version} ${pkg.setPath} ${n}`);
      used.add(id);
      packages.push(packageEntry(pkg, id, findingsOf.get(pkg) ?? [], tool, when));
      const parent = r.class === 'os-pkgs' && osId ? osId : imageId;
      relationships.push({ spdxElementId: parent, relationshipType: 'CONTAINS', relatedSpdxElement: id });
    }
  }

  const slug = report.artifactName.replace(/[^A-Za-z0-9._-]+/g, '-');
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: report.artifactName,
    // A unique URI, not a location: the .invalid domain is reserved for exactly that.
    documentNamespace: `https://strata.invalid/spdx/container_image/${slug}-${opts.uuid ?? randomUUID()}`,
    creationInfo: {
      created: when,
      creators: [tool],
      licenseListVersion: '3.24',
      ...(report.advisoryDb ? { comment: `Advisory DB: ${describeAdvisoryDb(report.advisoryDb)}; version ${report.advisoryDb.version}` } : {}),
    },
    documentDescribes: [imageId],
    packages,
    relationships,
  };
}

export function renderSpdx(report: ScanReport, opts: SpdxOptions = {}): string {
  return JSON.stringify(toSpdx(report, opts), null, 2) + '\n';
}
