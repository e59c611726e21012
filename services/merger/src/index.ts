// strata-merger: merges an image's layer results into its inventory once every layer is analyzed.
// Thin wiring: the stage itself is startMerger in @strata/pipeline (docs/distributed.md).
export { startMerger, mergerSettings } from '@strata/pipeline';
export type { MergerConfig, StartOptions } from '@strata/pipeline';
