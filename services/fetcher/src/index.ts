// strata-fetcher: resolves requested images and gets uncached layer blobs into the blob store.
// Thin wiring: the stage itself is startFetcher in @strata/pipeline (docs/distributed.md).
export { startFetcher, fetcherSettings } from '@strata/pipeline';
export type { FetcherConfig, StartOptions } from '@strata/pipeline';
