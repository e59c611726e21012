// The findings DB: PostgreSQL as the system of record of the distributed shape — images and their
// platforms, inventories' package postings (stored once per inventory digest), each image's
// findings state at its advisory DB version, the history of those states, and scan records.
// The client is node-postgres (`pg`): a Pool, parameterised statements, one transaction per write.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { describeError } from '@strata/errors';
import type { Logger } from '@strata/log';
import type { ImageInventory, LayerRef, OsInfo, InventoryPackage, Severity, SeverityCounts } from '@strata/model';
import { severityCounts } from '@strata/model';
import { parseReference } from '@strata/oci';
import { diffSummaries, packagePostings, type FindingSummary, type FindingsDelta, type PackagePosting } from '@strata/reverse-index';
import { stageRank, statusRank, type ScanRecord } from '@strata/scan-records';
import { migrate, type MigrationResult } from './migrate.js';

export interface FindingsDbOptions {
  /** postgres://user:password@host:port/database (STRATA_PG_URL) */
  url: string;
  logger?: Logger;
  /** connections of the pool (default 10) */
  maxConnections?: number;
  /** shown in pg_stat_activity (default strata) */
  applicationName?: string;
}

export class FindingsDbError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FindingsDbError';
  }
}

/** An image (one platform manifest) as the DB files it. */
export interface ImageRow {
  manifestDigest: string;
  /** the reference it was last scanned by */
  imageRef: string;
  /** registry/repository of imageRef, without tag or digest */
  repository: string;
  indexDigest?: string;
  platform?: { os: string; architecture: string; variant?: string };
  inventoryDigest?: string;
  /** where the ImageInventory document is in the blob store */
  inventoryKey?: string;
  /** the version of the findings state; undefined before the first match */
  advisoryDbVersion?: string;
}

export type ImageInput = Omit<ImageRow, 'repository' | 'advisoryDbVersion'>;

export interface FindingsState {
  advisoryDbVersion: string;
  findings: FindingSummary[];
}

export interface SetFindingsInput {
  /** FULL: the state a scan computed; DELTA: a re-match patched it */
  kind: 'FULL' | 'DELTA';
  advisoryDbVersion: string;
  /** the whole new state (one summary per package × vulnerability) */
  findings: readonly FindingSummary[];
  /**
   * Write only when the stored state is at this version (null: only when the image has no state
   * yet). Undefined: write whatever is stored. A re-match sets it, so two replicas never apply the
   * same update twice.
   */
  expectedVersion?: string | null;
}

export interface SetFindingsResult {
  /** false when expectedVersion did not hold (someone else moved the state) */
  written: boolean;
  /** what changed against the state that was stored (empty when not written) */
  delta: FindingsDelta;
  previousVersion?: string;
  counts: SeverityCounts;
}

/** One image holding one package (the answer of holdings()). */
export interface HoldingRow {
  image: ImageRow;
  /** the package as every inventory holding it shares it (no layer, no paths) */
  pkg: InventoryPackage;
  /** the OS an OS package is matched under */
  os?: OsInfo;
  unitKey: string;
  ecosystem: string;
  name: string;
  installedVersion: string;
  path: string;
  layer: LayerRef;
}

/**
 * PostgreSQL text and jsonb cannot hold NUL: a name or path carrying one (hostile input) is stored
 * with U+FFFD in its place rather than failing the whole inventory.
 */
const text = (value: string): string => (value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value);
const json = (value: unknown): string => text(JSON.stringify(value)).replaceAll('\\u0000', '\\uFFFD');
/** The unit key joins fields with NUL: stored as its sha256. */
const unitId = (unitKey: string): string => createHash('sha256').update(unitKey).digest('hex');

