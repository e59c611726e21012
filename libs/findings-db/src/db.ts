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
import type { ScanRecord } from '@strata/scan-records';
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

/** A package as every inventory holding it shares it (one row of strata.packages). */
export interface PackageUnit {
  packageId: string;
  unitKey: string;
  ecosystem: string;
  name: string;
  installedVersion: string;
  pkg: InventoryPackage;
  os?: OsInfo;
}

/** Where an image holds a package (holdingsOfPackages). */
export interface PackageHoldingRow {
  image: ImageRow;
  unitKey: string;
  path: string;
  layer: LayerRef;
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
export const text = (value: string): string => (value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value);
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

export interface StoredState {
  image: ImageRow;
  version?: string;
  findings: FindingSummary[];
}

/** The image rows and findings of `digests` (locked for update, in digest order, when `lock`). */
export async function readStates(client: pg.Pool | pg.PoolClient, digests: readonly string[], lock: boolean): Promise<Map<string, StoredState>> {
  const out = new Map<string, StoredState>();
  if (digests.length === 0) return out;
  const sorted = [...new Set(digests)].sort();
  const images = await client.query<ImageDbRow>(
    `select ${IMAGE_COLUMNS} from strata.image_manifests m where m.manifest_digest = any($1::text[]) order by m.manifest_digest${lock ? ' for update' : ''}`,
    [sorted],
  );
  for (const row of images.rows)
    out.set(row.manifest_digest, { image: imageOf(row), ...(row.advisory_db_version ? { version: row.advisory_db_version } : {}), findings: [] });
  const matched = images.rows.filter((r) => r.advisory_db_version).map((r) => r.manifest_digest);
  if (matched.length === 0) return out;
  const { rows } = await client.query<FindingDbRow & { manifest_digest: string }>(
    `select manifest_digest, ecosystem, package_name, installed_version, vulnerability_id, fixed_version, severity from strata.image_findings
     where manifest_digest = any($1::text[]) order by manifest_digest, ecosystem, package_name, installed_version, vulnerability_id`,
    [matched],
  );
  for (const r of rows) out.get(r.manifest_digest)?.findings.push(summaryOf(r));
  return out;
}

export interface StateWrite {
  manifestDigest: string;
  input: SetFindingsInput;
  stored: StoredState;
}

/**
 * Writes new findings states over the stored ones (rows locked by the caller): only the findings
 * that changed, one history change per state whose content changed (or that is the image's
 * first), the change items, and the versions — one statement each for every image together.
 */
export async function writeStates(client: pg.PoolClient, writes: readonly StateWrite[]): Promise<Map<string, SetFindingsResult>> {
  const results = new Map<string, SetFindingsResult>();
  if (writes.length === 0) return results;
  for (const { manifestDigest, input } of writes)
    for (const f of input.findings)
      if (!SEVERITIES.has(f.severity)) throw new FindingsDbError(`finding ${f.vulnerabilityId} of ${manifestDigest} has an unknown severity "${f.severity}"`);
  const resolved: [string, FindingSummary][] = [];
  const added: [string, FindingSummary][] = [];
  const changes: { manifestDigest: string; input: SetFindingsInput; previous?: string; counts: SeverityCounts; delta: FindingsDelta }[] = [];
  for (const { manifestDigest, input, stored } of writes) {
    const delta = diffSummaries(stored.findings, input.findings.map(clean));
    const counts = severityCounts(input.findings);
    for (const f of delta.resolved) resolved.push([manifestDigest, f]);
    for (const f of delta.added) added.push([manifestDigest, f]);
    if (delta.added.length > 0 || delta.resolved.length > 0 || stored.version === undefined)
      changes.push({ manifestDigest, input, ...(stored.version ? { previous: stored.version } : {}), counts, delta });
    results.set(manifestDigest, { written: true, delta, ...(stored.version ? { previousVersion: stored.version } : {}), counts });
  }
  if (resolved.length > 0) {
    const [e, n, v, id] = findingColumns(resolved.map(([, f]) => f));
    await client.query(
      `delete from strata.image_findings f using unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as r(d, e, n, v, id)
       where f.manifest_digest = r.d and f.ecosystem = r.e and f.package_name = r.n and f.installed_version = r.v and f.vulnerability_id = r.id`,
      [resolved.map(([d]) => d), e, n, v, id],
    );
  }
  if (added.length > 0)
    await client.query(
      `insert into strata.image_findings (manifest_digest, ecosystem, package_name, installed_version, vulnerability_id, fixed_version, severity)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
      [added.map(([d]) => d), ...findingColumns(added.map(([, f]) => f))],
    );
  if (changes.length > 0) {
    const inserted = await client.query<{ change_id: string; manifest_digest: string }>(
      `insert into strata.findings_changes
         (manifest_digest, kind, advisory_db_version, previous_advisory_db_version, critical, high, medium, low, unknown)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::integer[], $7::integer[], $8::integer[], $9::integer[])
       returning change_id, manifest_digest`,
      [
        changes.map((c) => c.manifestDigest),
        changes.map((c) => c.input.kind),
        changes.map((c) => c.input.advisoryDbVersion),
        changes.map((c) => c.previous ?? null),
        changes.map((c) => c.counts.critical),
        changes.map((c) => c.counts.high),
        changes.map((c) => c.counts.medium),
        changes.map((c) => c.counts.low),
        changes.map((c) => c.counts.unknown),
      ],
    );
    const changeIds = new Map(inserted.rows.map((r) => [r.manifest_digest, r.change_id]));
    const items = changes.flatMap((c) => [
      ...c.delta.added.map((f) => [changeIds.get(c.manifestDigest) as string, 'added', f] as const),
      ...c.delta.resolved.map((f) => [changeIds.get(c.manifestDigest) as string, 'resolved', f] as const),
    ]);
    if (items.length > 0)
      await client.query(
        `insert into strata.findings_change_items
           (change_id, change, ecosystem, package_name, installed_version, vulnerability_id, fixed_version, severity)
         select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
        [items.map(([id]) => id), items.map(([, c]) => c), ...findingColumns(items.map(([, , f]) => f))],
      );
  }
  await client.query(
    `update strata.image_manifests m set advisory_db_version = w.v, updated_at = now()
     from unnest($1::text[], $2::text[]) as w(d, v) where m.manifest_digest = w.d`,
    [writes.map((w) => w.manifestDigest), writes.map((w) => w.input.advisoryDbVersion)],
  );
  return results;
}

