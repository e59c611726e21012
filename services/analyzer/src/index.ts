// strata-analyzer: analyzes fetched layers (the embedded scan's layer analysis) into the layer cache (docs/distributed.md).
export { ANALYZER_CONSUMER_GROUP, startAnalyzer } from './analyzer.js';
export { analyzerSettings } from './settings.js';
export type { AnalyzerConfig } from './settings.js';
