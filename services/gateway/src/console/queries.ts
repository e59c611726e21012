// The console's read queries over the findings DB (docs/findings-db.md, docs/console.md). Every
// list is a keyset page; counts come from strata.image_counts (kept by triggers, migration 3) so
// no page aggregates every finding of the registry.
import type pg from 'pg';
import type {
  AffectedImageRow,
  AffectedPackageRow,
  AppliedFilters,
  FindingRow,
  ImageSummary,
  OverviewResponse,
  PackageRow,
  Page,
  RepositorySummary,
  ScanInfo,
  Severity,
  SeverityCounts,
  TrendPoint,
  VulnerabilitySummary,
} from './api.js';
import { decodeCursor, encodeCursor, globToLike, SEVERITIES } from './http.js';

const COLUMN: Record<Severity, keyof SeverityCounts> = { CRITICAL: 'critical', HIGH: 'high', MEDIUM: 'medium', LOW: 'low', UNKNOWN: 'unknown' };
const COUNT_KEYS: readonly (keyof SeverityCounts)[] = ['critical', 'high', 'medium', 'low', 'unknown'];
const zero = (): SeverityCounts => ({ critical: 0, high: 0, medium: 0, low: 0, unknown: 0 });

/** Builds `$n` placeholders while collecting their values. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** The image_counts column (alias c) counted for a severity under the filters, or '0' when the filters leave it out. */
function countExpr(f: AppliedFilters, severity: Severity, alias = 'c'): string {
  if (f.severities.length > 0 && !f.severities.includes(severity)) return '0';
  return `${alias}.${f.fixedOnly ? 'fixable_' : ''}${COLUMN[severity]}`;
}
const selectedTotal = (f: AppliedFilters): string => SEVERITIES.map((s) => countExpr(f, s)).join(' + ');
const narrowsFindings = (f: AppliedFilters): boolean => f.severities.length > 0 || f.fixedOnly;

/** where-clauses of the filters on image_manifests m / image_counts c. */
function imageWhere(f: AppliedFilters, p: Params, options: { requireFindings: boolean }): string[] {
  const where: string[] = [];
  if (f.repo) where.push(`m.repository like ${p.add(globToLike(f.repo))} escape '\\'`);
  if (options.requireFindings && narrowsFindings(f)) where.push(`(${selectedTotal(f)}) > 0`);
  return where;
}
const whereSql = (clauses: string[]): string => (clauses.length > 0 ? `where ${clauses.join(' and ')}` : '');

/** where-clauses on findings rows (alias f) for the filters' severities and fixed-only. */
function findingWhere(f: AppliedFilters, p: Params, alias = 'f'): string[] {
  const where: string[] = [];
  if (f.severities.length > 0) where.push(`${alias}.severity = any(${p.add(f.severities)}::text[])`);
  if (f.fixedOnly) where.push(`${alias}.fixed_version <> ''`);
  return where;
}

/** Every image (m) with its postings: layer (l), package (p), path (pa), through the chunks its inventory is made of. */
const IMAGE_POSTINGS = `strata.image_manifests m
  join strata.inventory_chunks ic on ic.inventory_digest = m.inventory_digest
  join strata.chunks ch on ch.chunk_id = ic.chunk_id
  join strata.layers l on l.layer_id = ch.layer_id
  join strata.chunk_packages cp on cp.chunk_id = ic.chunk_id
  join strata.packages p on p.package_id = cp.package_id
  join strata.paths pa on pa.path_id = cp.path_id`;

/** A page of `limit` rows from a query that read `limit + 1`: the extra row says there is a next page, whose cursor is the last row's key. */
function keysetPage<Row, Item>(rows: Row[], limit: number, item: (row: Row) => Item, key: (row: Row) => readonly (string | number)[]): Page<Item> {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(item), ...(rows.length > limit && last !== undefined ? { nextCursor: encodeCursor(key(last)) } : {}) };
}

const iso = (value: Date | string): string => (value instanceof Date ? value.toISOString() : new Date(value).toISOString());
const num = (value: unknown): number => Number(value ?? 0);

