// `strata registry <host>`: one embedded pass over a registry — the watcher's crawl (globs, tags,
// digests by HEAD, every platform of an index), then the embedded scan of each image — printed as
// one summary row per image and platform, grouped under the index digest. No cursor: every run
// scans what the registry holds now; the layer cache in --cache-dir makes a rerun cheap.
import { resolve } from 'node:path';
import { advisoryLimitsFromEnv } from '@strata/advisories';
import { filterFindings } from '@strata/matcher';
import { formatPlatform, resolveCredentials } from '@strata/oci';
import { severityCounts, type SeverityCounts } from '@strata/model';
import { scanImage, type ScanOptions } from '@strata/pipeline';
import { describeAdvisoryDb, type AdvisoryDbInfo } from '@strata/report';
import {
  crawlRegistry,
  createRateLimiter,
  emptyCursor,
  expandDigests,
  planPass,
  targetReference,
  watcherClient,
  type ScanTarget,
} from '@strata/registry-crawl';
import { describeError } from '@strata/errors';
import { findingFilter, scanAdvisoryDir } from './scan-flags.js';
import { columnFormatter, shortDigest } from './columns.js';

export interface RegistryFlags {
  repo: string[];
  exclude: string[];
  format: 'table' | 'json';
  output?: string;
  severity?: string;
  ignoreUnfixed?: boolean;
  ignorefile?: string;
  exitCode: number;
  username?: string;
  password?: string;
  insecure?: boolean;
  cacheDir: string;
  db?: string;
  requestsPerSecond: number;
}

interface ScannedPlatform {
  reference: string;
  platform?: string;
  manifestDigest: string;
  counts?: SeverityCounts;
  vulnerabilities?: Array<{ id: string; pkgName: string; installedVersion: string; fixedVersion: string; severity: string }>;
  error?: string;
}

interface ImageSummary {
  repository: string;
  tags: string[];
  digest: string;
  /** other repository:tag names of this digest (or of its platform manifests): scanned once, here */
  alsoAt: string[];
  kind: 'manifest' | 'index';
  /** one entry for a manifest; one per platform for an index */
  platforms: ScannedPlatform[];
}

export interface RegistrySummary {
  registry: string;
  repositories: string[];
  images: ImageSummary[];
  total: SeverityCounts & { images: number; failed: number };
  /** repositories or tags that could not be read */
  problems: Array<{ repository?: string; tag?: string; reason: string }>;
  /** the advisory DB the images were matched with (unset when none was scanned) */
  advisoryDb?: AdvisoryDbInfo;
}

const SEVERITIES = ['unknown', 'low', 'medium', 'high', 'critical'] as const;
const totalOf = (c: SeverityCounts) => SEVERITIES.reduce((n, s) => n + c[s], 0);

export async function scanRegistry(host: string, flags: RegistryFlags, log: (line: string) => void): Promise<RegistrySummary> {
  const cacheDir = resolve(flags.cacheDir);
  const dbDir = scanAdvisoryDir(flags);
  const filter = findingFilter(flags);

  const credentials = await resolveCredentials(host, {
    ...(flags.username !== undefined ? { username: flags.username } : {}),
    ...(flags.password !== undefined ? { password: flags.password } : {}),
  });
  const client = watcherClient(host, {
    ...(credentials ? { credentials } : {}),
    ...(flags.insecure ? { insecure: true } : {}),
    limiter: createRateLimiter({ perSecond: flags.requestsPerSecond }),
  });
  const crawl = await crawlRegistry(host, { include: flags.repo, exclude: flags.exclude }, { pageSize: 1000 }, client);
  const plan = planPass(emptyCursor(host), crawl);
  const summary: RegistrySummary = {
    registry: host,
    repositories: crawl.repositories,
    images: [],
    total: { unknown: 0, low: 0, medium: 0, high: 0, critical: 0, images: 0, failed: 0 },
    problems: [...crawl.problems],
  };

  const scanOne = async (target: ScanTarget): Promise<ScannedPlatform> => {
    const reference = targetReference(host, target);
    const scanned: ScannedPlatform = { reference, manifestDigest: target.manifestDigest ?? target.digest };
    if (target.platform) scanned.platform = formatPlatform(target.platform);
    log(`scanning ${reference}${scanned.platform ? ` (${scanned.platform})` : ''}`);
    const options: ScanOptions = { cacheDir, dbDir, advisoryLimits: advisoryLimitsFromEnv(process.env) };
    if (scanned.platform) options.platform = scanned.platform;
    if (flags.username !== undefined) options.username = flags.username;
    if (flags.password !== undefined) options.password = flags.password;
    if (flags.insecure) options.insecure = true;
    try {
      const result = await scanImage(reference, options);
      const findings = filterFindings(result.findings, filter);
      scanned.manifestDigest = result.metadata.manifestDigest;
      summary.advisoryDb ??= result.advisoryDb;
      if (!scanned.platform && result.metadata.platform) scanned.platform = formatPlatform(result.metadata.platform);
      scanned.counts = severityCounts(findings);
      scanned.vulnerabilities = findings.map((f) => ({
        id: f.vulnerabilityId,
        pkgName: f.pkgName,
        installedVersion: f.installedVersion,
        fixedVersion: f.fixedVersion,
        severity: f.severity,
      }));
      for (const s of SEVERITIES) summary.total[s] += scanned.counts[s];
    } catch (error) {
      scanned.error = describeError(error);
      summary.total.failed++;
    }
    summary.total.images++;
    return scanned;
  };

  for await (const step of expandDigests(client, plan.fresh)) {
    const { found } = step;
    if (step.kind === 'covered') continue;
    if (step.kind === 'error') {
      summary.problems.push({ repository: found.repository, tag: found.tag, reason: step.reason });
      continue;
    }
    const isIndex = step.targets.some((t) => t.indexDigest !== undefined);
    const digests = new Set([found.digest, ...step.targets.flatMap((t) => (t.manifestDigest ? [t.manifestDigest] : []))]);
    const alsoAt = crawl.tags
      .filter((t) => digests.has(t.digest) && !(t.repository === found.repository && found.tags.includes(t.tag)))
      .map((t) => `${t.repository}:${t.tag}`);
    const image: ImageSummary = {
      repository: found.repository,
      tags: found.tags,
      digest: found.digest,
      alsoAt,
      kind: isIndex ? 'index' : 'manifest',
      platforms: [],
    };
    for (const target of step.targets) image.platforms.push(await scanOne(target));
    summary.images.push(image);
  }
  summary.images.sort((a, b) => a.repository.localeCompare(b.repository) || (a.tags[0] ?? '').localeCompare(b.tags[0] ?? ''));
  return summary;
}

