// Matching an image inventory against the advisory index: findings with status, severity (and its
// source), layer and advisory details; end-of-life detection; the CLI's finding filters.
export type { Finding, FindingStatus, TargetClass, DataSource } from './finding.js';
export { matchInventory, osTarget, dataSourceFor, installedVersionOf } from './match.js';
export type { MatchOptions, MatchResult } from './match.js';
export type { SeveritySource, SeverityChoice, RecordEvidence } from './severity.js';
export { chooseSeverity, vendorSeverity, databaseSeverity, scoreRecord } from './severity.js';
export type { CvssScore, CvssType } from './cvss.js';
export { scoreVector, ratingForScore } from './cvss.js';
export { evaluateRange, inVersionList } from './ranges.js';
export type { RangeVerdict } from './ranges.js';
export { endOfLifeDate, isEndOfLife, eolStatus, eolWarning } from './eol.js';
export type { EolStatus } from './eol.js';
export { parseIgnoreFile, parseSeverities, filterFindings, isIgnored } from './filter.js';
export type { IgnoreRule, IgnoreFile, FilterOptions } from './filter.js';
