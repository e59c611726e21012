// One crawl of a registry: the repositories of its catalog that the filter keeps, their tags, and
// each tag's digest (HEAD; GET only when HEAD gives no digest). Then, for the digests worth
// scanning, what to scan: a single manifest as is, an index as each of its platforms.
import {
  createRegistryClient,
  imageEntries,
  isIndexType,
  MANIFEST_ACCEPT,
  parseManifest,
  type Credentials,
  type Platform,
  type RegistryClient,
} from '@strata/oci';
import { describeError } from '@strata/errors';
import { repositoryMatcher, type RepositoryFilter } from './glob.js';
import type { RateLimiter } from './rate-limit.js';

export interface TaggedDigest {
  repository: string;
  tag: string;
  digest: string;
  mediaType?: string;
}

export interface CrawlProblem {
  repository?: string;
  tag?: string;
  reason: string;
}

export interface Crawl {
  registry: string;
  /** repositories listed by the catalog and kept by the filter */
  repositories: string[];
  /** every (repository, tag) resolved to a digest */
  tags: TaggedDigest[];
  /** repositories whose tags could not be listed, tags that could not be resolved: the rest goes on */
  problems: CrawlProblem[];
  /** repositories with a problem listing their tags (their previous state should be kept) */
  failedRepositories: string[];
}

export interface RegistryAccess {
  credentials?: Credentials;
  /** plain HTTP for a registry that is not on loopback */
  insecure?: boolean;
  /** every HTTP request to the registry waits for a token of this limiter */
  limiter?: RateLimiter;
  signal?: AbortSignal;
  /** page size asked of /v2/_catalog and tags/list (the registry may cap it; Link pagination follows) */
  pageSize?: number;
}

export function watcherClient(registry: string, access: RegistryAccess): RegistryClient {
  const limiter = access.limiter;
  return createRegistryClient(registry, {
    userAgent: 'strata-watcher',
    ...(access.credentials ? { credentials: access.credentials } : {}),
    ...(access.insecure ? { insecure: true } : {}),
    ...(access.signal ? { signal: access.signal } : {}),
    ...(limiter ? { throttle: (signal?: AbortSignal) => limiter.take(signal) } : {}),
  });
}

/** Runs `work` over `items`, `limit` at a time, in order of start. */
async function eachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The digest (and media type) a tag points at now, or undefined when the tag is gone. */
export async function resolveTag(client: RegistryClient, repository: string, tag: string): Promise<{ digest: string; mediaType?: string } | undefined> {
  const head = await client.headManifest(repository, tag, { accept: MANIFEST_ACCEPT });
  if (head === undefined) return undefined;
  if (head.digest) return head.mediaType ? { digest: head.digest, mediaType: head.mediaType } : { digest: head.digest };
  // Some registries answer HEAD without Docker-Content-Digest: the manifest bytes tell.
  const got = await client.getManifest(repository, tag, { accept: MANIFEST_ACCEPT });
  return got.mediaType ? { digest: got.digest, mediaType: got.mediaType } : { digest: got.digest };
}

/**
 * Lists the registry's repositories (kept by `filter`) and resolves every tag. With
 * `filter.repositories` (registries without `/v2/_catalog`: Docker Hub, GHCR, ECR) the catalog is
 * not read: those repositories are crawled, still through include/exclude. A failure to read
 * the catalog fails the crawl (the registry is down or refuses us); a failure in one repository
 * is a problem of that repository, and the others go on.
 */
export async function crawlRegistry(
  registry: string,
  filter: RepositoryFilter & { repositories?: readonly string[] },
  access: RegistryAccess = {},
  client = watcherClient(registry, access),
): Promise<Crawl> {
  const keep = repositoryMatcher(filter);
  const page = access.pageSize ? { pageSize: access.pageSize } : {};
  const listed = filter.repositories !== undefined ? [...filter.repositories] : await client.listRepositories(page);
  const repositories = [...new Set(listed)].filter(keep).sort();
  const crawl: Crawl = { registry, repositories, tags: [], problems: [], failedRepositories: [] };
  await eachLimit(repositories, 4, async (repository) => {
    let tags: string[];
    try {
      tags = (await client.listTags(repository, page)).sort();
    } catch (error) {
      crawl.problems.push({ repository, reason: describeError(error) });
      crawl.failedRepositories.push(repository);
      return;
    }
    for (const tag of tags) {
      try {
        const resolved = await resolveTag(client, repository, tag);
        if (resolved) crawl.tags.push({ repository, tag, ...resolved });
      } catch (error) {
        crawl.problems.push({ repository, tag, reason: describeError(error) });
        if (!crawl.failedRepositories.includes(repository)) crawl.failedRepositories.push(repository);
      }
    }
  });
  crawl.tags.sort((a, b) => a.repository.localeCompare(b.repository) || a.tag.localeCompare(b.tag));
  crawl.failedRepositories.sort();
  return crawl;
}

/** One image to scan: a manifest, or one platform of an index. */
export interface ScanTarget {
  repository: string;
  /** the tag it was found under (the first, when several point at the same digest) */
  tag: string;
  /** every tag of the repository pointing at `digest` */
  tags: string[];
  /** what the tag points at: the manifest, or the index */
  digest: string;
  /** set for a platform of an index */
  platform?: Platform;
  /** the platform's manifest digest, for a platform of an index */
  manifestDigest?: string;
  /** the index digest, for a platform of an index */
  indexDigest?: string;
}

/** `host/repository:tag@digest`: pinned to the digest (a moving tag cannot change what is scanned), the tag kept for the report's names. */
export function targetReference(registry: string, target: Pick<ScanTarget, 'repository' | 'tag' | 'digest'>): string {
  return `${registry}/${target.repository}:${target.tag}@${target.digest}`;
}

/**
 * What to scan for a digest: itself when it is a manifest, each platform entry when it is an
 * index (attestation manifests and unknown/unknown entries skipped; nested indexes are not
 * followed and are reported in `skipped`).
 */
export async function scanTargets(
  client: RegistryClient,
  found: { repository: string; tag: string; tags: string[]; digest: string; mediaType?: string },
): Promise<{ targets: ScanTarget[]; skipped: string[] }> {
  const base = { repository: found.repository, tag: found.tag, tags: found.tags, digest: found.digest };
  if (found.mediaType !== undefined && !isIndexType(found.mediaType)) return { targets: [base], skipped: [] };
  const image = targetReference(client.registry, found);
  const got = await client.getManifest(found.repository, found.digest, { accept: MANIFEST_ACCEPT, image });
  const doc = parseManifest(got.body, got.mediaType, image, got.digest);
  if (doc.kind === 'manifest') return { targets: [base], skipped: [] };
  const targets: ScanTarget[] = [];
  const skipped: string[] = [];
  for (const entry of imageEntries(doc)) {
    if (isIndexType(entry.mediaType) || !entry.platform) {
      skipped.push(`${entry.digest} (${isIndexType(entry.mediaType) ? 'nested index' : 'no platform'})`);
      continue;
    }
    const p = entry.platform;
    const platform: Platform = p.variant ? { os: p.os, architecture: p.architecture, variant: p.variant } : { os: p.os, architecture: p.architecture };
    targets.push({ ...base, platform, manifestDigest: entry.digest, indexDigest: found.digest });
  }
  return { targets, skipped };
}
