// The reverse index of image inventories — (ecosystem, package) → images, versions, layers — and
// the findings summaries and deltas a re-match after an advisory update publishes.
export { ReverseIndex, packagePostings, rematchHoldings, matchPackages } from './reverse-index.js';
export type { IndexedImage, PackageHolding, AffectedImage, ReverseIndexStats, PackagePosting, UnitHolding } from './reverse-index.js';
export { summarizeFindings, diffSummaries, replaceFindings, packageKey, osEcosystemKey, languageEcosystemKey } from './summary.js';
export type { FindingSummary, FindingsDelta } from './summary.js';
export { imagesAffectedBy, advisoryPackages, withFindings } from './affected.js';