const SEVERITIES = new Set<Severity>(['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);

/** registry/repository of an image reference, without tag or digest (the reference itself when it is no registry reference). */
export function repositoryOf(imageRef: string): string {
  try {
    const ref = parseReference(imageRef);
    return ref.kind === 'registry' ? `${ref.registry}/${ref.repository}` : imageRef;
  } catch {
    return imageRef;
  }
}

/**
 * The digest an inventory's postings are stored under: sha256 of its sorted postings (package,
 * path, layer). Two images with the same packages from the same layers share it, and its rows.
 */
export function inventoryDigest(postings: readonly PackagePosting[]): string {
  const lines = postings.map((p) => JSON.stringify([p.unitKey, p.path, p.layer.digest, p.layer.diffId, p.layer.createdBy ?? ''])).sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  return `sha256:${hash.digest('hex')}`;
}

interface ImageDbRow {
  manifest_digest: string;
  image_ref: string;
  repository: string;
  index_digest: string | null;
  os: string;
  architecture: string;
  variant: string;
  inventory_digest: string | null;
  inventory_key: string;
  advisory_db_version: string | null;
}

function imageOf(row: ImageDbRow): ImageRow {
  return {
    manifestDigest: row.manifest_digest,
    imageRef: row.image_ref,
    repository: row.repository,
    ...(row.index_digest ? { indexDigest: row.index_digest } : {}),
    ...(row.os || row.architecture ? { platform: { os: row.os, architecture: row.architecture, ...(row.variant ? { variant: row.variant } : {}) } } : {}),
    ...(row.inventory_digest ? { inventoryDigest: row.inventory_digest } : {}),
    ...(row.inventory_key ? { inventoryKey: row.inventory_key } : {}),
    ...(row.advisory_db_version ? { advisoryDbVersion: row.advisory_db_version } : {}),
  };
}

const IMAGE_COLUMNS =
  'm.manifest_digest, m.image_ref, m.repository, m.index_digest, m.os, m.architecture, m.variant, m.inventory_digest, m.inventory_key, m.advisory_db_version';

interface FindingDbRow {
  ecosystem: string;
  package_name: string;
  installed_version: string;
  vulnerability_id: string;
  fixed_version: string;
  severity: Severity;
}

const summaryOf = (r: FindingDbRow): FindingSummary => ({
  vulnerabilityId: r.vulnerability_id,
  ecosystem: r.ecosystem,
  packageName: r.package_name,
  installedVersion: r.installed_version,
  fixedVersion: r.fixed_version,
  severity: r.severity,
});

const clean = (f: FindingSummary): FindingSummary => ({
  ...f,
  vulnerabilityId: text(f.vulnerabilityId),
  ecosystem: text(f.ecosystem),
  packageName: text(f.packageName),
  installedVersion: text(f.installedVersion),
  fixedVersion: text(f.fixedVersion),
});

/** Column arrays of summaries, for unnest(). */
function findingColumns(list: readonly FindingSummary[]): string[][] {
  return [
    list.map((f) => text(f.ecosystem)),
    list.map((f) => text(f.packageName)),
    list.map((f) => text(f.installedVersion)),
    list.map((f) => text(f.vulnerabilityId)),
    list.map((f) => text(f.fixedVersion)),
    list.map((f) => f.severity),
  ];
}

/** Runs an insert (on conflict do nothing) of keyed rows, then returns every key's id. */
async function upsertIds(client: pg.PoolClient, insert: string, values: unknown[], select: string): Promise<Map<string, string>> {
  await client.query(insert, values);
  const { rows } = await client.query<{ key: string; id: string }>(select, [values[0]]);
  return new Map(rows.map((r) => [r.key, r.id]));
}

export class FindingsDb {
  constructor(
    readonly pool: pg.Pool,
    /** what the start-up migration did */
    readonly migration: MigrationResult,
  ) {}

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Runs `work` in one transaction (rolled back when it throws). */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const result = await work(client);
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Stores an inventory's package postings once per inventory digest and returns the digest
   * (created: false when it was there already — then nothing was written). The postings are
   * filed in chunks, one per layer: a chunk (the same packages at the same paths from the same
   * layer) is stored once, however many inventories hold it.
   */
  async putInventory(inventory: ImageInventory): Promise<{ inventoryDigest: string; created: boolean; postings: number }> {
    const postings = packagePostings(inventory);
    const digest = inventoryDigest(postings);
    const created = await this.transaction(async (client) => {
      // Concurrent writers of the same inventory wait here for the first one's commit, then skip.
      const inserted = await client.query(
        `insert into strata.inventories (inventory_digest, os_family, os_name, package_count) values ($1, $2, $3, $4)
         on conflict (inventory_digest) do nothing`,
        [digest, inventory.os?.family ?? '', inventory.os?.name ?? '', postings.length],
      );
      if (inserted.rowCount === 0) return false;
      // Every upsert in one sorted order, so writers sharing rows never deadlock.
      const units = new Map<string, PackagePosting>();
      for (const p of postings) {
        const id = unitId(p.unitKey);
        if (!units.has(id)) units.set(id, p);
      }
      const keys = [...units.keys()].sort();
      const list = keys.map((k) => units.get(k) as PackagePosting);
      const packageIds = await upsertIds(
        client,
        `insert into strata.packages (unit_key, ecosystem, name, installed_version, package, os)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[]) order by 1
         on conflict (unit_key) do nothing`,
        [
          keys,
          list.map((p) => text(p.ecosystem)),
          list.map((p) => text(p.name)),
          list.map((p) => text(p.installedVersion)),
          list.map((p) => json(p.pkg)),
          list.map((p) => (p.os ? json(p.os) : null)),
        ],
        'select unit_key as key, package_id as id from strata.packages where unit_key = any($1::text[])',
      );
      const lookups = keys.flatMap((key) =>
        (units.get(key) as PackagePosting).lookups.map(([ecosystem, name]) => [text(ecosystem), text(name), packageIds.get(key) as string] as const),
      );
      await client.query(
        `insert into strata.package_lookups (ecosystem, name, package_id)
         select * from unnest($1::text[], $2::text[], $3::bigint[]) order by 1, 2, 3
         on conflict do nothing`,
        [lookups.map((l) => l[0]), lookups.map((l) => l[1]), lookups.map((l) => l[2])],
      );
      const paths = [...new Set(postings.map((p) => text(p.path)))].sort();
      const pathIds = await upsertIds(
        client,
        'insert into strata.paths (path) select * from unnest($1::text[]) order by 1 on conflict (path) do nothing',
        [paths],
        'select path as key, path_id as id from strata.paths where path = any($1::text[])',
      );
      // chunks: the postings of one layer
      const layerKey = (l: LayerRef) => JSON.stringify([text(l.digest), text(l.diffId), text(l.createdBy ?? '')]);
      const byLayer = new Map<string, { layer: LayerRef; rows: Set<string> }>();
      for (const p of postings) {
        const key = layerKey(p.layer);
        let chunk = byLayer.get(key);
        if (!chunk) byLayer.set(key, (chunk = { layer: p.layer, rows: new Set() }));
        chunk.rows.add(JSON.stringify([unitId(p.unitKey), text(p.path)]));
      }
      const layerKeys = [...byLayer.keys()].sort();
      const layerParts = layerKeys.map((k) => JSON.parse(k) as [string, string, string]);
      await client.query(
        `insert into strata.layers (digest, diff_id, created_by) select * from unnest($1::text[], $2::text[], $3::text[]) order by 1, 2, 3
         on conflict do nothing`,
        [layerParts.map((l) => l[0]), layerParts.map((l) => l[1]), layerParts.map((l) => l[2])],
      );
      const layerRows = await client.query<{ digest: string; diff_id: string; created_by: string; layer_id: string }>(
        `select l.digest, l.diff_id, l.created_by, l.layer_id from strata.layers l
         join unnest($1::text[], $2::text[], $3::text[]) as w(d, i, c) on l.digest = w.d and l.diff_id = w.i and l.created_by = w.c`,
        [layerParts.map((l) => l[0]), layerParts.map((l) => l[1]), layerParts.map((l) => l[2])],
      );
      const layerIds = new Map(layerRows.rows.map((r) => [JSON.stringify([r.digest, r.diff_id, r.created_by]), r.layer_id]));
      const chunks = layerKeys.map((key) => {
        const rows = [...(byLayer.get(key) as { rows: Set<string> }).rows].sort();
        const hash = createHash('sha256').update(key);
        for (const row of rows) hash.update('\n').update(row);
        return { digest: `sha256:${hash.digest('hex')}`, layerId: layerIds.get(key) as string, rows: rows.map((r) => JSON.parse(r) as [string, string]) };
      });
      chunks.sort((a, b) => (a.digest < b.digest ? -1 : 1));
      // Only the chunks this call created get their rows; a chunk another writer created has them (same transaction).
      const fresh = await client.query<{ chunk_id: string; chunk_digest: string }>(
        `insert into strata.chunks (chunk_digest, layer_id, package_count) select * from unnest($1::text[], $2::bigint[], $3::integer[]) order by 1
         on conflict (chunk_digest) do nothing returning chunk_id, chunk_digest`,
        [chunks.map((c) => c.digest), chunks.map((c) => c.layerId), chunks.map((c) => c.rows.length)],
      );
      const freshIds = new Map(fresh.rows.map((r) => [r.chunk_digest, r.chunk_id]));
      const rows = chunks.flatMap((c) => {
        const id = freshIds.get(c.digest);
        return id === undefined ? [] : c.rows.map(([unit, path]) => [id, packageIds.get(unit) as string, pathIds.get(path) as string] as const);
      });
      if (rows.length > 0)
        await client.query(`insert into strata.chunk_packages (chunk_id, package_id, path_id) select * from unnest($1::bigint[], $2::bigint[], $3::bigint[])`, [
          rows.map((r) => r[0]),
          rows.map((r) => r[1]),
          rows.map((r) => r[2]),
        ]);
      await client.query(
        `insert into strata.inventory_chunks (inventory_digest, chunk_id)
         select $1::text, c.chunk_id from strata.chunks c where c.chunk_digest = any($2::text[])`,
        [digest, chunks.map((c) => c.digest)],
      );
      return true;
    });
    return { inventoryDigest: digest, created, postings: postings.length };
  }

  /** Files an image (platform manifest) and the reference it was scanned by; the findings state is kept. */
  async putImage(image: ImageInput): Promise<void> {
    const repository = repositoryOf(image.imageRef);
    await this.transaction(async (client) => {
      await client.query(
        `insert into strata.image_manifests
           (manifest_digest, image_ref, repository, index_digest, os, architecture, variant, inventory_digest, inventory_key)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (manifest_digest) do update set
           image_ref = excluded.image_ref,
           repository = excluded.repository,
           index_digest = coalesce(excluded.index_digest, strata.image_manifests.index_digest),
           os = case when excluded.os <> '' then excluded.os else strata.image_manifests.os end,
           architecture = case when excluded.architecture <> '' then excluded.architecture else strata.image_manifests.architecture end,
           variant = case when excluded.os <> '' then excluded.variant else strata.image_manifests.variant end,
           inventory_digest = coalesce(excluded.inventory_digest, strata.image_manifests.inventory_digest),
           inventory_key = case when excluded.inventory_key <> '' then excluded.inventory_key else strata.image_manifests.inventory_key end,
           updated_at = now()`,
        [
          image.manifestDigest,
          image.imageRef,
          repository,
          image.indexDigest ?? null,
          image.platform?.os ?? '',
          image.platform?.architecture ?? '',
          image.platform?.variant ?? '',
          image.inventoryDigest ?? null,
          image.inventoryKey ?? '',
        ],
      );
      await client.query(
        `insert into strata.image_refs (image_ref, manifest_digest, repository) values ($1, $2, $3)
         on conflict (image_ref, manifest_digest) do update set last_seen_at = now()`,
        [image.imageRef, image.manifestDigest, repository],
      );
    });
  }

  async image(manifestDigest: string): Promise<ImageRow | undefined> {
    const { rows } = await this.pool.query<ImageDbRow>(`select ${IMAGE_COLUMNS} from strata.image_manifests m where m.manifest_digest = $1`, [manifestDigest]);
    return rows[0] ? imageOf(rows[0]) : undefined;
  }

  /** The image's findings state, sorted; undefined when it was never matched (or is not filed). */
  async findingsState(manifestDigest: string): Promise<FindingsState | undefined> {
    const image = await this.pool.query<{ advisory_db_version: string | null }>(
      'select advisory_db_version from strata.image_manifests where manifest_digest = $1',
      [manifestDigest],
    );
    const version = image.rows[0]?.advisory_db_version;
    if (!version) return undefined;
    const { rows } = await this.pool.query<FindingDbRow>(
      `select ecosystem, package_name, installed_version, vulnerability_id, fixed_version, severity from strata.image_findings
       where manifest_digest = $1 order by ecosystem, package_name, installed_version, vulnerability_id`,
      [manifestDigest],
    );
    return { advisoryDbVersion: version, findings: rows.map(summaryOf) };
  }

  /**
   * Replaces an image's findings state (the image must be filed) and records the change in the
   * history, in one transaction: only the rows that changed are written. A state whose content
   * did not change only moves to the new version (no history row).
   */
  async setFindings(manifestDigest: string, input: SetFindingsInput): Promise<SetFindingsResult> {
    for (const f of input.findings)
      if (!SEVERITIES.has(f.severity)) throw new FindingsDbError(`finding ${f.vulnerabilityId} of ${manifestDigest} has an unknown severity "${f.severity}"`);
    const counts = severityCounts(input.findings);
    return this.transaction(async (client) => {
      const locked = await client.query<{ advisory_db_version: string | null }>(
        'select advisory_db_version from strata.image_manifests where manifest_digest = $1 for update',
        [manifestDigest],
      );
      const row = locked.rows[0];
      if (!row) throw new FindingsDbError(`image ${manifestDigest} is not in the findings DB: file it (putImage) before its findings`);
      const previousVersion = row.advisory_db_version ?? undefined;
      if (input.expectedVersion !== undefined && (previousVersion ?? null) !== input.expectedVersion)
        return { written: false, delta: { added: [], resolved: [] }, ...(previousVersion ? { previousVersion } : {}), counts };
      const stored = await client.query<FindingDbRow>(
        'select ecosystem, package_name, installed_version, vulnerability_id, fixed_version, severity from strata.image_findings where manifest_digest = $1',
        [manifestDigest],
      );
      const delta = diffSummaries(stored.rows.map(summaryOf), input.findings.map(clean));
      if (delta.resolved.length > 0) {
        const [e, n, v, id] = findingColumns(delta.resolved);
        await client.query(
          `delete from strata.image_findings f using unnest($2::text[], $3::text[], $4::text[], $5::text[]) as r(e, n, v, id)
           where f.manifest_digest = $1 and f.ecosystem = r.e and f.package_name = r.n and f.installed_version = r.v and f.vulnerability_id = r.id`,
          [manifestDigest, e, n, v, id],
        );
      }
      if (delta.added.length > 0)
        await client.query(
          `insert into strata.image_findings (manifest_digest, ecosystem, package_name, installed_version, vulnerability_id, fixed_version, severity)
           select $1::text, * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
          [manifestDigest, ...findingColumns(delta.added)],
        );
      if (delta.added.length > 0 || delta.resolved.length > 0 || previousVersion === undefined) {
        const change = await client.query<{ change_id: string }>(
          `insert into strata.findings_changes
             (manifest_digest, kind, advisory_db_version, previous_advisory_db_version, critical, high, medium, low, unknown)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning change_id`,
          [
            manifestDigest,
            input.kind,
            input.advisoryDbVersion,
            previousVersion ?? null,
            counts.critical,
            counts.high,
            counts.medium,
            counts.low,
            counts.unknown,
          ],
        );
        const items = [...delta.added.map((f) => ['added', f] as const), ...delta.resolved.map((f) => ['resolved', f] as const)];
        if (items.length > 0)
          await client.query(
            `insert into strata.findings_change_items
               (change_id, change, ecosystem, package_name, installed_version, vulnerability_id, fixed_version, severity)
             select $1::bigint, * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
            [change.rows[0]?.change_id, items.map(([c]) => c), ...findingColumns(items.map(([, f]) => f))],
          );
      }
      await client.query('update strata.image_manifests set advisory_db_version = $2, updated_at = now() where manifest_digest = $1', [
        manifestDigest,
        input.advisoryDbVersion,
      ]);
      return { written: true, delta, ...(previousVersion ? { previousVersion } : {}), counts };
    });
  }

  /**
   * Files a scan record, moving forward only (by status, then by stage; a terminal status is
   * never overwritten), as advanceScanRecord does in the blob store. Returns whether it was written.
   */
  async recordScan(record: ScanRecord): Promise<boolean> {
    const result = await this.pool.query(
      `insert into strata.scans
         (scan_id, image_ref, status, stage, status_rank, stage_rank, manifest_digest, advisory_db_version, error_code, error_reason, record, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       on conflict (scan_id) do update set
         status = excluded.status, stage = excluded.stage, status_rank = excluded.status_rank, stage_rank = excluded.stage_rank,
         manifest_digest = coalesce(excluded.manifest_digest, strata.scans.manifest_digest),
         advisory_db_version = coalesce(excluded.advisory_db_version, strata.scans.advisory_db_version),
         error_code = excluded.error_code, error_reason = excluded.error_reason,
         record = excluded.record, updated_at = excluded.updated_at
       where strata.scans.status not in ('COMPLETED', 'FAILED')
         and (excluded.status_rank > strata.scans.status_rank
              or (excluded.status_rank = strata.scans.status_rank and excluded.stage_rank > strata.scans.stage_rank))`,
      [
        record.scanId,
        record.imageRef,
        record.status,
        record.stage ?? null,
        statusRank(record.status),
        stageRank(record.stage),
        record.manifestDigest ?? null,
        record.advisoryDbVersion ?? null,
        record.error?.code ?? null,
        record.error?.reason ?? null,
        JSON.stringify(record),
        record.createdAt ?? record.updatedAt,
        record.updatedAt,
      ],
    );
    return result.rowCount === 1;
  }

  async scan(scanId: string): Promise<ScanRecord | undefined> {
    const { rows } = await this.pool.query<{ record: ScanRecord }>('select record from strata.scans where scan_id = $1', [scanId]);
    return rows[0]?.record;
  }

  /**
   * Every image holding a package filed under any of `pairs` ([ecosystem key, name], as the
   * advisory index and a DatabaseDiff name packages), with where it holds it: what a re-match or
   * ListAffectedImages starts from. Sorted by manifest digest.
   */
  async holdings(pairs: readonly (readonly [string, string])[]): Promise<HoldingRow[]> {
    if (pairs.length === 0) return [];
    const { rows } = await this.pool.query<
      ImageDbRow & {
        unit_key: string;
        ecosystem: string;
        name: string;
        installed_version: string;
        package: InventoryPackage;
        pkg_os: OsInfo | null;
        path: string;
        layer_digest: string;
        layer_diff_id: string;
        layer_created_by: string;
      }
    >({
      // A named statement: each connection plans this 8-way join once (planning costs ~10x its execution).
      name: 'strata-holdings',
      text: `with wanted as (select distinct * from unnest($1::text[], $2::text[]) as w(ecosystem, name)),
       found as (select distinct l.package_id from wanted w join strata.package_lookups l on l.ecosystem = w.ecosystem and l.name = w.name)
       select ${IMAGE_COLUMNS}, p.unit_key, p.ecosystem, p.name, p.installed_version, p.package, p.os as pkg_os,
              pa.path, l.digest as layer_digest, l.diff_id as layer_diff_id, l.created_by as layer_created_by
       from found
       join strata.packages p on p.package_id = found.package_id
       join strata.chunk_packages cp on cp.package_id = p.package_id
       join strata.paths pa on pa.path_id = cp.path_id
       join strata.chunks c on c.chunk_id = cp.chunk_id
       join strata.layers l on l.layer_id = c.layer_id
       join strata.inventory_chunks ic on ic.chunk_id = cp.chunk_id
       join strata.image_manifests m on m.inventory_digest = ic.inventory_digest
       order by m.manifest_digest, p.unit_key, pa.path, l.diff_id`,
      values: [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
    });
    return rows.map((r) => ({
      image: imageOf(r),
      pkg: r.package,
      ...(r.pkg_os ? { os: r.pkg_os } : {}),
      unitKey: r.unit_key,
      ecosystem: r.ecosystem,
      name: r.name,
      installedVersion: r.installed_version,
      path: r.path,
      layer: { digest: r.layer_digest, diffId: r.layer_diff_id, ...(r.layer_created_by ? { createdBy: r.layer_created_by } : {}) },
    }));
  }
}

/**
 * Connects, applies the migrations (serialized across every starter) and returns the DB. Throws
 * FindingsDbError naming the server (password redacted) when it cannot be reached.
 */
export async function openFindingsDb(options: FindingsDbOptions): Promise<FindingsDb> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'strata',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its connection must not crash the process: the pool drops it.
  pool.on('error', (error) => options.logger?.warn({ err: describeError(error) }, 'findings DB: an idle connection failed'));
  try {
    const migration = await migrate(pool);
    if (migration.applied.length > 0) options.logger?.info({ applied: migration.applied, version: migration.version }, 'findings DB schema migrated');
    return new FindingsDb(pool, migration);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new FindingsDbError(`findings DB at ${where(options.url)}: ${describeError(error)}`, { cause: error });
  }
}

/** host:port/database of a connection URL, never its credentials. */
function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return '(unparsable STRATA_PG_URL)';
  }
}