interface ImageListRow {
  manifest_digest: string;
  image_ref: string;
  repository: string;
  index_digest: string | null;
  os: string;
  architecture: string;
  variant: string;
  advisory_db_version: string | null;
  first_seen_at: Date;
  updated_at: Date;
  packages: number;
  critical: number;
  high: number;
  medium: number;
  low: number;
  unknown: number;
}

const IMAGE_SELECT = (f: AppliedFilters): string => `
  m.manifest_digest, m.image_ref, m.repository, m.index_digest, m.os, m.architecture, m.variant, m.advisory_db_version,
  m.first_seen_at, m.updated_at, coalesce(i.package_count, 0) as packages,
  ${SEVERITIES.map((s) => `${countExpr(f, s)} as ${COLUMN[s]}`).join(', ')}`;
const IMAGE_FROM = `strata.image_manifests m
  join strata.image_counts c on c.manifest_digest = m.manifest_digest
  left join strata.inventories i on i.inventory_digest = m.inventory_digest`;

function imageSummary(r: ImageListRow): ImageSummary {
  return {
    manifestDigest: r.manifest_digest,
    imageRef: r.image_ref,
    repository: r.repository,
    ...(r.index_digest ? { indexDigest: r.index_digest } : {}),
    ...(r.os || r.architecture ? { platform: { os: r.os, architecture: r.architecture, ...(r.variant ? { variant: r.variant } : {}) } } : {}),
    packages: num(r.packages),
    counts: { critical: num(r.critical), high: num(r.high), medium: num(r.medium), low: num(r.low), unknown: num(r.unknown) },
    ...(r.advisory_db_version ? { advisoryDbVersion: r.advisory_db_version } : {}),
    firstSeenAt: iso(r.first_seen_at),
    updatedAt: iso(r.updated_at),
  };
}

const ALL: AppliedFilters = { severities: [], fixedOnly: false };
const severityRank = (alias: string): string => `array_position(array['CRITICAL','HIGH','MEDIUM','LOW','UNKNOWN']::text[], ${alias}.severity)`;

export interface Location {
  path: string;
  layerDigest: string;
  layerDiffId: string;
  createdBy: string;
}

export class ConsoleQueries {
  constructor(private readonly pool: pg.Pool) {}

  async overview(f: AppliedFilters): Promise<Omit<OverviewResponse, 'filters' | 'asOf'>> {
    const p = new Params();
    const where = whereSql(imageWhere(f, p, { requireFindings: false }));
    const worst = SEVERITIES.map((s) => `when ${countExpr(f, s)} > 0 then '${s}'`).join(' ');
    const totals = this.pool.query<Record<string, string>>(
      `select count(*) as platforms, count(distinct coalesce(m.index_digest, m.manifest_digest)) as images, count(distinct m.repository) as repositories,
         ${SEVERITIES.map((s) => `coalesce(sum(${countExpr(f, s)}), 0) as f_${COLUMN[s]}`).join(', ')},
         ${SEVERITIES.map((s) => `count(*) filter (where w.worst = '${s}') as w_${COLUMN[s]}`).join(', ')}
       from strata.image_manifests m join strata.image_counts c on c.manifest_digest = m.manifest_digest
       cross join lateral (select case ${worst} end as worst) w
       ${where}`,
      p.values,
    );
    const rp = new Params();
    const repos = this.pool.query<Record<string, string>>(
      `select m.repository, count(*) as platforms, ${SEVERITIES.map((s) => `sum(${countExpr(f, s)}) as ${COLUMN[s]}`).join(', ')}
       from strata.image_manifests m join strata.image_counts c on c.manifest_digest = m.manifest_digest
       ${whereSql(imageWhere(f, rp, { requireFindings: false }))}
       group by m.repository
       having sum(${selectedTotal(f)}) > 0
       order by ${SEVERITIES.map((s) => `sum(${countExpr(f, s)}) desc`).join(', ')}, m.repository collate "C"
       limit 10`,
      rp.values,
    );
    const vp = new Params();
    const vulnWhere = [...findingWhere(f, vp)];
    const join = f.repo ? 'join strata.image_manifests m on m.manifest_digest = f.manifest_digest' : '';
    if (f.repo) vulnWhere.push(`m.repository like ${vp.add(globToLike(f.repo))} escape '\\'`);
    const vulns = this.pool.query<{ vulnerability_id: string; platforms: string; findings: string; worst: number; fixable: boolean }>(
      `select f.vulnerability_id, count(distinct f.manifest_digest) as platforms, count(*) as findings,
              min(${severityRank('f')}) as worst, bool_or(f.fixed_version <> '') as fixable
       from strata.image_findings f ${join}
       ${whereSql(vulnWhere)}
       group by f.vulnerability_id
       order by platforms desc, findings desc, f.vulnerability_id collate "C"
       limit 10`,
      vp.values,
    );
    const [t, r, v] = await Promise.all([totals, repos, vulns]);
    const row = t.rows[0] ?? {};
    const counts = (prefix: string, source: Record<string, string>): SeverityCounts =>
      Object.fromEntries(COUNT_KEYS.map((k) => [k, num(source[`${prefix}${k}`])])) as unknown as SeverityCounts;
    return {
      images: num(row.images),
      platforms: num(row.platforms),
      repositories: num(row.repositories),
      findings: counts('f_', row),
      platformsByWorstSeverity: counts('w_', row),
      topRepositories: r.rows.map((x): RepositorySummary => ({ repository: x.repository as string, platforms: num(x.platforms), counts: counts('', x) })),
      topVulnerabilities: v.rows.map(
        (x): VulnerabilitySummary => ({
          vulnerabilityId: x.vulnerability_id,
          severity: SEVERITIES[num(x.worst) - 1] ?? 'UNKNOWN',
          platforms: num(x.platforms),
          findings: num(x.findings),
          fixable: x.fixable,
        }),
      ),
    };
  }

