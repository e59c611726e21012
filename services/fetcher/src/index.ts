// strata-fetcher: resolves requested images and gets uncached layer blobs into the blob store (docs/distributed.md).
export { startFetcher } from './fetcher.js';
export { fetcherSettings } from './settings.js';
export type { FetcherConfig } from './settings.js';
export { sweepOnce, startSweeper } from './sweeper.js';
export type { SweepOptions, SweepReport, SweepRuntime } from './sweeper.js';