export function renderRegistryTable(summary: RegistrySummary): string {
  const header = ['IMAGE', 'PLATFORM', 'DIGEST', 'UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
  const rows: string[][] = [];
  // printed under a row, outside the columns (so a long error does not widen them)
  const notes = new Map<number, string[]>();
  const note = (text: string) => notes.set(rows.length - 1, [...(notes.get(rows.length - 1) ?? []), text]);
  const platformRow = (first: string, p: ScannedPlatform) => {
    rows.push([
      first,
      p.platform ?? '',
      shortDigest(p.manifestDigest),
      ...(p.counts ? SEVERITIES.map((s) => String(p.counts![s])) : ['ERROR', '', '', '', '']),
    ]);
    if (p.error) note(`    error: ${p.error}`);
  };
  for (const image of summary.images) {
    const name = `${summary.registry}/${image.repository}:${image.tags.join(',')}`;
    if (image.kind === 'index') {
      rows.push([name, `index (${image.platforms.length} platforms)`, shortDigest(image.digest), '', '', '', '', '']);
      for (const p of image.platforms) platformRow('  └', p);
    } else {
      for (const p of image.platforms) platformRow(name, p);
    }
    if (image.alsoAt.length > 0) note(`  (also ${image.alsoAt.join(', ')})`);
  }
  const line = columnFormatter(header, rows);
  const t = summary.total;
  const out = [
    `${summary.registry}: ${summary.repositories.length} repositories, ${t.images} images`,
    ...(summary.advisoryDb ? [`Advisory DB: ${describeAdvisoryDb(summary.advisoryDb)}`] : []),
    '',
    line(header),
    ...rows.flatMap((row, i) => [line(row), ...(notes.get(i) ?? [])]),
    '',
    `Total: ${totalOf(t)} (UNKNOWN: ${t.unknown}, LOW: ${t.low}, MEDIUM: ${t.medium}, HIGH: ${t.high}, CRITICAL: ${t.critical}) in ${t.images} images${t.failed ? `; ${t.failed} could not be scanned` : ''}`,
  ];
  return `${out.join('\n')}\n`;
}

/** Scans, prints, and returns the exit code: 1 when an image or repository could not be read, else --exit-code when findings remain. */
export async function runRegistry(host: string, flags: RegistryFlags, write: (text: string) => void): Promise<number> {
  const summary = await scanRegistry(host, flags, (line) => {
    if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
  });
  for (const p of summary.problems) process.stderr.write(`WARN ${p.repository ?? host}${p.tag ? `:${p.tag}` : ''}: ${p.reason}\n`);
  for (const image of summary.images)
    for (const p of image.platforms) if (p.error) process.stderr.write(`ERROR ${p.reference}${p.platform ? ` (${p.platform})` : ''}: ${p.error}\n`);
  write(flags.format === 'json' ? `${JSON.stringify(summary, null, 2)}\n` : renderRegistryTable(summary));
  if (summary.total.failed > 0 || summary.problems.length > 0) return 1;
  return totalOf(summary.total) > 0 ? flags.exitCode : 0;
}