  /** Open findings at the end of each of the last `days` UTC days (today last), from the net of every findings change. */
  async trend(f: AppliedFilters, days: number, now = new Date()): Promise<TrendPoint[]> {
    const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const first = new Date(today.getTime() - (days - 1) * 86_400_000);
    const p = new Params();
    const where: string[] = [];
    if (f.repo) where.push(`m.repository like ${p.add(globToLike(f.repo))} escape '\\'`);
    // date_bin on the timestamp: a per-row text or time-zone conversion costs 3x the whole sum
    const { rows } = await this.pool.query<Record<string, string> & { day: Date }>(
      `select date_bin('1 day', n.recorded_at, timestamptz '2000-01-01 00:00:00+00') as day,
              ${SEVERITIES.map((s) => `sum(${countExpr(f, s, 'n')}) as ${COLUMN[s]}`).join(', ')}
       from strata.findings_change_net n
       ${f.repo ? 'join strata.image_manifests m on m.manifest_digest = n.manifest_digest' : ''}
       ${whereSql(where)}
       group by 1`,
      p.values,
    );
    // days before the first point add up into it; days after today (clock skew) into today
    const firstDay = first.toISOString().slice(0, 10);
    const lastDay = today.toISOString().slice(0, 10);
    const net = new Map<string, SeverityCounts>();
    for (const r of rows) {
      const raw = new Date(r.day).toISOString().slice(0, 10);
      const day = raw < firstDay ? firstDay : raw > lastDay ? lastDay : raw;
      const into = net.get(day) ?? zero();
      for (const k of COUNT_KEYS) into[k] += num(r[k]);
      net.set(day, into);
    }
    const open = zero();
    const points: TrendPoint[] = [];
    for (let d = first.getTime(); d <= today.getTime(); d += 86_400_000) {
      const day = new Date(d).toISOString().slice(0, 10);
      const change = net.get(day);
      if (change) for (const k of COUNT_KEYS) open[k] += change[k];
      points.push({ day, open: { ...open } });
    }
    return points;
  }

