// strata-merger: merges the analyzed layers of an image into its inventory (docs/distributed.md).
export { startMerger } from './merger.js';
export { mergerSettings } from './settings.js';
export type { MergerConfig } from './settings.js';