/** A layer's postings in an inventory: stored once as a chunk for every inventory holding the same. */
interface ChunkPlan {
  /** sha256 of the layer and its sorted (package, path) rows */
  digest: string;
  layerKey: string;
  layer: [string, string, string];
  /** [unit id, path], sorted */
  rows: [string, string][];
}

/** What putInventories writes for one inventory, computed without the DB. */
interface InventoryPlan {
  digest: string;
  osFamily: string;
  osName: string;
  postings: number;
  /** unit id -> one posting of the unit */
  units: Map<string, PackagePosting>;
  paths: Set<string>;
  chunks: ChunkPlan[];
}

function planInventory(inventory: ImageInventory): InventoryPlan {
  const postings = packagePostings(inventory);
  const units = new Map<string, PackagePosting>();
  const byLayer = new Map<string, Set<string>>();
  const paths = new Set<string>();
  // chunks: the postings of one layer
  const layerKey = (l: LayerRef) => JSON.stringify([text(l.digest), text(l.diffId), text(l.createdBy ?? '')]);
  for (const p of postings) {
    const id = unitId(p.unitKey);
    if (!units.has(id)) units.set(id, p);
    const path = text(p.path);
    paths.add(path);
    const key = layerKey(p.layer);
    let rows = byLayer.get(key);
    if (!rows) byLayer.set(key, (rows = new Set()));
    rows.add(JSON.stringify([id, path]));
  }
  const chunks = [...byLayer.keys()].sort().map((key): ChunkPlan => {
    const rows = [...(byLayer.get(key) as Set<string>)].sort();
    const hash = createHash('sha256').update(key);
    for (const row of rows) hash.update('\n').update(row);
    return {
      digest: `sha256:${hash.digest('hex')}`,
      layerKey: key,
      layer: JSON.parse(key) as [string, string, string],
      rows: rows.map((r) => JSON.parse(r) as [string, string]),
    };
  });
  return {
    digest: inventoryDigest(postings),
    osFamily: inventory.os?.family ?? '',
    osName: inventory.os?.name ?? '',
    postings: postings.length,
    units,
    paths,
    chunks,
  };
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
    return (await this.putInventories([inventory]))[0] as { inventoryDigest: string; created: boolean; postings: number };
  }

  /**
   * putInventory for many inventories in one transaction and one statement per table: the same
   * rows as one call each (tested), for bulk loads. Answers in the order given.
   */
  async putInventories(inventories: readonly ImageInventory[]): Promise<{ inventoryDigest: string; created: boolean; postings: number }[]> {
    const plans = inventories.map(planInventory);
    const distinct = new Map<string, InventoryPlan>();
    for (const plan of plans) if (!distinct.has(plan.digest)) distinct.set(plan.digest, plan);
    const order = [...distinct.keys()].sort();
    const created = await this.transaction(async (client) => {
      // Concurrent writers of the same inventory wait here for the first one's commit, then skip.
      const inserted = await client.query<{ inventory_digest: string }>(
        `insert into strata.inventories (inventory_digest, os_family, os_name, package_count)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::integer[]) order by 1
         on conflict (inventory_digest) do nothing returning inventory_digest`,
        [
          order,
          order.map((d) => distinct.get(d)?.osFamily ?? ''),
          order.map((d) => distinct.get(d)?.osName ?? ''),
          order.map((d) => distinct.get(d)?.postings ?? 0),
        ],
      );
      const fresh = new Set(inserted.rows.map((r) => r.inventory_digest));
      if (fresh.size === 0) return fresh;
      const writing = order.filter((d) => fresh.has(d)).map((d) => distinct.get(d) as InventoryPlan);
      // Every upsert in one sorted order, so writers sharing rows never deadlock.
      const units = new Map<string, PackagePosting>();
      const paths = new Set<string>();
      const layers = new Map<string, [string, string, string]>();
      const chunks = new Map<string, ChunkPlan>();
      for (const plan of writing) {
        for (const [id, p] of plan.units) if (!units.has(id)) units.set(id, p);
        for (const path of plan.paths) paths.add(path);
        for (const chunk of plan.chunks) {
          if (!layers.has(chunk.layerKey)) layers.set(chunk.layerKey, chunk.layer);
          if (!chunks.has(chunk.digest)) chunks.set(chunk.digest, chunk);
        }
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
      const pathIds = await upsertIds(
        client,
        'insert into strata.paths (path) select * from unnest($1::text[]) order by 1 on conflict (path) do nothing',
        [[...paths].sort()],
        'select path as key, path_id as id from strata.paths where path = any($1::text[])',
      );
      const layerKeys = [...layers.keys()].sort();
      const layerParts = layerKeys.map((k) => layers.get(k) as [string, string, string]);
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
      const chunkList = [...chunks.values()].sort((a, b) => (a.digest < b.digest ? -1 : 1));
      // Only the chunks this call created get their rows; a chunk another writer created has them (same transaction).
      const made = await client.query<{ chunk_id: string; chunk_digest: string }>(
        `insert into strata.chunks (chunk_digest, layer_id, package_count) select * from unnest($1::text[], $2::bigint[], $3::integer[]) order by 1
         on conflict (chunk_digest) do nothing returning chunk_id, chunk_digest`,
        [chunkList.map((c) => c.digest), chunkList.map((c) => layerIds.get(c.layerKey) as string), chunkList.map((c) => c.rows.length)],
      );
      const madeIds = new Map(made.rows.map((r) => [r.chunk_digest, r.chunk_id]));
      const rows = chunkList.flatMap((c) => {
        const id = madeIds.get(c.digest);
        return id === undefined ? [] : c.rows.map(([unit, path]) => [id, packageIds.get(unit) as string, pathIds.get(path) as string] as const);
      });
      if (rows.length > 0)
        await client.query(`insert into strata.chunk_packages (chunk_id, package_id, path_id) select * from unnest($1::bigint[], $2::bigint[], $3::bigint[])`, [
          rows.map((r) => r[0]),
          rows.map((r) => r[1]),
          rows.map((r) => r[2]),
        ]);
      const links = writing.flatMap((plan) => plan.chunks.map((c) => [plan.digest, c.digest] as const));
      await client.query(
        `insert into strata.inventory_chunks (inventory_digest, chunk_id)
         select w.inventory_digest, c.chunk_id from unnest($1::text[], $2::text[]) as w(inventory_digest, chunk_digest)
         join strata.chunks c on c.chunk_digest = w.chunk_digest`,
        [links.map((l) => l[0]), links.map((l) => l[1])],
      );
      return fresh;
    });
    // An inventory given twice is created by its first mention only.
    const answered = new Set<string>();
    return plans.map((plan) => {
      const first = created.has(plan.digest) && !answered.has(plan.digest);
      answered.add(plan.digest);
      return { inventoryDigest: plan.digest, created: first, postings: plan.postings };
    });
  }

  /** Files an image (platform manifest) and the reference it was scanned by; the findings state is kept. */
  async putImage(image: ImageInput): Promise<void> {
    await this.putImages([image]);
  }

  /** putImage for many images, one statement per table (an image given twice: the last one counts). */
  async putImages(images: readonly ImageInput[]): Promise<void> {
    const byDigest = new Map<string, ImageInput>();
    for (const image of images) byDigest.set(image.manifestDigest, image);
    const list = [...byDigest.keys()].sort().map((d) => byDigest.get(d) as ImageInput);
    const repositories = list.map((i) => repositoryOf(i.imageRef));
    await this.transaction(async (client) => {
      await client.query(
        `insert into strata.image_manifests
           (manifest_digest, image_ref, repository, index_digest, os, architecture, variant, inventory_digest, inventory_key)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
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
          list.map((i) => i.manifestDigest),
          list.map((i) => i.imageRef),
          repositories,
          list.map((i) => i.indexDigest ?? null),
          list.map((i) => i.platform?.os ?? ''),
          list.map((i) => i.platform?.architecture ?? ''),
          list.map((i) => i.platform?.variant ?? ''),
          list.map((i) => i.inventoryDigest ?? null),
          list.map((i) => i.inventoryKey ?? ''),
        ],
      );
      await client.query(
        `insert into strata.image_refs (image_ref, manifest_digest, repository)
         select * from unnest($1::text[], $2::text[], $3::text[])
         on conflict (image_ref, manifest_digest) do update set last_seen_at = now()`,
        [list.map((i) => i.imageRef), list.map((i) => i.manifestDigest), repositories],
      );
    });
  }

  async image(manifestDigest: string): Promise<ImageRow | undefined> {
    const { rows } = await this.pool.query<ImageDbRow>(`select ${IMAGE_COLUMNS} from strata.image_manifests m where m.manifest_digest = $1`, [manifestDigest]);
    return rows[0] ? imageOf(rows[0]) : undefined;
  }

  /** The image's findings state, sorted; undefined when it was never matched (or is not filed). */
  async findingsState(manifestDigest: string): Promise<FindingsState | undefined> {
    return (await this.findingsStates([manifestDigest])).get(manifestDigest);
  }

  /** The findings states of many images in two queries (images never matched or not filed are absent). */
  async findingsStates(manifestDigests: readonly string[]): Promise<Map<string, FindingsState>> {
    const stored = await readStates(this.pool, manifestDigests, false);
    const out = new Map<string, FindingsState>();
    for (const [digest, s] of stored) if (s.version !== undefined) out.set(digest, { advisoryDbVersion: s.version, findings: s.findings });
    return out;
  }

  /**
   * Replaces an image's findings state (the image must be filed) and records the change in the
   * history, in one transaction: only the rows that changed are written. A state whose content
   * did not change only moves to the new version (no history row).
   */
  async setFindings(manifestDigest: string, input: SetFindingsInput): Promise<SetFindingsResult> {
    return (await this.setFindingsMany([{ manifestDigest, ...input }]))[0] as SetFindingsResult;
  }

  /**
   * setFindings for many images in one transaction: their rows are locked (in digest order) and
   * read in one query, and the changed findings, the history and the versions are written in one
   * statement each. Each input's expectedVersion is checked on its own (written: false when it
   * does not hold). Answers in the order given; one digest may appear once.
   */
  async setFindingsMany(inputs: readonly (SetFindingsInput & { manifestDigest: string })[]): Promise<SetFindingsResult[]> {
    if (new Set(inputs.map((i) => i.manifestDigest)).size !== inputs.length) throw new FindingsDbError('setFindingsMany: an image is given twice');
    return this.transaction(async (client) => {
      const stored = await readStates(
        client,
        inputs.map((i) => i.manifestDigest),
        true,
      );
      const writes: StateWrite[] = [];
      const results = inputs.map((input): SetFindingsResult | StateWrite => {
        const row = stored.get(input.manifestDigest);
        if (!row) throw new FindingsDbError(`image ${input.manifestDigest} is not in the findings DB: file it (putImage) before its findings`);
        if (input.expectedVersion !== undefined && (row.version ?? null) !== input.expectedVersion)
          return {
            written: false,
            delta: { added: [], resolved: [] },
            ...(row.version ? { previousVersion: row.version } : {}),
            counts: severityCounts(input.findings),
          };
        const write: StateWrite = { manifestDigest: input.manifestDigest, input, stored: row };
        writes.push(write);
        return write;
      });
      const written = await writeStates(client, writes);
      return results.map((r) => ('stored' in r ? (written.get(r.manifestDigest) as SetFindingsResult) : r));
    });
  }

  async scan(scanId: string): Promise<ScanRecord | undefined> {
    const { rows } = await this.pool.query<{ record: ScanRecord }>('select record from strata.scans where scan_id = $1', [scanId]);
    return rows[0]?.record;
  }

  /**
   * Every image holding a package filed under any of `pairs` ([ecosystem key, name], as the
   * advisory index and a DatabaseDiff name packages), with where it holds it: what
   * ListAffectedImages starts from. Sorted by manifest digest.
   */
  async holdings(pairs: readonly (readonly [string, string])[]): Promise<HoldingRow[]> {
    if (pairs.length === 0) return [];
    const { rows } = await this.pool.query<HoldingDbRow>({
      // A named statement: each connection plans this 8-way join once (planning costs ~10x its execution).
      name: 'strata-holdings',
      text: `with wanted as (select distinct * from unnest($1::text[], $2::text[]) as w(ecosystem, name)),
       found as (select distinct l.package_id from wanted w join strata.package_lookups l on l.ecosystem = w.ecosystem and l.name = w.name)
       select ${HOLDING_COLUMNS}
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
    return rows.map(holdingOf);
  }

  /** The distinct packages filed under any of `pairs` (each once, whatever number of images hold it). */
  async packagesFiledUnder(pairs: readonly (readonly [string, string])[]): Promise<PackageUnit[]> {
    if (pairs.length === 0) return [];
    const { rows } = await this.pool.query<{
      package_id: string;
      unit_key: string;
      ecosystem: string;
      name: string;
      installed_version: string;
      package: InventoryPackage;
      os: OsInfo | null;
    }>(
      `select distinct p.package_id, p.unit_key, p.ecosystem, p.name, p.installed_version, p.package, p.os
       from unnest($1::text[], $2::text[]) as w(ecosystem, name)
       join strata.package_lookups l on l.ecosystem = w.ecosystem and l.name = w.name
       join strata.packages p on p.package_id = l.package_id
       order by p.unit_key`,
      [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
    );
    return rows.map((r) => ({
      packageId: r.package_id,
      unitKey: r.unit_key,
      ecosystem: r.ecosystem,
      name: r.name,
      installedVersion: r.installed_version,
      pkg: r.package,
      ...(r.os ? { os: r.os } : {}),
    }));
  }

  /**
   * A page of the images holding any of `packageIds`, ordered by (inventory digest, manifest
   * digest), after the position `after` (a token this gave), at most `limit`; `next` is the token
   * of the page after, '' at the end. Each chunk holding the packages walks its inventories in
   * order and stops at the page's end, so a package held by most images costs one page of rows.
   */
  async imagesHolding(packageIds: readonly string[], after: string, limit: number): Promise<{ digests: string[]; next: string }> {
    if (packageIds.length === 0) return { digests: [], next: '' };
    const [fromInventory, fromImage] = after === '' ? ['', ''] : after.split(' ');
    if (fromInventory === undefined || fromImage === undefined || (after !== '' && after.split(' ').length !== 2))
      throw new FindingsDbError('not a page token this server gave');
    const { rows } = await this.pool.query<{ inventory_digest: string; manifest_digest: string }>({
      name: 'strata-images-holding',
      text: `select x.inventory_digest, x.manifest_digest
       from (select distinct chunk_id from strata.chunk_packages where package_id = any($1::bigint[])) c
       cross join lateral (
         select ic.inventory_digest, m.manifest_digest
         from strata.inventory_chunks ic
         join strata.image_manifests m on m.inventory_digest = ic.inventory_digest
         where ic.chunk_id = c.chunk_id and ic.inventory_digest >= $2 and (ic.inventory_digest, m.manifest_digest) > ($2, $3)
         order by ic.inventory_digest, m.manifest_digest
         limit $4) x
       group by 1, 2
       order by 1, 2
       limit $4`,
      values: [packageIds, fromInventory, fromImage, limit + 1],
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { digests: page.map((r) => r.manifest_digest), next: rows.length > limit && last ? `${last.inventory_digest} ${last.manifest_digest}` : '' };
  }

  /**
   * Where `images` hold `packageIds` (path, layer), without the packages' documents: sorted by
   * image, package, path and layer.
   */
  async holdingsOfPackages(images: readonly string[], packageIds: readonly string[]): Promise<PackageHoldingRow[]> {
    if (images.length === 0 || packageIds.length === 0) return [];
    const { rows } = await this.pool.query<
      ImageDbRow & { unit_key: string; path: string; layer_digest: string; layer_diff_id: string; layer_created_by: string }
    >({
      name: 'strata-holdings-of-packages',
      text: `with m as materialized (select * from strata.image_manifests where manifest_digest = any($1::text[]))
       select ${IMAGE_COLUMNS}, p.unit_key, pa.path, l.digest as layer_digest, l.diff_id as layer_diff_id, l.created_by as layer_created_by
       from m
       join strata.inventory_chunks ic on ic.inventory_digest = m.inventory_digest
       join strata.chunk_packages cp on cp.chunk_id = ic.chunk_id and cp.package_id = any($2::bigint[])
       join strata.packages p on p.package_id = cp.package_id
       join strata.paths pa on pa.path_id = cp.path_id
       join strata.chunks c on c.chunk_id = cp.chunk_id
       join strata.layers l on l.layer_id = c.layer_id
       order by m.manifest_digest, p.unit_key, pa.path, l.diff_id`,
      values: [images, packageIds],
    });
    return rows.map((r) => ({
      image: imageOf(r),
      unitKey: r.unit_key,
      path: r.path,
      layer: { digest: r.layer_digest, diffId: r.layer_diff_id, ...(r.layer_created_by ? { createdBy: r.layer_created_by } : {}) },
    }));
  }

  /**
   * What `images` hold of the packages filed under `pairs` (every package they hold when `pairs`
   * is undefined): a re-match batch's holdings. Walks from the images (their inventories' chunks)
   * to the packages, so a package shared by many more images costs only these images' rows.
   */
  async holdingsOf(images: readonly string[], pairs: readonly (readonly [string, string])[] | undefined): Promise<HoldingRow[]> {
    if (images.length === 0 || pairs?.length === 0) return [];
    const { rows } = await this.pool.query<HoldingDbRow>({
      name: pairs ? 'strata-holdings-of-pairs' : 'strata-holdings-of-all',
      text: `with m as materialized (select * from strata.image_manifests where manifest_digest = any($1::text[]))
       ${pairs ? ', found as materialized (select distinct l.package_id from unnest($2::text[], $3::text[]) as w(ecosystem, name) join strata.package_lookups l on l.ecosystem = w.ecosystem and l.name = w.name)' : ''}
       select ${HOLDING_COLUMNS}
       from m
       join strata.inventory_chunks ic on ic.inventory_digest = m.inventory_digest
       join strata.chunk_packages cp on cp.chunk_id = ic.chunk_id${pairs ? ' and cp.package_id in (select package_id from found)' : ''}
       join strata.packages p on p.package_id = cp.package_id
       join strata.paths pa on pa.path_id = cp.path_id
       join strata.chunks c on c.chunk_id = cp.chunk_id
       join strata.layers l on l.layer_id = c.layer_id
       order by m.manifest_digest, p.unit_key, pa.path, l.diff_id`,
      values: pairs ? [images, pairs.map((p) => p[0]), pairs.map((p) => p[1])] : [images],
    });
    return rows.map(holdingOf);
  }
}

export type HoldingDbRow = ImageDbRow & {
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
};

export const HOLDING_COLUMNS = `${IMAGE_COLUMNS}, p.unit_key, p.ecosystem, p.name, p.installed_version, p.package, p.os as pkg_os,
       pa.path, l.digest as layer_digest, l.diff_id as layer_diff_id, l.created_by as layer_created_by`;

export function holdingOf(r: HoldingDbRow): HoldingRow {
  return {
    image: imageOf(r),
    pkg: r.package,
    ...(r.pkg_os ? { os: r.pkg_os } : {}),
    unitKey: r.unit_key,
    ecosystem: r.ecosystem,
    name: r.name,
    installedVersion: r.installed_version,
    path: r.path,
    layer: { digest: r.layer_digest, diffId: r.layer_diff_id, ...(r.layer_created_by ? { createdBy: r.layer_created_by } : {}) },
  };
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
    // Short statements over indexes: PostgreSQL's JIT compiles a plan when its estimated cost is
    // high (a join over 100k images' postings), which cost ~150 ms per query and saved nothing.
    options: '-c jit=off',
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
