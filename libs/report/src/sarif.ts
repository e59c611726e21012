// `--format sarif`: SARIF 2.1.0 (OASIS), one rule per vulnerability id and one result per finding,
// located at the package database or manifest that lists the package. `security-severity` carries
// the CVSS score (or a stand-in per severity) so code-scanning UIs rank results.
import type { Severity } from '@strata/model';
import type { Finding } from '@strata/matcher';
import { reportResults, type ScanReport } from './report.js';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { CRITICAL: 'error', HIGH: 'error', MEDIUM: 'warning', LOW: 'note', UNKNOWN: 'note' };
// Midpoints of the CVSS bands, for findings without a score.
const STAND_IN_SCORE: Record<Severity, number> = { CRITICAL: 9.5, HIGH: 8.0, MEDIUM: 5.5, LOW: 2.0, UNKNOWN: 0.0 };

export interface SarifOptions {
  toolVersion?: string;
}

type Json = Record<string, unknown>;

const score = (f: Finding): number => f.cvss[0]?.score ?? STAND_IN_SCORE[f.severity];

function rule(f: Finding): Json {
  const text = f.title || f.vulnerabilityId;
  const help = [
    `Vulnerability ${f.vulnerabilityId}`,
    `Severity: ${f.severity} (${f.severitySource})`,
    `Package: ${f.pkgName}`,
    `Fixed version: ${f.fixedVersion || 'none yet'}`,
    `Link: ${f.primaryUrl}`,
  ];
  return {
    id: f.vulnerabilityId,
    name: f.targetClass === 'os-pkgs' ? 'OsPackageVulnerability' : 'LanguageSpecificPackageVulnerability',
    shortDescription: { text },
    fullDescription: { text: f.description || text },
    helpUri: f.primaryUrl,
    help: { text: help.join('\n'), markdown: `| | |\n|---|---|\n${help.map((l) => `| ${l.replace(': ', ' | ')} |`).join('\n')}` },
    defaultConfiguration: { level: LEVEL[f.severity] },
    properties: {
      precision: 'very-high',
      'security-severity': score(f).toFixed(1),
      tags: ['vulnerability', 'security', f.severity],
    },
  };
}

const uriOf = (path: string): string => path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');

export function toSarif(report: ScanReport, opts: SarifOptions = {}): Json {
  const rules: Json[] = [];
  const ruleIndex = new Map<string, number>();
  const results: Json[] = [];
  for (const r of reportResults(report)) {
    for (const f of r.findings) {
      let index = ruleIndex.get(f.vulnerabilityId);
      if (index === undefined) {
        index = rules.length;
        ruleIndex.set(f.vulnerabilityId, index);
        rules.push(rule(f));
      }
      const where = f.pkg.filePath ?? f.pkg.setPath;
      results.push({
        ruleId: f.vulnerabilityId,
        ruleIndex: index,
        level: LEVEL[f.severity],
        message: {
          text:
            `Package: ${f.pkgName}\nInstalled Version: ${f.installedVersion}\nVulnerability ${f.vulnerabilityId}\n` +
            `Severity: ${f.severity}\nFixed Version: ${f.fixedVersion}\nLink: [${f.vulnerabilityId}](${f.primaryUrl})`,
        },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: uriOf(where), uriBaseId: 'ROOTPATH' },
              region: { startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 },
            },
            message: { text: `${r.target}: ${f.pkgName}@${f.installedVersion}` },
          },
        ],
        partialFingerprints: { 'strata/finding': `${r.target}|${f.pkgId}|${f.vulnerabilityId}` },
        properties: { layer: f.layer.digest, diffId: f.layer.diffId, vendorIds: f.vendorIds, status: f.status },
      });
    }
  }
  return {
    version: '2.1.0',
    $schema: SARIF_SCHEMA_URI,
    runs: [
      {
        tool: {
          driver: {
            name: 'Strata',
            fullName: 'Strata container image vulnerability scanner',
            version: opts.toolVersion ?? '0.1.0',
            rules,
          },
        },
        results,
        columnKind: 'utf16CodeUnits',
        originalUriBaseIds: { ROOTPATH: { uri: 'file:///' } },
        properties: {
          imageName: report.artifactName,
          imageId: report.metadata.configDigest,
          repoDigests: report.metadata.repoDigests,
          repoTags: report.metadata.repoTags,
          ...(report.advisoryDb ? { advisoryDbVersion: report.advisoryDb.version, advisoryDb: report.advisoryDb } : {}),
        },
      },
    ],
  };
}

export function renderSarif(report: ScanReport, opts: SarifOptions = {}): string {
  return JSON.stringify(toSarif(report, opts), null, 2) + '\n';
}
