// strata-watcher: crawls the configured registries and requests scans of new or changed digests.
// Thin wiring: the work is startWatcher in @strata/watcher. Run one replica (it is a singleton).
export { startWatcher, watcherSettings } from '@strata/watcher';
export type { WatcherConfig, RunningWatcher } from '@strata/watcher';