  async images(f: AppliedFilters, sort: 'name' | 'risk', limit: number, rawCursor: string | undefined): Promise<Page<ImageSummary>> {
    const p = new Params();
    const where = imageWhere(f, p, { requireFindings: true });
    let order: string;
    let key: (r: ImageListRow) => (string | number)[];
    if (sort === 'name') {
      const cursor = decodeCursor(rawCursor, 'sss');
      if (cursor) where.push(`(m.repository, m.image_ref, m.manifest_digest) > (${p.add(cursor[0])}, ${p.add(cursor[1])}, ${p.add(cursor[2])})`);
      order = 'm.repository, m.image_ref, m.manifest_digest';
      key = (r) => [r.repository, r.image_ref, r.manifest_digest];
    } else {
      const exprs = SEVERITIES.map((s) => countExpr(f, s));
      const cursor = decodeCursor(rawCursor, 'nnnnns');
      if (cursor)
        where.push(
          `(${exprs.map((e) => (e === '0' ? '0::integer' : e)).join(', ')}, c.manifest_digest) < (${cursor.map((v, i) => `${p.add(v)}${i < 5 ? '::integer' : ''}`).join(', ')})`,
        );
      // (a severity the filters leave out is the constant 0: no ORDER BY term, which would read as a position)
      order = [...exprs.filter((e) => e !== '0').map((e) => `${e} desc`), 'c.manifest_digest desc'].join(', ');
      key = (r) => [num(r.critical), num(r.high), num(r.medium), num(r.low), num(r.unknown), r.manifest_digest];
    }
    const { rows } = await this.pool.query<ImageListRow>(
      `select ${IMAGE_SELECT(f)} from ${IMAGE_FROM} ${whereSql(where)} order by ${order} limit ${p.add(limit + 1)}`,
      p.values,
    );
    return keysetPage(rows, limit, imageSummary, key);
  }

  async image(manifestDigest: string): Promise<(ImageSummary & { inventoryDigest?: string }) | undefined> {
    const { rows } = await this.pool.query<ImageListRow & { inventory_digest: string | null }>(
      `select ${IMAGE_SELECT(ALL)}, m.inventory_digest from ${IMAGE_FROM} where m.manifest_digest = $1`,
      [manifestDigest],
    );
    const row = rows[0];
    return row ? { ...imageSummary(row), ...(row.inventory_digest ? { inventoryDigest: row.inventory_digest } : {}) } : undefined;
  }

  async refs(manifestDigest: string): Promise<{ imageRef: string; lastSeenAt: string }[]> {
    const { rows } = await this.pool.query<{ image_ref: string; last_seen_at: Date }>(
      'select image_ref, last_seen_at from strata.image_refs where manifest_digest = $1 order by last_seen_at desc, image_ref limit 100',
      [manifestDigest],
    );
    return rows.map((r) => ({ imageRef: r.image_ref, lastSeenAt: iso(r.last_seen_at) }));
  }

  async platforms(image: ImageSummary): Promise<ImageSummary[]> {
    if (!image.indexDigest) return [image];
    const { rows } = await this.pool.query<ImageListRow>(
      `select ${IMAGE_SELECT(ALL)} from ${IMAGE_FROM} where m.index_digest = $1 order by m.os, m.architecture, m.variant, m.manifest_digest limit 200`,
      [image.indexDigest],
    );
    return rows.map(imageSummary);
  }

  /** The layers an inventory's postings came from, with packages and findings per layer (by diffID). */
  async layerStats(manifestDigest: string): Promise<Map<string, { digest: string; createdBy: string; packages: number; findings: number }>> {
    const { rows } = await this.pool.query<{ digest: string; diff_id: string; created_by: string; packages: string; findings: string }>({
      // named: each connection plans this join once (planning costs more than running it)
      name: 'console-layer-stats',
      text: `with postings as (
         select l.digest, l.diff_id, l.created_by, p.ecosystem, p.name, p.installed_version
         from strata.image_manifests m
         join strata.inventory_chunks ic on ic.inventory_digest = m.inventory_digest
         join strata.chunks ch on ch.chunk_id = ic.chunk_id
         join strata.layers l on l.layer_id = ch.layer_id
         join strata.chunk_packages cp on cp.chunk_id = ic.chunk_id
         join strata.packages p on p.package_id = cp.package_id
         where m.manifest_digest = $1
       )
       select po.digest, po.diff_id, po.created_by, count(distinct (po.ecosystem, po.name, po.installed_version)) as packages,
              (select count(*) from strata.image_findings f where f.manifest_digest = $1
                 and (f.ecosystem, f.package_name, f.installed_version) in (select x.ecosystem, x.name, x.installed_version from postings x where x.diff_id = po.diff_id)) as findings
       from postings po group by po.digest, po.diff_id, po.created_by`,
      values: [manifestDigest],
    });
    return new Map(rows.map((r) => [r.diff_id, { digest: r.digest, createdBy: r.created_by, packages: num(r.packages), findings: num(r.findings) }]));
  }

