// @strata/watcher: continuous registry scanning. The crawl (catalog, tags, digests by HEAD, index
// platforms), repository globs, a per-registry rate limiter, the cursor kept in the blob store,
// and startWatcher, which publishes scan.requested for new or changed digests.
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
export { watcherSettings, parseWatchedRegistries, watcherConfigProblems, DEFAULT_REQUESTS_PER_SECOND } from './settings.js';
export type { WatcherConfig, WatchedRegistry } from './settings.js';
export { startWatcher } from './watcher.js';
export type { RunningWatcher, RegistryPassReport } from './watcher.js';
