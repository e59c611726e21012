// strata-watcher: crawls the configured registries and requests scans of new or changed digests.
// Run one replica (it is a singleton). The crawl itself is @strata/registry-crawl (the CLI uses it too).
export { startWatcher } from './watcher.js';
export type { RunningWatcher, RegistryPassReport } from './watcher.js';
export { watcherSettings, parseWatchedRegistries, watcherConfigProblems, DEFAULT_REQUESTS_PER_SECOND } from './settings.js';
export type { WatcherConfig, WatchedRegistry } from './settings.js';
