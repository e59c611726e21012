// strata-matcher: matches inventories against the advisory index, stores reports, publishes findings, re-matches on advisory updates (docs/distributed.md).
export { startMatcher } from './matcher.js';
export { matcherSettings } from './settings.js';
export type { MatcherConfig } from './settings.js';
export { renderJsonReport } from './report.js';
export { advisoryVersionKey, advisoryLatestKey, publishAdvisoryUpdate } from './rematch.js';
export type { AdvisoryVersionDoc } from './rematch.js';
