// What changed between two advisory databases, from their manifests alone (no shard is read):
// the input of a re-match that must touch only the images holding the packages involved.
import { ownEntry } from './dict.js';
import type { IndexManifest } from './model.js';

export interface DatabaseDiff {
  fromVersion: string;
  toVersion: string;
  /** active in the new database, absent or withdrawn in the old */
  added: string[];
  /** active in both, with different content */
  changed: string[];
  /** active in the old database, withdrawn or gone in the new */
  withdrawn: string[];
  /** every [ecosystem key, package name] the ids above name, in the old or the new version */
  packages: [string, string][];
}

type HasManifest = { manifest: Pick<IndexManifest, 'dbVersion' | 'records'> };
type ManifestLike = Pick<IndexManifest, 'dbVersion' | 'records'>;

const manifestOf = (x: HasManifest | ManifestLike): ManifestLike => ('manifest' in x ? x.manifest : x);

/** Diffs two indexes (or their manifests). An id in both but withdrawn in both is no change. */
export function diffDatabases(oldIndex: HasManifest | ManifestLike, newIndex: HasManifest | ManifestLike): DatabaseDiff {
  const a = manifestOf(oldIndex);
  const b = manifestOf(newIndex);
  const added: string[] = [];
  const changed: string[] = [];
  const withdrawn: string[] = [];
  const packages = new Map<string, [string, string]>();
  const touch = (id: string): void => {
    for (const m of [ownEntry(a.records, id), ownEntry(b.records, id)]) {
      for (const pair of m?.packages ?? []) packages.set(pair.join('\u0000'), pair);
    }
  };
  const active = (m: ManifestLike, id: string): boolean => {
    const r = ownEntry(m.records, id);
    return r !== undefined && !r.withdrawn;
  };
  for (const id of Object.keys(b.records)) {
    if (!active(b, id)) continue;
    if (!active(a, id)) added.push(id);
    else if (ownEntry(a.records, id)?.hash !== ownEntry(b.records, id)?.hash) changed.push(id);
    else continue;
    touch(id);
  }
  for (const id of Object.keys(a.records)) {
    if (active(a, id) && !active(b, id)) {
      withdrawn.push(id);
      touch(id);
    }
  }
  const byKey = (x: [string, string], y: [string, string]): number => (x.join('\u0000') < y.join('\u0000') ? -1 : 1);
  return {
    fromVersion: a.dbVersion,
    toVersion: b.dbVersion,
    added: added.sort(),
    changed: changed.sort(),
    withdrawn: withdrawn.sort(),
    packages: [...packages.values()].sort(byKey),
  };
}
