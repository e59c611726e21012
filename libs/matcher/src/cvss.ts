// Scoring the CVSS vectors OSV records carry (severity[].type CVSS_V2 / CVSS_V3 / CVSS_V4) with
// ae-cvss-calculator, which implements FIRST's CVSS 2.0, 3.0, 3.1 and 4.0.
import { createRequire } from 'node:module';
import type * as CvssCalculator from 'ae-cvss-calculator';
import type { Severity } from '@strata/model';

// The calculator takes a quarter of a second to load: required on the first vector scored.
const requireCjs = createRequire(import.meta.url);
let calculator: typeof CvssCalculator | undefined;
const cvss = (): typeof CvssCalculator => (calculator ??= requireCjs('ae-cvss-calculator') as typeof CvssCalculator);

export type CvssType = 'CVSS_V2' | 'CVSS_V3' | 'CVSS_V4';

export interface CvssScore {
  type: CvssType;
  /** the vector's own version, e.g. "3.1" */
  version: string;
  vector: string;
  /** the base score */
  score: number;
  /** the qualitative rating of the base score for that CVSS version */
  severity: Severity;
  /** the OSV record the vector came from */
  source: string;
}

/** FIRST's qualitative ratings. v3/v4 "None" (0.0) is reported as LOW: Strata has no NONE level. */
export function ratingForScore(type: CvssType, score: number): Severity {
  if (type === 'CVSS_V2') return score >= 7 ? 'HIGH' : score >= 4 ? 'MEDIUM' : 'LOW';
  if (score >= 9) return 'CRITICAL';
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';
  return 'LOW';
}

const EXPECTED_NAME: Record<CvssType, RegExp> = {
  CVSS_V2: /^CVSS:2\.0$/,
  CVSS_V3: /^CVSS:3\.[01]$/,
  CVSS_V4: /^CVSS:4\.0$/,
};

/**
 * Scores by (type, vector), null for a refused vector: a few vectors recur across thousands of
 * records, and parsing one costs more than the rest of a finding. Bounded: cleared when full.
 */
const scored = new Map<string, Omit<CvssScore, 'source'> | null>();
const MAX_SCORED = 4096;

/** Scores one vector, or undefined when the calculator refuses it (or it is of the wrong version). */
export function scoreVector(type: string, vector: string, source: string): CvssScore | undefined {
  if (type !== 'CVSS_V2' && type !== 'CVSS_V3' && type !== 'CVSS_V4') return undefined;
  const key = `${type} ${vector}`;
  let hit = scored.get(key);
  if (hit === undefined) {
    hit = computeScore(type, vector) ?? null;
    if (scored.size >= MAX_SCORED) scored.clear();
    scored.set(key, hit);
  }
  return hit ? { ...hit, source } : undefined;
}

function computeScore(type: CvssType, vector: string): Omit<CvssScore, 'source'> | undefined {
  const calc = cvss();
  let parsed: { getVectorName(): string; calculateScores(): { base?: number } } | null | undefined;
  try {
    parsed = calc.fromVector(vector);
  } catch {
    return undefined;
  }
  if (!parsed) return undefined;
  let name: string;
  let base: number | undefined;
  try {
    name = parsed.getVectorName();
    if (!EXPECTED_NAME[type].test(name)) return undefined;
    base = parsed.calculateScores().base;
  } catch {
    return undefined;
  }
  if (typeof base !== 'number' || !Number.isFinite(base)) return undefined;
  return { type, version: name.slice('CVSS:'.length), vector, score: base, severity: ratingForScore(type, base) };
}
