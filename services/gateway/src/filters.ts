// WatchFindings filters: ANDed across fields, ORed inside one repeated field, empty = everything.
import { FindingsKind, Severity, type FindingsPublished, type SeverityCounts, type WatchFindingsRequest } from '@strata/contracts';
import { DOCKER_HUB_REGISTRY, familiarName, parseReference } from '@strata/oci';

export type FindingsFilter = (event: FindingsPublished) => boolean;

/** The names an image ref's repository goes by: as given, "registry/repo", and Docker's short forms. */
function repositoryNames(imageRef: string): string[] {
  const names = [imageRef];
  try {
    const ref = parseReference(imageRef);
    if (ref.kind === 'registry') {
      names.push(`${ref.registry}/${ref.repository}`, familiarName(ref.registry, ref.repository));
      if (ref.registry === DOCKER_HUB_REGISTRY) names.push(`docker.io/${ref.repository}`);
    }
  } catch {
    // an unparsable ref still matches on its raw text
  }
  return names;
}

function countAtOrAbove(counts: SeverityCounts | undefined, min: Severity): number {
  if (!counts) return 0;
  const bySeverity: [Severity, number][] = [
    [Severity.UNKNOWN, counts.unknown],
    [Severity.LOW, counts.low],
    [Severity.MEDIUM, counts.medium],
    [Severity.HIGH, counts.high],
    [Severity.CRITICAL, counts.critical],
  ];
  return bySeverity.reduce((sum, [severity, n]) => (severity >= min ? sum + n : sum), 0);
}

export function findingsFilter(request: Pick<WatchFindingsRequest, 'repositoryPrefixes' | 'manifestDigests' | 'minSeverity' | 'kinds'>): FindingsFilter {
  const prefixes = request.repositoryPrefixes.filter((p) => p !== '');
  const digests = new Set(request.manifestDigests.filter((d) => d !== ''));
  const kinds = new Set<FindingsKind>(request.kinds.filter((k) => k !== FindingsKind.UNSPECIFIED));
  const min = request.minSeverity;
  return (event) => {
    if (kinds.size > 0 && !kinds.has(event.kind)) return false;
    if (digests.size > 0 && !digests.has(event.manifestDigest) && !(event.indexDigest && digests.has(event.indexDigest))) return false;
    if (prefixes.length > 0) {
      const names = repositoryNames(event.imageRef);
      if (!prefixes.some((prefix) => names.some((name) => name.startsWith(prefix)))) return false;
    }
    if (min !== Severity.UNSPECIFIED) {
      const relevant = event.kind === FindingsKind.DELTA ? event.added.some((f) => f.severity >= min) : countAtOrAbove(event.counts, min) > 0;
      if (!relevant) return false;
    }
    return true;
  };
}
