// From the digests a crawl found new to the images to scan, shared by the watcher and
// `strata registry`: indexes first, each expanded to its platforms; a manifest that is already a
// platform of an index (tagged on its own too, as some build tools do) is not scanned twice.
import { isIndexType, type RegistryClient } from '@strata/oci';
import { describeError } from '@strata/errors';
import { scanTargets, type ScanTarget } from './crawl.js';
import type { NewDigest } from './cursor.js';

export type Expansion =
  | { found: NewDigest; kind: 'targets'; targets: ScanTarget[]; skipped: string[] }
  | { found: NewDigest; kind: 'covered'; indexDigest: string }
  | { found: NewDigest; kind: 'error'; reason: string };

/**
 * Expands `fresh` digests one at a time (so a caller can publish as it goes). `covered` maps
 * platform manifest digests to their index, from earlier passes; it is extended as indexes expand.
 */
export async function* expandDigests(client: RegistryClient, fresh: readonly NewDigest[], covered = new Map<string, string>()): AsyncGenerator<Expansion> {
  const ordered = [...fresh].sort((a, b) => Number(isIndexType(b.mediaType)) - Number(isIndexType(a.mediaType)));
  for (const found of ordered) {
    const index = covered.get(found.digest);
    if (index !== undefined) {
      yield { found, kind: 'covered', indexDigest: index };
      continue;
    }
    let expanded: { targets: ScanTarget[]; skipped: string[] };
    try {
      expanded = await scanTargets(client, found);
    } catch (error) {
      yield { found, kind: 'error', reason: describeError(error) };
      continue;
    }
    for (const target of expanded.targets) if (target.manifestDigest) covered.set(target.manifestDigest, found.digest);
    yield { found, kind: 'targets', ...expanded };
  }
}
