// Stage: match a merged image inventory against the advisory index and assemble the ScanResult
// every report format renders from. The embedded scan and the distributed matcher both call this.
import type { AdvisoryIndex } from '@strata/advisories';
import { eolStatus, matchInventory, type EolStatus, type Finding } from '@strata/matcher';
import type { AnalyzerWarning, ImageInventory, ImageMetadata } from '@strata/model';
import { advisoryDbOf, type AdvisoryDbInfo } from '@strata/report';

export interface ScanResult {
  artifactName: string;
  metadata: ImageMetadata;
  inventory: ImageInventory;
  findings: Finding[];
  /** analyzer, merge, advisory-index and matcher warnings, each naming its file/layer */
  warnings: AnalyzerWarning[];
  eol: EolStatus | undefined;
  advisoryDbVersion: string;
  /** which advisory DB (folder, kind, version, records): every report format names it */
  advisoryDb: AdvisoryDbInfo;
  /** layers analyzed in this scan vs reused from the cache */
  layersAnalyzed: number;
  layersCached: number;
}

export interface MatchImageInput {
  artifactName: string;
  metadata: ImageMetadata;
  inventory: ImageInventory;
  index: AdvisoryIndex;
  /** warnings from opening the advisory index */
  indexWarnings?: AnalyzerWarning[];
  layersAnalyzed: number;
  layersCached: number;
  now?: Date;
}

export function matchImage(input: MatchImageInput): ScanResult {
  const matched = matchInventory(input.inventory, input.index);
  return {
    artifactName: input.artifactName,
    metadata: input.metadata,
    inventory: input.inventory,
    findings: matched.findings,
    warnings: [...input.inventory.warnings, ...(input.indexWarnings ?? []), ...matched.warnings],
    eol: input.inventory.os ? eolStatus(input.inventory.os, input.now ?? new Date()) : undefined,
    advisoryDbVersion: input.index.version,
    advisoryDb: advisoryDbOf(input.index.manifest),
    layersAnalyzed: input.layersAnalyzed,
    layersCached: input.layersCached,
  };
}
