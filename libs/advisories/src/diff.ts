// What changed between two advisory databases, from their manifests alone (no affected entry is
// read): the input of a re-match that must touch only the images holding the packages involved.
// Two open indexes are walked side by side in id order, so a diff of full-size stores holds only
// its result in memory.
import { ownEntry } from './dict.js';
import type { IndexManifest, ManifestRecord } from './model.js';

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

type ManifestLike = Pick<IndexManifest, 'dbVersion' | 'records'>;
/** An open index (its records streamed from the store), or a manifest / stored record map. */
type DiffSide = { manifest: ManifestLike; manifestRecords?: () => Iterable<[string, ManifestRecord]> } | ManifestLike;

function sortedRecords(side: DiffSide): { dbVersion: string; records: Iterable<[string, ManifestRecord]> } {
  if ('manifest' in side) {
    if (side.manifestRecords) return { dbVersion: side.manifest.dbVersion, records: side.manifestRecords() };
    return sortedRecords(side.manifest);
  }
  const { records } = side;
  const ids = Object.keys(records).sort();
  return { dbVersion: side.dbVersion, records: ids.map((id) => [id, ownEntry(records, id) as ManifestRecord] as [string, ManifestRecord]) };
}

/** Diffs two indexes (or their manifests). An id in both but withdrawn in both is no change. */
export function diffDatabases(oldIndex: DiffSide, newIndex: DiffSide): DatabaseDiff {
  const a = sortedRecords(oldIndex);
  const b = sortedRecords(newIndex);
  const added: string[] = [];
  const changed: string[] = [];
  const withdrawn: string[] = [];
  const packages = new Map<string, [string, string]>();
  const touch = (...ms: (ManifestRecord | undefined)[]): void => {
    for (const m of ms) for (const pair of m?.packages ?? []) packages.set(pair.join('\u0000'), pair);
  };
  const active = (m: ManifestRecord | undefined): boolean => m !== undefined && !m.withdrawn;
  const compare = (id: string, before: ManifestRecord | undefined, after: ManifestRecord | undefined): void => {
    if (active(after)) {
      if (!active(before)) added.push(id);
      else if (before?.hash !== after?.hash) changed.push(id);
      else return;
      touch(before, after);
    } else if (active(before)) {
      withdrawn.push(id);
      touch(before, after);
    }
  };
  // Merge join over both id-ordered streams.
  const ia = a.records[Symbol.iterator]();
  const ib = b.records[Symbol.iterator]();
  let x = ia.next();
  let y = ib.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value[0] < y.value[0])) {
      const [id, m] = x.value as [string, ManifestRecord];
      compare(id, m, undefined);
      x = ia.next();
    } else if (x.done || y.value[0] < x.value[0]) {
      compare(y.value[0], undefined, y.value[1]);
      y = ib.next();
    } else {
      compare(x.value[0], x.value[1], y.value[1]);
      x = ia.next();
      y = ib.next();
    }
  }
  const byKey = (p: [string, string], q: [string, string]): number => (p.join('\u0000') < q.join('\u0000') ? -1 : 1);
  return {
    fromVersion: a.dbVersion,
    toVersion: b.dbVersion,
    added: added.sort(),
    changed: changed.sort(),
    withdrawn: withdrawn.sort(),
    packages: [...packages.values()].sort(byKey),
  };
}
