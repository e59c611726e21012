// The registry overview from memory: every image (repository, index) and its findings state as
// packed numbers (vulnerability, severity, fixable), loaded once from the findings DB and kept up
// to date by re-reading the images whose row changed since the last look (a new image, a scan, a
// re-match all touch image_manifests.updated_at). An overview — totals, the most widespread
// vulnerabilities, the repositories with most critical findings, under any repository glob,
// severities and fixed-only — is then one pass over ~10 numbers per finding, not an aggregate
// over every finding row in PostgreSQL.
import type pg from 'pg';
import type { Logger } from '@strata/log';
import type { AppliedFilters, OverviewResponse, RepositorySummary, Severity, SeverityCounts, VulnerabilitySummary } from './api.js';
import { SEVERITIES } from './http.js';
import { globMatcher } from './live.js';

type Overview = Omit<OverviewResponse, 'filters' | 'asOf'>;
const KEYS: readonly (keyof SeverityCounts)[] = ['critical', 'high', 'medium', 'low', 'unknown'];

interface Image {
  repository: number;
  /** index digest, else the manifest digest: what counts as one image */
  group: number;
  /** vulnerability << 4 | severity rank (0 critical … 4 unknown) << 1 | fixable */
  findings: Uint32Array;
  /** the fixed version of each finding (interned; 0 = none) */
  fixed: Uint32Array;
}

export interface SummaryOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Changes are looked for at most this often (per request that needs the summary). Default 2000 ms. */
  refreshMs?: number;
  /** A full reload (images deleted from the DB drop out) this often. Default 15 min. */
  reloadMs?: number;
}

const LOAD_BATCH = 5_000;
/** Rows written by transactions that committed after the last look can carry an older updated_at: look back this far. */
const LOOK_BACK_MS = 30_000;

export class FindingsSummary {
  private images = new Map<string, Image>();
  private strings = new Map<string, number>([['', 0]]);
  private names: string[] = [''];
  private globCache = new Map<string, { version: number; match: Set<string> }>();
  private version = 0;
  private loaded: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private lastLook = 0;
  private since: Date | undefined;
  private loadedAt = 0;

  constructor(private readonly options: SummaryOptions) {}

  /** Starts the first load (in the background); resolves when it is done. */
  load(): Promise<void> {
    this.loaded ??= this.reload().catch((error: unknown) => {
      this.loaded = undefined;
      throw error;
    });
    return this.loaded;
  }

  get ready(): boolean {
    return this.loadedAt > 0;
  }