  /** Packages of an image's inventory, by layer then name (a page), with the layer's diffID. */
  async packages(
    manifestDigest: string,
    layerOrder: readonly string[],
    layer: string | undefined,
    limit: number,
    rawCursor: string | undefined,
  ): Promise<Page<Omit<PackageRow, 'layerIndex'> & { layerDiffId: string }>> {
    const cursor = decodeCursor(rawCursor, 'nssss');
    const p = new Params();
    const digest = p.add(manifestDigest);
    const order = p.add(layerOrder);
    const where: string[] = [];
    if (layer) where.push(`x.diff_id = ${p.add(layer)}`);
    if (cursor)
      where.push(
        `(x.layer_rank, x.name, x.installed_version, x.ecosystem, x.path) > (${cursor.map((v, i) => `${p.add(v)}${i === 0 ? '::integer' : ''}`).join(', ')})`,
      );
    const { rows } = await this.pool.query<{
      layer_rank: number;
      diff_id: string;
      ecosystem: string;
      name: string;
      installed_version: string;
      path: string;
      purl: string | null;
    }>(
      `select * from (
         select coalesce(array_position(${order}::text[], l.diff_id), 100000) as layer_rank, l.diff_id, p.ecosystem, p.name, p.installed_version, pa.path,
                p.package->>'purl' as purl
         from ${IMAGE_POSTINGS}
         where m.manifest_digest = ${digest}
       ) x ${whereSql(where)}
       order by x.layer_rank, x.name, x.installed_version, x.ecosystem, x.path
       limit ${p.add(limit + 1)}`,
      p.values,
    );
    return keysetPage(
      rows,
      limit,
      (r) => ({
        ecosystem: r.ecosystem,
        name: r.name,
        version: r.installed_version,
        path: r.path,
        layerDiffId: r.diff_id,
        ...(r.purl ? { purl: r.purl } : {}),
      }),
      (r) => [num(r.layer_rank), r.name, r.installed_version, r.ecosystem, r.path],
    );
  }

  /** Where an image holds each of `packages` (ecosystem, name, installed version): path and layer. */
  async locations(
    manifestDigests: readonly string[],
    packages: readonly { ecosystem: string; name: string; installedVersion: string }[],
  ): Promise<Map<string, Location[]>> {
    const out = new Map<string, Location[]>();
    if (manifestDigests.length === 0 || packages.length === 0) return out;
    const unique = new Map(packages.map((x) => [locationKey('', x.ecosystem, x.name, x.installedVersion), x]));
    packages = [...unique.values()];
    manifestDigests = [...new Set(manifestDigests)];
    const { rows } = await this.pool.query<{
      manifest_digest: string;
      ecosystem: string;
      name: string;
      installed_version: string;
      path: string;
      digest: string;
      diff_id: string;
      created_by: string;
    }>({
      name: 'console-locations',
      text: `select distinct m.manifest_digest, p.ecosystem, p.name, p.installed_version, pa.path, l.digest, l.diff_id, l.created_by
       from ${IMAGE_POSTINGS}
       join unnest($2::text[], $3::text[], $4::text[]) as w(e, n, v) on p.ecosystem = w.e and p.name = w.n and p.installed_version = w.v
       where m.manifest_digest = any($1::text[])
       order by m.manifest_digest, p.ecosystem, p.name, p.installed_version, pa.path, l.diff_id`,
      values: [manifestDigests, packages.map((x) => x.ecosystem), packages.map((x) => x.name), packages.map((x) => x.installedVersion)],
    });
    for (const r of rows) {
      const key = locationKey(r.manifest_digest, r.ecosystem, r.name, r.installed_version);
      const list = out.get(key) ?? [];
      list.push({ path: r.path, layerDigest: r.digest, layerDiffId: r.diff_id, createdBy: r.created_by });
      out.set(key, list);
    }
    return out;
  }

