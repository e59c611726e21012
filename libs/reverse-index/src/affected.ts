// "Which images does this advisory hit right now?" — the advisory's packages from the index
// manifest, the images holding them from the reverse index, and a match restricted to its records.
import type { AdvisoryIndex } from '@strata/advisories';
import type { AffectedImage, ReverseIndex } from './reverse-index.js';

export interface AdvisoryImpact {
  /** the records the id resolved to (itself, or the records naming it as alias/upstream/CVE) */
  recordIds: string[];
  /** images with at least one finding of those records, by manifest digest */
  images: AffectedImage[];
}

export function imagesAffectedBy(reverse: ReverseIndex, index: AdvisoryIndex, idOrAlias: string): AdvisoryImpact {
  const recordIds = index.recordIds(idOrAlias);
  const pairs = recordIds.flatMap((id) => index.manifestRecord(id)?.packages ?? []);
  if (pairs.length === 0) return { recordIds, images: [] };
  const affected = reverse.rematch(pairs, index, new Set(recordIds));
  const images = [...affected.values()].filter((a) => a.findings.length > 0).sort((a, b) => (a.image.manifestDigest < b.image.manifestDigest ? -1 : 1));
  return { recordIds, images };
}
