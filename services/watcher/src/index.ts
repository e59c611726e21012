// strata-watcher: crawls the configured registries and requests scans of new or changed digests.
// Run one replica (it is a singleton). The crawl itself is @strata/registry-crawl (the CLI uses it too).
export { startWatcher } from './watcher.js';
export type { RunningWatcher, RegistryPassReport, HookReport } from './watcher.js';
export { parseDistributionEnvelope, parseHarborWebhook, createDedupWindow, memoryDedup, HookPayloadError, MAX_HOOK_EVENTS } from './hook.js';
export type { PushDedup } from './hook.js';
export type { PushedManifest, ParsedHook } from './hook.js';
export { watcherSettings, parseWatchedRegistries, watcherConfigProblems, isLoopbackHost, DEFAULT_REQUESTS_PER_SECOND } from './settings.js';
export type { WatcherConfig, WatchedRegistry } from './settings.js';