  /** A page of an image's findings state, worst first; `layer` keeps those whose package came from that layer (diffID). */
  async findings(
    manifestDigest: string,
    f: AppliedFilters,
    layer: string | undefined,
    limit: number,
    rawCursor: string | undefined,
  ): Promise<Page<Omit<FindingRow, 'layers' | 'severitySource'>>> {
    const cursor = decodeCursor(rawCursor, 'nssss');
    const p = new Params();
    const where = [`f.manifest_digest = ${p.add(manifestDigest)}`, ...findingWhere(f, p)];
    if (layer)
      where.push(`exists (select 1 from strata.image_manifests m
        join strata.inventory_chunks ic on ic.inventory_digest = m.inventory_digest
        join strata.chunks ch on ch.chunk_id = ic.chunk_id
        join strata.layers l on l.layer_id = ch.layer_id and l.diff_id = ${p.add(layer)}
        join strata.chunk_packages cp on cp.chunk_id = ic.chunk_id
        join strata.packages pk on pk.package_id = cp.package_id
        where m.manifest_digest = f.manifest_digest and pk.ecosystem = f.ecosystem and pk.name = f.package_name and pk.installed_version = f.installed_version)`);
    if (cursor)
      where.push(
        `(${severityRank('f')}, f.vulnerability_id, f.ecosystem, f.package_name, f.installed_version) > (${cursor.map((v, i) => `${p.add(v)}${i === 0 ? '::integer' : ''}`).join(', ')})`,
      );
    const { rows } = await this.pool.query<{
      rank: number;
      vulnerability_id: string;
      ecosystem: string;
      package_name: string;
      installed_version: string;
      fixed_version: string;
      severity: Severity;
    }>(
      `select ${severityRank('f')} as rank, f.vulnerability_id, f.ecosystem, f.package_name, f.installed_version, f.fixed_version, f.severity
       from strata.image_findings f ${whereSql(where)}
       order by 1, f.vulnerability_id, f.ecosystem, f.package_name, f.installed_version
       limit ${p.add(limit + 1)}`,
      p.values,
    );
    return keysetPage(
      rows,
      limit,
      (r) => ({
        vulnerabilityId: r.vulnerability_id,
        ecosystem: r.ecosystem,
        packageName: r.package_name,
        installedVersion: r.installed_version,
        fixedVersion: r.fixed_version,
        severity: r.severity,
      }),
      (r) => [num(r.rank), r.vulnerability_id, r.ecosystem, r.package_name, r.installed_version],
    );
  }

