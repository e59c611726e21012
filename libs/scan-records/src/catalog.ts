// The image catalog: one document per matched image (`catalog/<manifest digest>.json`) naming its
// stored inventory and holding its current findings state. It is what the reverse index is
// rebuilt from, and what a re-match after an advisory update diffs against.
import { getJson, putJson, type BlobStore } from '@strata/blobstore';
import { forEachLimited, type ImageInventory } from '@strata/model';
import type { Logger } from '@strata/log';
import { ReverseIndex, type FindingSummary, type IndexedImage } from '@strata/reverse-index';

export const catalogPrefix = 'catalog/';
export const catalogKey = (manifestDigest: string): string => `${catalogPrefix}${manifestDigest}.json`;

export interface CatalogEntry extends IndexedImage {
  schemaVersion: 1;
  inventoryKey: string;
  /** the advisory DB version `findings` were last computed with */
  advisoryDbVersion: string;
  /** the image's findings at advisoryDbVersion, one per (package, vulnerability) */
  findings: FindingSummary[];
  updatedAt: string;
}

export const readCatalogEntry = (store: BlobStore, manifestDigest: string): Promise<CatalogEntry | undefined> =>
  getJson<CatalogEntry>(store, catalogKey(manifestDigest));
export const writeCatalogEntry = (store: BlobStore, entry: Omit<CatalogEntry, 'schemaVersion' | 'updatedAt'>): Promise<void> =>
  putJson(store, catalogKey(entry.manifestDigest), { schemaVersion: 1, ...entry, updatedAt: new Date().toISOString() } satisfies CatalogEntry);

export const indexedImage = (entry: CatalogEntry): IndexedImage => ({
  manifestDigest: entry.manifestDigest,
  imageRef: entry.imageRef,
  inventoryKey: entry.inventoryKey,
  ...(entry.indexDigest ? { indexDigest: entry.indexDigest } : {}),
  ...(entry.platform ? { platform: entry.platform } : {}),
});

export interface SyncResult {
  added: number;
  /** catalog entries whose inventory is gone from the store (logged, left out) */
  missing: number;
}

/**
 * Brings a reverse index up to date with the catalog: every catalogued image it does not hold yet
 * is read (entry + inventory) and indexed. At start-up this is the rebuild; later it is a cheap
 * listing that picks up images another instance matched.
 */
export async function syncReverseIndex(store: BlobStore, reverse: ReverseIndex, logger: Logger, concurrency = 16): Promise<SyncResult> {
  const unknown: string[] = [];
  for await (const key of store.list(catalogPrefix)) {
    if (!key.endsWith('.json')) continue;
    const digest = key.slice(catalogPrefix.length, -'.json'.length);
    if (!reverse.has(digest)) unknown.push(digest);
  }
  const result: SyncResult = { added: 0, missing: 0 };
  await forEachLimited(unknown, concurrency, async (digest) => {
    const entry = await readCatalogEntry(store, digest);
    const inventory = entry ? await getJson<ImageInventory>(store, entry.inventoryKey) : undefined;
    if (!entry || !inventory) {
      result.missing++;
      logger.warn({ manifestDigest: digest, inventoryKey: entry?.inventoryKey }, 'catalogued image has no stored inventory: left out of the reverse index');
      return;
    }
    reverse.put(indexedImage(entry), inventory);
    result.added++;
  });
  return result;
}
