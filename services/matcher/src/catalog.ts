// Where the matcher keeps each image's findings state and finds the images an advisory update
// touches: the findings DB (PostgreSQL, when STRATA_PG_URL is set: SQL selects the images, nothing
// is held in memory) or the blob-store catalog with the in-memory reverse index rebuilt at start.
import type { AdvisoryIndex } from '@strata/advisories';
import type { BlobStore } from '@strata/blobstore';
import type { FindingsDb } from '@strata/findings-db';
import type { Logger } from '@strata/log';
import type { ImageInventory } from '@strata/model';
import { rematchHoldings, type AffectedImage, type FindingSummary, type IndexedImage, type ReverseIndex } from '@strata/reverse-index';
import { indexedImage, readCatalogEntry, syncReverseIndex, writeCatalogEntry } from '@strata/scan-records';

export interface ImageState {
  image: IndexedImage;
  /** the DB version the findings were computed with */
  advisoryDbVersion: string;
  findings: FindingSummary[];
}

export interface FindingsCatalog {
  readonly kind: 'findings-db' | 'blob-store';
  /** After a scan: files the image (platform, inventory) and its findings state at dbVersion, unless current. */
  fileScan(
    image: IndexedImage,
    dbVersion: string,
    findings: (inventory: ImageInventory) => FindingSummary[],
    inventory: () => Promise<ImageInventory>,
  ): Promise<void>;
  /** The images holding any of `pairs`, with the current findings (under `index`) of the packages they hold. */
  affected(pairs: readonly (readonly [string, string])[], index: AdvisoryIndex): Promise<Map<string, AffectedImage>>;
  state(image: IndexedImage): Promise<ImageState | undefined>;
  /** Writes a re-matched state; false when the stored state moved since `previous` was read. */
  writeRematched(previous: ImageState, next: FindingSummary[], dbVersion: string): Promise<boolean>;
  /** log fields describing what the catalog holds */
  stats(): Record<string, number>;
}

export function findingsDbCatalog(db: FindingsDb): FindingsCatalog {
  return {
    kind: 'findings-db',
    async fileScan(image, dbVersion, findings, inventory) {
      const stored = await db.image(image.manifestDigest);
      const current = stored?.advisoryDbVersion === dbVersion && stored.inventoryKey === image.inventoryKey && stored.inventoryDigest !== undefined;
      if (current) {
        // a rescan under another reference: record the reference only
        if (stored.imageRef !== image.imageRef) await db.putImage({ ...image, inventoryDigest: stored.inventoryDigest as string });
        return;
      }
      const loaded = await inventory();
      const { inventoryDigest } = await db.putInventory(loaded);
      await db.putImage({ ...image, inventoryDigest });
      await db.setFindings(image.manifestDigest, { kind: 'FULL', advisoryDbVersion: dbVersion, findings: findings(loaded) });
    },
    async affected(pairs, index) {
      return rematchHoldings(await db.holdings(pairs), index);
    },
    async state(image) {
      const state = await db.findingsState(image.manifestDigest);
      return state ? { image, ...state } : undefined;
    },
    async writeRematched(previous, next, dbVersion) {
      const { written } = await db.setFindings(previous.image.manifestDigest, {
        kind: 'DELTA',
        advisoryDbVersion: dbVersion,
        findings: next,
        expectedVersion: previous.advisoryDbVersion,
      });
      return written;
    },
    stats: () => ({}),
  };
}

export function blobStoreCatalog(store: BlobStore, reverse: ReverseIndex, logger: Logger): FindingsCatalog {
  return {
    kind: 'blob-store',
    async fileScan(image, dbVersion, findings, inventory) {
      const entry = await readCatalogEntry(store, image.manifestDigest);
      const current = entry?.advisoryDbVersion === dbVersion && entry.inventoryKey === image.inventoryKey;
      if (current && reverse.has(image.manifestDigest)) return;
      const loaded = await inventory();
      if (!current)
        await writeCatalogEntry(store, { ...image, inventoryKey: image.inventoryKey ?? '', advisoryDbVersion: dbVersion, findings: findings(loaded) });
      reverse.put(image, loaded);
    },
    async affected(pairs, index) {
      // images matched by other instances count too
      await syncReverseIndex(store, reverse, logger);
      return reverse.rematch(pairs, index);
    },
    async state(image) {
      const entry = await readCatalogEntry(store, image.manifestDigest);
      return entry ? { image: indexedImage(entry), advisoryDbVersion: entry.advisoryDbVersion, findings: entry.findings } : undefined;
    },
    async writeRematched(previous, next, dbVersion) {
      await writeCatalogEntry(store, { ...previous.image, inventoryKey: previous.image.inventoryKey ?? '', advisoryDbVersion: dbVersion, findings: next });
      return true;
    },
    stats: () => ({ indexedImages: reverse.stats().images }),
  };
}

/** The start-up rebuild of the blob-store catalog's reverse index. */
export async function rebuildReverseIndex(store: BlobStore, reverse: ReverseIndex, logger: Logger): Promise<void> {
  const started = performance.now();
  const synced = await syncReverseIndex(store, reverse, logger);
  logger.info({ ...reverse.stats(), missing: synced.missing, ms: Math.round(performance.now() - started) }, 'reverse index rebuilt from the catalog');
}
