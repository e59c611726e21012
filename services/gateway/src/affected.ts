// ListAffectedImages: the images affected right now by an advisory, or holding a package. Answered
// from the findings DB's postings (SQL, when the gateway has STRATA_PG_URL) or from a reverse index
// kept in step with the blob-store catalog (synced before a query, at most every `syncEveryMs`),
// and the current advisory DB.
import type { MessageInitShape } from '@bufbuild/protobuf';
import { normalizeName, type OpenIndexResult } from '@strata/advisories';
import type { BlobStore } from '@strata/blobstore';
import { Severity, type AffectedImageSchema, type AffectedPackageSchema, type ListAffectedImagesResponseSchema } from '@strata/contracts';
import type { Logger } from '@strata/log';
import type { FindingsDb } from '@strata/findings-db';
import {
  advisoryPackages,
  imagesAffectedBy,
  packageKey,
  rematchHoldings,
  ReverseIndex,
  withFindings,
  type AffectedImage,
  type FindingSummary,
  type PackageHolding,
} from '@strata/reverse-index';
import { syncReverseIndex } from '@strata/scan-records';

export type AffectedImagesQuery = { advisoryId: string } | { ecosystem: string; name: string };
export type AffectedImagesResponse = MessageInitShape<typeof ListAffectedImagesResponseSchema>;

export class NoAdvisoryDbError extends Error {
  constructor() {
    super('this gateway has no advisory DB (set STRATA_DB): it can answer package queries only');
    this.name = 'NoAdvisoryDbError';
  }
}

export interface AffectedImagesOptions {
  store: BlobStore;
  logger: Logger;
  /** the advisory DB; without it only package queries are answered (without vulnerability ids) */
  indexSource?: () => Promise<OpenIndexResult>;
  /** the catalog is re-listed before a query when the last listing is older than this (default 1000) */
  syncEveryMs?: number;
  /** the findings DB: when given, queries are SQL over its postings and the catalog is not read */
  db?: FindingsDb;
}

const worst = (findings: readonly FindingSummary[]): Severity =>
  findings.reduce((w, f) => Math.max(w, Severity[f.severity satisfies keyof typeof Severity]), Severity.UNSPECIFIED);

function affectedImage(a: AffectedImage, withFindingsOnly: boolean): MessageInitShape<typeof AffectedImageSchema> {
  const byPackage = new Map<string, FindingSummary[]>();
  for (const f of a.findings) {
    const key = packageKey(f.ecosystem, f.packageName, f.installedVersion);
    byPackage.set(key, [...(byPackage.get(key) ?? []), f]);
  }
  const packages: MessageInitShape<typeof AffectedPackageSchema>[] = [];
  for (const h of a.holdings) {
    const findings = byPackage.get(packageKey(h.ecosystem, h.name, h.installedVersion)) ?? [];
    if (withFindingsOnly && findings.length === 0) continue;
    const fixed = [...new Set(findings.map((f) => f.fixedVersion).filter((v) => v !== ''))];
    packages.push({
      ecosystem: h.ecosystem,
      name: h.name,
      installedVersion: h.installedVersion,
      fixedVersion: withFindingsOnly ? fixed.join(', ') : '',
      path: h.path,
      layers: [{ digest: h.layer.digest, diffId: h.layer.diffId, createdBy: h.layer.createdBy ?? '' }],
      vulnerabilityIds: [...new Set(findings.map((f) => f.vulnerabilityId))].sort(),
      severity: worst(findings),
    });
  }
  const { image } = a;
  return {
    imageRef: image.imageRef,
    manifestDigest: image.manifestDigest,
    ...(image.indexDigest ? { indexDigest: image.indexDigest } : {}),
    ...(image.platform ? { platform: { os: image.platform.os, architecture: image.platform.architecture, variant: image.platform.variant ?? '' } } : {}),
    packages,
  };
}

export function affectedImagesQuery(options: AffectedImagesOptions): (query: AffectedImagesQuery) => Promise<AffectedImagesResponse> {
  const reverse = new ReverseIndex();
  const syncEveryMs = options.syncEveryMs ?? 1_000;
  let syncedAt = -Infinity;
  let syncing: Promise<unknown> | undefined;
  const sync = async (): Promise<void> => {
    if (performance.now() - syncedAt < syncEveryMs) return;
    syncing ??= syncReverseIndex(options.store, reverse, options.logger).finally(() => {
      syncedAt = performance.now();
      syncing = undefined;
    });
    await syncing;
  };
  const { db } = options;
  return async (query) => {
    if (!db) await sync();
    const opened = options.indexSource ? await options.indexSource() : undefined;
    if ('advisoryId' in query) {
      if (!opened) throw new NoAdvisoryDbError();
      const id = query.advisoryId.trim();
      let images: AffectedImage[];
      if (db) {
        const { recordIds, pairs } = advisoryPackages(opened.index, id);
        images = pairs.length === 0 ? [] : withFindings(rematchHoldings(await db.holdings(pairs), opened.index, new Set(recordIds)));
      } else images = imagesAffectedBy(reverse, opened.index, id).images;
      return { images: images.map((a) => affectedImage(a, true)), advisoryDbVersion: opened.index.version };
    }
    const name = normalizeName(query.ecosystem, query.name);
    if (opened) {
      const found = db ? rematchHoldings(await db.holdings([[query.ecosystem, name]]), opened.index) : reverse.rematch([[query.ecosystem, name]], opened.index);
      const images = [...found.values()].sort((a, b) => (a.image.manifestDigest < b.image.manifestDigest ? -1 : 1));
      return { images: images.map((a) => affectedImage(a, false)), advisoryDbVersion: opened.index.version };
    }
    const held: PackageHolding[] = db ? await db.holdings([[query.ecosystem, name]]) : reverse.holdings(query.ecosystem, name);
    const byImage = new Map<string, AffectedImage>();
    for (const h of held) {
      const entry = byImage.get(h.image.manifestDigest);
      if (entry) entry.holdings.push(h);
      else byImage.set(h.image.manifestDigest, { image: h.image, packages: new Set(), findings: [], holdings: [h] });
    }
    const images = [...byImage.values()].sort((a, b) => (a.image.manifestDigest < b.image.manifestDigest ? -1 : 1));
    return { images: images.map((a) => affectedImage(a, false)), advisoryDbVersion: '' };
  };
}
