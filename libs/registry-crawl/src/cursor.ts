// The watcher's memory of a registry: which digest each tag pointed at, and which digests were
// already requested for scanning. Stored in the blob store after a pass has published its scan
// requests, so a restart neither loses a change nor rescans what was requested.
import { getJson, putJson, type BlobStore } from '@strata/blobstore';
import type { Crawl, TaggedDigest } from './crawl.js';

export interface WatchCursor {
  schemaVersion: 1;
  registry: string;
  /** `<repository>:<tag>` → the digest it pointed at */
  tags: Record<string, string>;
  /** digests (manifest or index) whose scans were requested, sorted */
  requested: string[];
  /** index digest → the platform manifest digests requested for it (a tag on one of those is not scanned again on its own) */
  platforms: Record<string, string[]>;
  updatedAt: string;
}

export const cursorKey = (registry: string) => `watcher/${registry}/cursor.json`;

export function emptyCursor(registry: string): WatchCursor {
  return { schemaVersion: 1, registry, tags: {}, requested: [], platforms: {}, updatedAt: new Date(0).toISOString() };
}

export async function loadCursor(store: BlobStore, registry: string): Promise<WatchCursor> {
  const doc = await getJson<WatchCursor>(store, cursorKey(registry));
  if (doc === undefined) return emptyCursor(registry);
  if (doc.schemaVersion !== 1 || typeof doc.tags !== 'object' || !Array.isArray(doc.requested)) {
    throw new Error(`${cursorKey(registry)} in ${store.location} is not a watcher cursor of schema version 1`);
  }
  return { ...doc, platforms: doc.platforms ?? {} };
}

export function saveCursor(store: BlobStore, cursor: WatchCursor): Promise<void> {
  return putJson(store, cursorKey(cursor.registry), cursor);
}

/** A digest seen for the first time (or again after it left the registry): to be scanned. */
export interface NewDigest extends TaggedDigest {
  /** every tag of the repository pointing at it */
  tags: string[];
}

export interface PassPlan {
  /** digests to request, once each, under their first repository:tag */
  fresh: NewDigest[];
  /** tags whose digest was already requested (unchanged tags, and new tags of known digests) */
  unchanged: TaggedDigest[];
  /** the cursor to save once the fresh digests are published */
  next: WatchCursor;
}

const tagKey = (repository: string, tag: string) => `${repository}:${tag}`;

/**
 * Compares a crawl with the cursor. The next cursor holds the crawled tags (and, for repositories
 * whose crawl failed, their previous tags) and the requested digests still referenced by a tag:
 * a digest that left the registry is forgotten, so if it comes back it is scanned again.
 */
export function planPass(cursor: WatchCursor, crawl: Crawl): PassPlan {
  const requested = new Set(cursor.requested);
  const fresh = new Map<string, NewDigest>();
  const unchanged: TaggedDigest[] = [];
  const tags: Record<string, string> = {};
  for (const found of crawl.tags) {
    tags[tagKey(found.repository, found.tag)] = found.digest;
    if (requested.has(found.digest)) {
      unchanged.push(found);
      continue;
    }
    const seen = fresh.get(found.digest);
    if (!seen) fresh.set(found.digest, { ...found, tags: [found.tag] });
    else if (seen.repository === found.repository) seen.tags.push(found.tag);
    else unchanged.push(found);
  }
  const failed = new Set(crawl.failedRepositories);
  for (const [key, digest] of Object.entries(cursor.tags)) {
    const repository = key.slice(0, key.lastIndexOf(':'));
    if (failed.has(repository) && !(key in tags)) tags[key] = digest;
  }
  const referenced = new Set(Object.values(tags));
  const nextRequested = [...new Set([...cursor.requested, ...fresh.keys()])].filter((d) => referenced.has(d)).sort();
  const platforms = Object.fromEntries(Object.entries(cursor.platforms).filter(([index]) => referenced.has(index)));
  return {
    fresh: [...fresh.values()],
    unchanged,
    next: { schemaVersion: 1, registry: cursor.registry, tags, requested: nextRequested, platforms, updatedAt: new Date().toISOString() },
  };
}
