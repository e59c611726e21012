// Blob housekeeping in the findings DB: which image references which layer blob and layer result
// (`strata.image_blobs`), and when a scan last relied on each (`strata.blob_refs`). The fetcher
// touches an image's keys before it checks or uses any of them; the sweeper deletes a key only
// while it holds the key's row locked, so a touch either lands first (the key is fresh and kept)
// or waits for the sweep to commit (the row is gone, the scan finds the object gone and fetches
// or analyzes it again). docs/distributed.md, "Blob housekeeping".
import type { FindingsDb } from './db.js';

/** `blob`: a compressed layer blob (`sha256:…`); `layer-result`: `layers/<cacheKey>.json`. */
export type BlobKind = 'blob' | 'layer-result';

export interface BlobReference {
  key: string;
  kind: BlobKind;
}

const ms = (value: number): string => String(Math.max(0, Math.floor(value)));

/**
 * Records that an image references `refs` and that a scan relies on them now. Call it before
 * checking whether any of them exists: it waits while a sweep is deleting one of them.
 */
export async function touchImageBlobs(db: FindingsDb, manifestDigest: string, refs: readonly BlobReference[]): Promise<void> {
  const unique = new Map(refs.map((r) => [r.key, r.kind]));
  const keys = [...unique.keys()].sort();
  if (keys.length === 0) return;
  await db.transaction(async (client) => {
    // In one order (blobs first, then results, each by key), so concurrent touches of shared keys
    // never deadlock. Blobs first: a sweep racing this touch can then take a layer's result but not
    // leave its result without the blob (the sweep skips the blob row this touch holds), so the
    // scan analyzes the layer again from the blob rather than trusting a result whose blob is gone.
    await client.query(
      `insert into strata.blob_refs (blob_key, kind, last_referenced_at)
       select k, t, now() from unnest($1::text[], $2::text[]) as w(k, t) order by t = 'layer-result', k
       on conflict (blob_key) do update set last_referenced_at = now()`,
      [keys, keys.map((k) => unique.get(k))],
    );
    await client.query(
      `insert into strata.image_blobs (manifest_digest, blob_key) select $1::text, k from unnest($2::text[]) as w(k) order by 2
       on conflict do nothing`,
      [manifestDigest, keys],
    );
  });
}

/**
 * Files keys found in the blob store that no scan touched yet (written before housekeeping, or
 * by an embedded scan into the same store) as referenced now: they get one grace period. Returns
 * how many were new.
 */
export async function adoptBlobs(db: FindingsDb, refs: readonly BlobReference[]): Promise<number> {
  if (refs.length === 0) return 0;
  const sorted = [...refs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const result = await db.pool.query(
    `insert into strata.blob_refs (blob_key, kind, last_referenced_at)
     select k, t, now() from unnest($1::text[], $2::text[]) as w(k, t) order by 1
     on conflict (blob_key) do nothing`,
    [sorted.map((r) => r.key), sorted.map((r) => r.kind)],
  );
  return result.rowCount ?? 0;
}

export interface SweepBatchOptions {
  /** a key last referenced longer ago than this is stale */
  graceMs: number;
  /** a QUEUED/RUNNING scan updated within this protects every key its image references, however old the touch */
  openScanMaxAgeMs: number;
  /** keys per transaction */
  batch: number;
  /**
   * Deletes the objects; runs while their rows are locked, so no scan can start relying on them
   * meanwhile. Throwing rolls the batch back (nothing is forgotten).
   */
  remove(refs: readonly BlobReference[]): Promise<void>;
}

/**
 * One batch: locks up to `batch` stale keys, removes their objects, forgets them. Returns what was
 * removed. Oldest first and, of one touch, the layer results before the blobs: a result is never
 * left without the blob it was analyzed from while a scan could still take it from the cache.
 */
export async function sweepStaleBatch(db: FindingsDb, options: SweepBatchOptions): Promise<BlobReference[]> {
  return db.transaction(async (client) => {
    const { rows } = await client.query<{ blob_key: string; kind: BlobKind }>(
      `select r.blob_key, r.kind from strata.blob_refs r
       where r.last_referenced_at < now() - ($1::bigint * interval '1 millisecond')
         and not exists (
           select 1 from strata.image_blobs ib join strata.scans s on s.manifest_digest = ib.manifest_digest
           where ib.blob_key = r.blob_key and s.status in ('QUEUED', 'RUNNING')
             and s.updated_at > now() - ($2::bigint * interval '1 millisecond'))
       order by r.last_referenced_at, r.kind = 'blob', r.blob_key
       limit $3
       for update of r skip locked`,
      [ms(options.graceMs), ms(options.openScanMaxAgeMs), options.batch],
    );
    const refs = rows.map((r) => ({ key: r.blob_key, kind: r.kind }));
    if (refs.length === 0) return refs;
    await options.remove(refs);
    const keys = refs.map((r) => r.key);
    await client.query('delete from strata.image_blobs where blob_key = any($1::text[])', [keys]);
    await client.query('delete from strata.blob_refs where blob_key = any($1::text[])', [keys]);
    return refs;
  });
}

/** Keys tracked, by kind (for the sweeper's gauge). */
export async function blobRefCounts(db: FindingsDb): Promise<Record<BlobKind, number>> {
  const { rows } = await db.pool.query<{ kind: BlobKind; n: string }>('select kind, count(*) as n from strata.blob_refs group by kind');
  const out: Record<BlobKind, number> = { blob: 0, 'layer-result': 0 };
  for (const r of rows) out[r.kind] = Number(r.n);
  return out;
}