  private intern(value: string): number {
    let id = this.strings.get(value);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(value);
      this.strings.set(value, id);
    }
    return id;
  }

  /** Reads the findings of `digests` (image rows with them) into `into`. */
  private async readImages(digests: readonly string[] | undefined, after: string | undefined, into: Map<string, Image>): Promise<string | undefined> {
    const { rows } = await this.options.pool.query<{ manifest_digest: string; repository: string; grp: string; findings: string | null }>(
      `select m.manifest_digest, m.repository, coalesce(m.index_digest, m.manifest_digest) as grp,
              (select string_agg(f.vulnerability_id || chr(1) || f.severity || chr(1) || f.fixed_version, chr(2))
                 from strata.image_findings f where f.manifest_digest = m.manifest_digest) as findings
       from strata.image_manifests m
       where ${digests ? 'm.manifest_digest = any($1::text[])' : after === undefined ? 'true' : 'm.manifest_digest > $1'}
       order by m.manifest_digest ${digests ? '' : `limit ${LOAD_BATCH}`}`,
      digests ? [digests] : after === undefined ? [] : [after],
    );
    for (const r of rows) {
      const parts = r.findings ? r.findings.split('\u0002') : [];
      const findings = new Uint32Array(parts.length);
      const fixed = new Uint32Array(parts.length);
      parts.forEach((part, i) => {
        const [id, severity, fixedVersion] = part.split('\u0001');
        const rank = Math.max(0, SEVERITIES.indexOf(severity as Severity));
        findings[i] = (this.intern(id ?? '') << 4) | (rank << 1) | (fixedVersion ? 1 : 0);
        fixed[i] = this.intern(fixedVersion ?? '');
      });
      into.set(r.manifest_digest, { repository: this.intern(r.repository), group: this.intern(r.grp), findings, fixed });
    }
    return rows.at(-1)?.manifest_digest;
  }

  private async reload(): Promise<void> {
    const started = Date.now();
    const since = new Date(started - LOOK_BACK_MS);
    const images = new Map<string, Image>();
    let after: string | undefined;
    for (;;) {
      const last = await this.readImages(undefined, after, images);
      if (last === undefined) break;
      after = last;
    }
    this.images = images;
    this.since = since;
    this.lastLook = started;
    this.loadedAt = Date.now();
    this.version++;
    this.options.logger.info({ images: images.size, ms: Date.now() - started }, 'console: findings summary loaded');
  }

  /** Something changed in the DB (a findings event arrived): the next fresh() looks again at once. */
  changed(): void {
    this.lastLook = 0;
  }

  /** Re-reads the images changed since the last look (at most every refreshMs); a full reload every reloadMs. */
  async fresh(): Promise<void> {
    await this.load();
    const now = Date.now();
    if (now - this.lastLook < (this.options.refreshMs ?? 2_000)) return;
    this.refreshing ??= (async () => {
      try {
        if (Date.now() - this.loadedAt > (this.options.reloadMs ?? 15 * 60_000)) return await this.reload();
        const started = Date.now();
        const { rows } = await this.options.pool.query<{ manifest_digest: string }>(
          'select manifest_digest from strata.image_manifests where updated_at >= $1',
          [this.since ?? new Date(0)],
        );
        if (rows.length > 0) {
          const digests = rows.map((r) => r.manifest_digest);
          for (let i = 0; i < digests.length; i += LOAD_BATCH) await this.readImages(digests.slice(i, i + LOAD_BATCH), undefined, this.images);
          this.version++;
        }
        this.since = new Date(started - LOOK_BACK_MS);
        this.lastLook = started;
      } finally {
        this.refreshing = undefined;
      }
    })();
    await this.refreshing;
  }

  private matching(glob: string | undefined): Set<string> | undefined {
    if (!glob) return undefined;
    const cached = this.globCache.get(glob);
    if (cached && cached.version === this.version) return cached.match;
    const matches = globMatcher(glob);
    const repos = new Set<number>();
    const tested = new Map<number, boolean>();
    for (const image of this.images.values()) {
      let ok = tested.get(image.repository);
      if (ok === undefined) tested.set(image.repository, (ok = matches(this.names[image.repository] ?? '')));
      if (ok) repos.add(image.repository);
    }
    const match = new Set([...repos].map((r) => this.names[r] as string));
    this.globCache.set(glob, { version: this.version, match });
    while (this.globCache.size > 32) this.globCache.delete(this.globCache.keys().next().value as string);
    return match;
  }

  /** The overview under `f`, as ConsoleQueries.overview answers it from SQL. */
  overview(f: AppliedFilters): Overview {
    const repos = this.matching(f.repo);
    const wanted = [0, 1, 2, 3, 4].map((r) => f.severities.length === 0 || f.severities.includes(SEVERITIES[r] as Severity));
    const size = this.names.length;
    // per interned id: repositories' counts and platforms, vulnerabilities' platforms/findings/worst/fixable
    const repoCounts = new Int32Array(size * 5);
    const repoPlatforms = new Int32Array(size);
    const repoList: number[] = [];
    const vulnPlatforms = new Int32Array(size);
    const vulnFindings = new Int32Array(size);
    const vulnWorst = new Uint8Array(size).fill(9);
    const vulnFixable = new Uint8Array(size);
    const vulnLast = new Int32Array(size);
    const vulnList: number[] = [];
    const findings = [0, 0, 0, 0, 0];
    const worst = [0, 0, 0, 0, 0];
    const groupSeen = new Uint8Array(size);
    const repoTotal = new Int32Array(size);
    let groups = 0;
    let platforms = 0;
    for (const image of this.images.values()) {
      if (repos && !repos.has(this.names[image.repository] as string)) continue;
      platforms++;
      if (groupSeen[image.group] === 0) {
        groupSeen[image.group] = 1;
        groups++;
      }
      const repo = image.repository;
      if (repoPlatforms[repo] === 0) repoList.push(repo);
      repoPlatforms[repo] = (repoPlatforms[repo] as number) + 1;
      let imageWorst = 5;
      for (const packed of image.findings) {
        const rank = (packed >> 1) & 7;
        if (!wanted[rank] || (f.fixedOnly && (packed & 1) === 0)) continue;
        findings[rank] = (findings[rank] as number) + 1;
        repoCounts[repo * 5 + rank] = (repoCounts[repo * 5 + rank] as number) + 1;
        repoTotal[repo] = (repoTotal[repo] as number) + 1;
        if (rank < imageWorst) imageWorst = rank;
        const vuln = packed >>> 4;
        if (vulnFindings[vuln] === 0) vulnList.push(vuln);
        vulnFindings[vuln] = (vulnFindings[vuln] as number) + 1;
        if (rank < (vulnWorst[vuln] as number)) vulnWorst[vuln] = rank;
        if (packed & 1) vulnFixable[vuln] = 1;
        if (vulnLast[vuln] !== platforms) {
          vulnLast[vuln] = platforms;
          vulnPlatforms[vuln] = (vulnPlatforms[vuln] as number) + 1;
        }
      }
      if (imageWorst < 5) worst[imageWorst] = (worst[imageWorst] as number) + 1;
    }
    const byName = (a: number, b: number) => {
      const x = this.names[a] as string;
      const y = this.names[b] as string;
      return x < y ? -1 : x > y ? 1 : 0;
    };
    const topVulns = topK(
      vulnList,
      10,
      (a, b) => (vulnPlatforms[b] as number) - (vulnPlatforms[a] as number) || (vulnFindings[b] as number) - (vulnFindings[a] as number) || byName(a, b),
    );
    const repoOrder = (a: number, b: number) => {
      for (let r = 0; r < 5; r++) {
        const d = (repoCounts[b * 5 + r] as number) - (repoCounts[a * 5 + r] as number);
        if (d !== 0) return d;
      }
      return byName(a, b);
    };
    const withFindings = repoList.filter((r) => (repoTotal[r] as number) > 0);
    const counts = (xs: ArrayLike<number>): SeverityCounts => Object.fromEntries(KEYS.map((k, i) => [k, xs[i] ?? 0])) as unknown as SeverityCounts;
    return {
      images: groups,
      platforms,
      repositories: repoList.length,
      findings: counts(findings),
      platformsByWorstSeverity: counts(worst),
      topVulnerabilities: topVulns.map(
        (v): VulnerabilitySummary => ({
          vulnerabilityId: this.names[v] as string,
          severity: SEVERITIES[vulnWorst[v] as number] as Severity,
          platforms: vulnPlatforms[v] as number,
          findings: vulnFindings[v] as number,
          fixable: vulnFixable[v] === 1,
        }),
      ),
      topRepositories: topK(withFindings, 10, repoOrder).map(
        (r): RepositorySummary => ({
          repository: this.names[r] as string,
          platforms: repoPlatforms[r] as number,
          counts: counts(repoCounts.subarray(r * 5, r * 5 + 5)),
        }),
      ),
    };
  }

  /** Platforms holding any of `ids`, the worst severity and every fixed version (the vulnerability page's totals). */
  vulnerability(ids: readonly string[]): { totalPlatforms: number; severity?: Severity; fixedVersions: string[] } {
    const wanted = new Set(ids.map((id) => this.strings.get(id)).filter((n): n is number => n !== undefined));
    let platforms = 0;
    let worst = 9;
    const fixed = new Set<number>();
    if (wanted.size > 0)
      for (const image of this.images.values()) {
        let holds = false;
        const list = image.findings;
        for (let i = 0; i < list.length; i++) {
          const packed = list[i] as number;
          if (!wanted.has(packed >>> 4)) continue;
          holds = true;
          const rank = (packed >> 1) & 7;
          if (rank < worst) worst = rank;
          const v = image.fixed[i] as number;
          if (v !== 0) fixed.add(v);
        }
        if (holds) platforms++;
      }
    return {
      totalPlatforms: platforms,
      ...(worst < 5 ? { severity: SEVERITIES[worst] as Severity } : {}),
      fixedVersions: [...fixed].map((v) => this.names[v] as string).sort(),
    };
  }
}

/** The first k of `items` under `order`, without sorting them all. */
function topK(items: readonly number[], k: number, order: (a: number, b: number) => number): number[] {
  const top: number[] = [];
  for (const item of items) {
    if (top.length === k && order(item, top[k - 1] as number) >= 0) continue;
    let i = top.length === k ? k - 1 : top.length;
    if (top.length < k) top.push(item);
    while (i > 0 && order(item, top[i - 1] as number) < 0) {
      top[i] = top[i - 1] as number;
      i--;
    }
    top[i] = item;
  }
  return top;
}
