// The documents the distributed pipeline keeps in the blob store (docs/distributed.md): where
// each lives, its shape, and the monotonic scan-record update every stage uses.
import { createHash } from 'node:crypto';
import { getJson, putJson, type BlobStore } from '@strata/blobstore';
import { ScanStage, type FailureCode, type ScanStatus } from '@strata/contracts';
import type { ImageMetadata, LayerRef, SeverityCounts } from '@strata/model';
import { describeError } from '@strata/errors';

export const imageRecordKey = (manifestDigest: string): string => `images/${manifestDigest}.json`;
export const scanRecordKey = (scanId: string): string => `scans/${scanId}.json`;

/** The one scan-id rule, so that an id always names one safe key segment of `scans/<id>.json`. */
export const SCAN_ID_RULE = '1-128 of [A-Za-z0-9._:-], starting with a letter or digit';
const SCAN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const isValidScanId = (scanId: string): boolean => SCAN_ID.test(scanId);
/** Analyzer-set versions hold characters keys cannot (";"), so inventories are filed under their sha256. */
export const analyzerSetId = (analyzerSetVersion: string): string => createHash('sha256').update(analyzerSetVersion).digest('hex');
export const inventoryKey = (manifestDigest: string, analyzerSetVersion: string): string =>
  `inventories/${manifestDigest}/${analyzerSetId(analyzerSetVersion)}.json`;
/** The Trivy-compatible JSON report, identical to `strata image --format json` (unfiltered). */
export const reportKey = (manifestDigest: string, advisoryDbVersion: string): string => `reports/${manifestDigest}/${advisoryDbVersion}.json`;
/** The ScanResult JSON every report format renders from. */
export const resultKey = (manifestDigest: string, advisoryDbVersion: string): string => `results/${manifestDigest}/${advisoryDbVersion}.json`;
/** Written after the findings event of (manifest digest, advisory DB version) was published. */
export const findingsMarkerKey = (manifestDigest: string, advisoryDbVersion: string): string => `findings/${manifestDigest}/${advisoryDbVersion}.json`;

// The record stores enum names (JSON a person can read), taken from the generated protobuf enums.
/** ScanStatus enum names, without UNSPECIFIED. */
export type ScanStatusName = Exclude<keyof typeof ScanStatus, 'UNSPECIFIED'>;
/** ScanStage enum names, without UNSPECIFIED. */
export type StageName = Exclude<keyof typeof ScanStage, 'UNSPECIFIED'>;
/** FailureCode enum names, without UNSPECIFIED. */
export type FailureCodeName = Exclude<keyof typeof FailureCode, 'UNSPECIFIED'>;

export interface ScanError {
  stage: StageName;
  code: FailureCodeName;
  /** says why, naming the image, layer digest or address */
  reason: string;
  layerDigest?: string;
}

export interface ScanOptionsRecord {
  ignoreUnfixed: boolean;
  /** severity names, e.g. ["HIGH","CRITICAL"]; empty = all */
  severities: string[];
  ignoredVulnerabilityIds: string[];
}

/** `scans/<scanId>.json`. */
export interface ScanRecord {
  scanId: string;
  imageRef: string;
  status: ScanStatusName;
  /** the stage the scan is in (RUNNING), ended in (COMPLETED: MATCH) or failed in */
  stage?: StageName;
  error?: ScanError;
  manifestDigest?: string;
  indexDigest?: string;
  platform?: { os: string; architecture: string; variant?: string };
  /** names of the image for this scan's reference (Trivy's RepoTags/RepoDigests) */
  repoTags?: string[];
  repoDigests?: string[];
  /** what the scan asked for; reports are stored unfiltered and these apply when rendering */
  options?: ScanOptionsRecord;
  /** layers of the image, and how many were already in the layer cache at resolve time */
  layers?: { total: number; cached: number };
  advisoryDbVersion?: string;
  /** report key (Trivy JSON) and result key (ScanResult JSON), set when COMPLETED */
  reportKey?: string;
  resultKey?: string;
  /** findings per severity, set when COMPLETED (unfiltered) */
  counts?: SeverityCounts;
  /** diffID of the layer.analyzed event whose merge moved the scan to MATCH: its redelivery publishes image.inventory again */
  mergedFrom?: string;
  /** false when an earlier scan had already published the findings of this digest and DB version */
  findingsPublished?: boolean;
  traceId?: string;
  createdAt?: string;
  updatedAt: string;
}

/** `images/<manifestDigest>.json`: what the fetcher learned while resolving. */
export interface ImageRecord {
  schemaVersion: 1;
  manifestDigest: string;
  analyzerSetVersion: string;
  metadata: ImageMetadata;
  /** bottom to top, each with the key its LayerResult is stored under */
  layers: Array<LayerRef & { cacheKey: string }>;
  resolvedAt: string;
}

export const readScanRecord = (store: BlobStore, scanId: string): Promise<ScanRecord | undefined> => getJson<ScanRecord>(store, scanRecordKey(scanId));
export const readImageRecord = (store: BlobStore, manifestDigest: string): Promise<ImageRecord | undefined> =>
  getJson<ImageRecord>(store, imageRecordKey(manifestDigest));
export const writeImageRecord = (store: BlobStore, record: ImageRecord): Promise<void> => putJson(store, imageRecordKey(record.manifestDigest), record);

const STATUS_RANK: Record<ScanStatusName, number> = { QUEUED: 0, RUNNING: 1, COMPLETED: 2, FAILED: 2 };

/** QUEUED < RUNNING < COMPLETED = FAILED: the order records move in (the findings DB keeps it too). */
export const statusRank = (status: ScanStatusName): number => STATUS_RANK[status];
export const isTerminal = (status: ScanStatusName | undefined): boolean => status === 'COMPLETED' || status === 'FAILED';
/** Stages in pipeline order: the ScanStage enum numbers them in that order (SUBMIT first, REPORT last). */
export const stageRank = (stage: StageName | undefined): number => (stage ? ScanStage[stage] : -1);

