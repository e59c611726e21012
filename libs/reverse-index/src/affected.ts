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

/** The records an id or alias resolves to, and the (ecosystem key, name) pairs they name. */
export function advisoryPackages(index: AdvisoryIndex, idOrAlias: string): { recordIds: string[]; pairs: [string, string][] } {
  const recordIds = index.recordIds(idOrAlias);
  return { recordIds, pairs: recordIds.flatMap((id) => index.manifestRecord(id)?.packages ?? []) };
}

/** The affected images of a re-match restricted to the advisory's records: those with a finding, by digest. */
export const withFindings = (affected: Map<string, AffectedImage>): AffectedImage[] =>
  [...affected.values()].filter((a) => a.findings.length > 0).sort((a, b) => (a.image.manifestDigest < b.image.manifestDigest ? -1 : 1));

export function imagesAffectedBy(reverse: ReverseIndex, index: AdvisoryIndex, idOrAlias: string): AdvisoryImpact {
  const { recordIds, pairs } = advisoryPackages(index, idOrAlias);
  if (pairs.length === 0) return { recordIds, images: [] };
  return { recordIds, images: withFindings(reverse.rematch(pairs, index, new Set(recordIds))) };
}
