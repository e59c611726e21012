// @strata/registry-crawl: what services/watcher and the CLI's `strata registry` share to walk a
// registry — the crawl (catalog, tags, digests by HEAD, index platforms), repository globs, a
// per-registry rate limiter, and the cursor kept in the blob store.
export { globToRegExp, repositoryMatcher } from './glob.js';
export type { RepositoryFilter } from './glob.js';
export { createRateLimiter, realClock } from './rate-limit.js';
export type { RateLimiter, RateLimitOptions, Clock } from './rate-limit.js';
export { crawlRegistry, resolveTag, scanTargets, targetReference, watcherClient } from './crawl.js';
export type { Crawl, CrawlProblem, TaggedDigest, ScanTarget, RegistryAccess } from './crawl.js';
export { expandDigests } from './expand.js';
export type { Expansion } from './expand.js';
export { cursorKey, emptyCursor, loadCursor, saveCursor, planPass } from './cursor.js';
export type { WatchCursor, PassPlan, NewDigest } from './cursor.js';
