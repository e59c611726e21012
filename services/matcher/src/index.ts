// strata-matcher: matches image inventories against the advisory index, stores reports, publishes findings.
// Thin wiring: the stage itself is startMatcher in @strata/pipeline (docs/distributed.md).
export { startMatcher, matcherSettings } from '@strata/pipeline';
export type { MatcherConfig, StartOptions } from '@strata/pipeline';
