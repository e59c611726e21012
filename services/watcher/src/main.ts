// Entry point of strata-watcher: settings from the environment, graceful stop on SIGTERM. With
// STRATA_WATCH_ONCE it makes one pass over the registries and exits (1 if a registry failed).
import { runServiceMain } from '@strata/service-runtime';
import { watcherSettings } from './settings.js';
import { startWatcher } from './watcher.js';

await runServiceMain({
  service: 'watcher',
  settings: watcherSettings,
  async start(config) {
    const watcher = await startWatcher(config);
    if (config.STRATA_WATCH_ONCE) {
      void watcher.done.then(async () => {
        const failed = await watcher.runtime.metrics.value('strata_watcher_passes_total', { outcome: 'failed' });
        await watcher.stop();
        watcher.runtime.logger.info({ failedRegistries: failed }, 'one pass done: exiting');
        process.exit(failed > 0 ? 1 : 0);
      });
    }
    return watcher;
  },
});
