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
import { globRegExp } from './live.js';

type Overview = Omit<OverviewResponse, 'filters' | 'asOf'>;
const KEYS: readonly (keyof SeverityCounts)[] = ['critical', 'high', 'medium', 'low', 'unknown'];

interface Image {
  repository: number;
  /** index digest, else the manifest digest: what counts as one image */
  group: number;
  /** vulnerability << 4 | severity rank (0 critical … 4 unknown) << 1 | fixable */
  findings: Uint32Array;
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
  private strings = new Map<string, number>();
  private names: string[] = [];
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
              (select string_agg(f.vulnerability_id || chr(1) || f.severity || chr(1) || (f.fixed_version <> '')::int, chr(2))
                 from strata.image_findings f where f.manifest_digest = m.manifest_digest) as findings
       from strata.image_manifests m
       where ${digests ? 'm.manifest_digest = any($1::text[])' : after === undefined ? 'true' : 'm.manifest_digest > $1'}
       order by m.manifest_digest ${digests ? '' : `limit ${LOAD_BATCH}`}`,
      digests ? [digests] : after === undefined ? [] : [after],
    );
    for (const r of rows) {
      const parts = r.findings ? r.findings.split('\u0002') : [];
      const findings = new Uint32Array(parts.length);
      parts.forEach((part, i) => {
        const [id, severity, fixable] = part.split('\u0001');
        const rank = Math.max(0, SEVERITIES.indexOf(severity as Severity));
        findings[i] = (this.intern(id ?? '') << 4) | (rank << 1) | (fixable === '1' ? 1 : 0);
      });
      into.set(r.manifest_digest, { repository: this.intern(r.repository), group: this.intern(r.grp), findings });
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
    const re = globRegExp(glob);
    const repos = new Set<number>();
    const tested = new Map<number, boolean>();
    for (const image of this.images.values()) {
      let ok = tested.get(image.repository);
      if (ok === undefined) tested.set(image.repository, (ok = re.test(this.names[image.repository] ?? '')));
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
    const wanted = [true, true, true, true, true];
    if (f.severities.length > 0) for (let r = 0; r < 5; r++) wanted[r] = f.severities.includes(SEVERITIES[r] as Severity);
    const findings = [0, 0, 0, 0, 0];
    const worst = [0, 0, 0, 0, 0];
    const groups = new Set<number>();
    const repoStats = new Map<number, { platforms: number; counts: number[] }>();
    const vulnPlatforms = new Map<number, { platforms: number; findings: number; worst: number; fixable: boolean; lastImage: number }>();
    let platforms = 0;
    let imageNo = 0;
    for (const image of this.images.values()) {
      if (repos && !repos.has(this.names[image.repository] as string)) continue;
      imageNo++;
      platforms++;
      groups.add(image.group);
      let stats = repoStats.get(image.repository);
      if (!stats) repoStats.set(image.repository, (stats = { platforms: 0, counts: [0, 0, 0, 0, 0] }));
      stats.platforms++;
      let imageWorst = 5;
      for (const packed of image.findings) {
        const rank = (packed >> 1) & 7;
        if (!wanted[rank] || (f.fixedOnly && (packed & 1) === 0)) continue;
        findings[rank] = (findings[rank] ?? 0) + 1;
        (stats.counts[rank] as number)++;
        if (rank < imageWorst) imageWorst = rank;
        const vuln = packed >>> 4;
        let v = vulnPlatforms.get(vuln);
        if (!v) vulnPlatforms.set(vuln, (v = { platforms: 0, findings: 0, worst: rank, fixable: false, lastImage: 0 }));
        v.findings++;
        if (rank < v.worst) v.worst = rank;
        if (packed & 1) v.fixable = true;
        if (v.lastImage !== imageNo) {
          v.lastImage = imageNo;
          v.platforms++;
        }
      }
      if (imageWorst < 5) worst[imageWorst] = (worst[imageWorst] ?? 0) + 1;
    }
    const counts = (xs: number[]): SeverityCounts => Object.fromEntries(KEYS.map((k, i) => [k, xs[i] ?? 0])) as unknown as SeverityCounts;
    const byName = (a: number, b: number) => {
      const x = this.names[a] as string;
      const y = this.names[b] as string;
      return x < y ? -1 : x > y ? 1 : 0;
    };
    const topVulnerabilities: VulnerabilitySummary[] = [...vulnPlatforms.entries()]
      .sort(([a, x], [b, y]) => y.platforms - x.platforms || y.findings - x.findings || byName(a, b))
      .slice(0, 10)
      .map(([id, v]) => ({
        vulnerabilityId: this.names[id] as string,
        severity: SEVERITIES[v.worst] as Severity,
        platforms: v.platforms,
        findings: v.findings,
        fixable: v.fixable,
      }));
    const topRepositories: RepositorySummary[] = [...repoStats.entries()]
      .filter(([, s]) => s.counts.some((n) => n > 0))
      .sort(([a, x], [b, y]) => {
        for (let r = 0; r < 5; r++) if ((y.counts[r] as number) !== (x.counts[r] as number)) return (y.counts[r] as number) - (x.counts[r] as number);
        return byName(a, b);
      })
      .slice(0, 10)
      .map(([repo, s]) => ({ repository: this.names[repo] as string, platforms: s.platforms, counts: counts(s.counts) }));
    return {
      images: groups.size,
      platforms,
      repositories: repoStats.size,
      findings: counts(findings),
      platformsByWorstSeverity: counts(worst),
      topVulnerabilities,
      topRepositories,
    };
  }
}