/** Every successful write moves a record up at least one (status, stage) rank; there are fewer than this. */
const MAX_LOST_RACES = 16;

export class ScanRecordContentionError extends Error {
  constructor(scanId: string, location: string) {
    super(`scan record ${scanRecordKey(scanId)} in ${location}: lost ${MAX_LOST_RACES} conditional writes in a row (more writers than a scan has states?)`);
    this.name = 'ScanRecordContentionError';
  }
}

/** Whether `update` would move `current` forward: by status, then by stage; never past a terminal status. */
export function advancesRecord(current: Pick<ScanRecord, 'status' | 'stage'> | undefined, update: { status: ScanStatusName; stage?: StageName }): boolean {
  if (!current) return true;
  if (isTerminal(current.status)) return false;
  const byStatus = STATUS_RANK[update.status] - STATUS_RANK[current.status];
  return byStatus > 0 || (byStatus === 0 && stageRank(update.stage) > stageRank(current.stage));
}

export interface AdvanceOptions {
  /**
   * Test hook only (never set from configuration): runs after the record was read and before the
   * conditional write, to widen the window a concurrent writer can slip into.
   */
  beforeWrite?: (current: ScanRecord | undefined) => Promise<void>;
}

/** Where scan records are kept: the blob store (`scans/<id>.json`) or the findings DB (`strata.scans`). */
export interface ScanRecordStore {
  /** for messages: the bucket/folder, or the database */
  readonly location: string;
  read(scanId: string): Promise<ScanRecord | undefined>;
  /**
   * Moves a record forward (see advanceScanRecord): conditional on the version that was read, a
   * lost race reads again. Returns the record as it now stands.
   */
  advance(
    scan: { scanId: string; imageRef: string; traceId?: string },
    update: ScanRecordUpdate,
    options?: AdvanceOptions,
  ): Promise<{ record: ScanRecord; written: boolean }>;
}

export type ScanRecordUpdate = Partial<Omit<ScanRecord, 'scanId' | 'updatedAt'>> & { status: ScanStatusName };

/** The record an update makes of `current` (the caller checked advancesRecord first): fields of earlier writes are kept. */
export function nextRecord(
  current: ScanRecord | undefined,
  scan: { scanId: string; imageRef: string; traceId?: string },
  update: ScanRecordUpdate,
): ScanRecord {
  const now = new Date().toISOString();
  return {
    ...current,
    ...update,
    scanId: scan.scanId,
    imageRef: current?.imageRef ?? scan.imageRef,
    ...(scan.traceId ? { traceId: scan.traceId } : {}),
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
  };
}

/**
 * Runs the compare-and-swap loop every record store shares: read, check the transition, write
 * conditionally on the version read; a lost race reads again (bounded: each landed write moves
 * the record up a rank). `write` returns false when the version changed since `read`.
 */
export async function advanceWith<V>(
  scan: { scanId: string; imageRef: string; traceId?: string },
  update: ScanRecordUpdate,
  options: AdvanceOptions,
  location: string,
  read: () => Promise<{ record: ScanRecord; version: V } | undefined>,
  write: (record: ScanRecord, version: V | undefined) => Promise<boolean>,
): Promise<{ record: ScanRecord; written: boolean }> {
  for (let lost = 0; lost < MAX_LOST_RACES; lost++) {
    const stored = await read();
    const current = stored?.record;
    if (!advancesRecord(current, update)) return { record: current!, written: false };
    await options.beforeWrite?.(current);
    const record = nextRecord(current, scan, update);
    if (await write(record, stored?.version)) return { record, written: true };
    // Someone else wrote it since we read it: a few ms of jitter, so racing writers spread out.
    await new Promise((r) => setTimeout(r, Math.random() * 5 * (lost + 1)));
  }
  throw new ScanRecordContentionError(scan.scanId, location);
}

/**
 * Moves a scan record forward: a write that would not advance it (by status, then by stage) is
 * dropped, so a redelivered or late event never turns COMPLETED back into RUNNING, and the first
 * terminal status wins. The write is conditional on the version that was read (If-Match on the
 * S3 ETag; If-None-Match for a new record): when another writer got in between, the record is read
 * again and the transition re-checked against what is there now. Returns the record as it now stands.
 */
export async function advanceScanRecord(
  store: BlobStore,
  scan: { scanId: string; imageRef: string; traceId?: string },
  update: ScanRecordUpdate,
  options: AdvanceOptions = {},
): Promise<{ record: ScanRecord; written: boolean }> {
  const key = scanRecordKey(scan.scanId);
  return advanceWith<string>(
    scan,
    update,
    options,
    store.location,
    async () => {
      const stored = await store.getObjectVersioned(key);
      return stored ? { record: parseRecord(stored.body, key, store.location), version: stored.version } : undefined;
    },
    async (record, version) => (await store.putObjectIfMatch(key, JSON.stringify(record), version ?? null)) !== undefined,
  );
}

/** Scan records in the blob store (`scans/<id>.json`): the store of a deployment without the findings DB. */
export function blobScanRecords(store: BlobStore): ScanRecordStore {
  return {
    location: store.location,
    read: (scanId) => readScanRecord(store, scanId),
    advance: (scan, update, options) => advanceScanRecord(store, scan, update, options),
  };
}

function parseRecord(body: Uint8Array, key: string, location: string): ScanRecord {
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as ScanRecord;
  } catch (error) {
    throw new Error(`${key} in ${location} is not valid JSON: ${describeError(error)}`, { cause: error });
  }
}