  /** Every platform manifest whose findings state holds any of `ids` (a page by digest), with totals. */
  async vulnerability(
    ids: readonly string[],
    limit: number,
    rawCursor: string | undefined,
    /** the totals when known already (the in-memory summary): no aggregate over the id's findings */
    known?: { totalPlatforms: number; fixedVersions: string[]; severity?: Severity },
  ): Promise<
    Page<Omit<AffectedImageRow, 'packages'> & { packages: Omit<AffectedPackageRow, 'locations'>[] }> & {
      totalPlatforms: number;
      fixedVersions: string[];
      severity?: Severity;
    }
  > {
    const cursor = decodeCursor(rawCursor, 's');
    const totals = known
      ? Promise.resolve({
          rows: [
            { platforms: String(known.totalPlatforms), worst: known.severity ? SEVERITIES.indexOf(known.severity) + 1 : null, fixed: known.fixedVersions },
          ],
        })
      : this.pool.query<{ platforms: string; worst: number | null; fixed: string[] | null }>(
          `select count(distinct manifest_digest) as platforms, min(${severityRank('f')}) as worst,
              array_agg(distinct fixed_version) filter (where fixed_version <> '') as fixed
       from strata.image_findings f where f.vulnerability_id = any($1::text[])`,
          [ids],
        );
    const pageRows = this.pool.query<{ manifest_digest: string }>(
      `select distinct manifest_digest from strata.image_findings
       where vulnerability_id = any($1::text[]) ${cursor ? 'and manifest_digest > $3' : ''}
       order by manifest_digest limit $2`,
      cursor ? [ids, limit + 1, cursor[0]] : [ids, limit + 1],
    );
    const [t, pr] = await Promise.all([totals, pageRows]);
    const more = pr.rows.length > limit;
    const digests = pr.rows.slice(0, limit).map((r) => r.manifest_digest);
    const { rows } = await this.pool.query<
      ImageListRow & { vulnerability_id: string; ecosystem: string; package_name: string; installed_version: string; fixed_version: string; severity: Severity }
    >(
      `select m.manifest_digest, m.image_ref, m.repository, m.index_digest, m.os, m.architecture, m.variant,
              f.vulnerability_id, f.ecosystem, f.package_name, f.installed_version, f.fixed_version, f.severity
       from strata.image_findings f join strata.image_manifests m on m.manifest_digest = f.manifest_digest
       where f.manifest_digest = any($1::text[]) and f.vulnerability_id = any($2::text[])
       order by m.manifest_digest, f.ecosystem, f.package_name, f.installed_version, f.vulnerability_id`,
      [digests, ids],
    );
    const byImage = new Map<string, Omit<AffectedImageRow, 'packages'> & { packages: Omit<AffectedPackageRow, 'locations'>[] }>();
    for (const r of rows) {
      let entry = byImage.get(r.manifest_digest);
      if (!entry) {
        const s = imageSummary({ ...r, packages: 0, critical: 0, high: 0, medium: 0, low: 0, unknown: 0, first_seen_at: new Date(0), updated_at: new Date(0) });
        entry = {
          manifestDigest: s.manifestDigest,
          imageRef: s.imageRef,
          repository: s.repository,
          ...(s.indexDigest ? { indexDigest: s.indexDigest } : {}),
          ...(s.platform ? { platform: s.platform } : {}),
          packages: [],
        };
        byImage.set(r.manifest_digest, entry);
      }
      entry.packages.push({
        vulnerabilityId: r.vulnerability_id,
        ecosystem: r.ecosystem,
        name: r.package_name,
        installedVersion: r.installed_version,
        fixedVersion: r.fixed_version,
        severity: r.severity,
      });
    }
    const total = t.rows[0];
    const last = digests.at(-1);
    const worst = total?.worst ? SEVERITIES[total.worst - 1] : undefined;
    return {
      items: digests.flatMap((d) => byImage.get(d) ?? []),
      ...(more && last ? { nextCursor: encodeCursor([last]) } : {}),
      totalPlatforms: num(total?.platforms),
      fixedVersions: [...(total?.fixed ?? [])].sort(),
      ...(worst ? { severity: worst } : {}),
    };
  }

  async scans(limit: number, rawCursor: string | undefined): Promise<Page<{ record: ScanInfoSource }>> {
    const cursor = decodeCursor(rawCursor, 'ss');
    const { rows } = await this.pool.query<{ record: ScanInfoSource; updated_at: Date; scan_id: string }>(
      `select record, updated_at, scan_id from strata.scans ${cursor ? 'where (updated_at, scan_id) < ($2::timestamptz, $3)' : ''}
       order by updated_at desc, scan_id desc limit $1`,
      cursor ? [limit + 1, cursor[0], cursor[1]] : [limit + 1],
    );
    return keysetPage(
      rows,
      limit,
      (r) => ({ record: r.record }),
      (r) => [iso(r.updated_at), r.scan_id],
    );
  }

  async scan(scanId: string): Promise<ScanInfoSource | undefined> {
    const { rows } = await this.pool.query<{ record: ScanInfoSource }>('select record from strata.scans where scan_id = $1', [scanId]);
    return rows[0]?.record;
  }
}

/** A scan record as stored (the fields ScanInfo is made of). */
export type ScanInfoSource = Omit<ScanInfo, 'stages' | 'error'> & { error?: { stage?: string; code?: string; reason?: string } };

export const locationKey = (manifestDigest: string, ecosystem: string, name: string, installedVersion: string): string =>
  `${manifestDigest}\u0000${ecosystem}\u0000${name}\u0000${installedVersion}`;
