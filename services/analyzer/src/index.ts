// strata-analyzer: analyzes fetched layers into stored layer results (run N replicas in one group).
// Thin wiring: the stage itself is startAnalyzer in @strata/pipeline (docs/distributed.md).
export { startAnalyzer, analyzerSettings } from '@strata/pipeline';
export type { AnalyzerConfig, StartOptions } from '@strata/pipeline';
