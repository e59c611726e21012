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
import { advisoryPackages, imagesAffectedBy, matchPackages, packageKey, ReverseIndex, type AffectedImage, type FindingSummary } from '@strata/reverse-index';
import { syncReverseIndex } from '@strata/scan-records';

export type AffectedImagesQuery = { advisoryId: string } | { ecosystem: string; name: string };
/**
 * A page of the answer: at most `pageSize` images after `pageToken` (the next_page_token of the page
 * before: the position of its last image in the answer's order — by manifest digest from the
 * catalog, by inventory then manifest digest from the findings DB).
 */
export interface AffectedImagesPage {
  pageSize?: number;
  pageToken?: string;
}
/** Images per answer when the request names no page size, and the most it may name. */
export const AFFECTED_PAGE_SIZE = 100;
export const AFFECTED_PAGE_MAX = 10_000;
export type AffectedImagesResponse = MessageInitShape<typeof ListAffectedImagesResponseSchema>;

export class InvalidPageTokenError extends Error {
  constructor() {
    super('page_token is not one this server gave (pass the next_page_token of the page before, with the same query)');
    this.name = 'InvalidPageTokenError';
  }
}

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

/** The page of `sorted` (by manifest digest) after `page.pageToken`, and the token of the next. */
function pageOf<T extends { image: { manifestDigest: string } }>(sorted: readonly T[], page: Required<AffectedImagesPage>): { items: T[]; next: string } {
  const from = page.pageToken === '' ? 0 : sorted.findIndex((a) => a.image.manifestDigest > page.pageToken);
  const items = from < 0 ? [] : sorted.slice(from, from + page.pageSize);
  const more = from >= 0 && from + page.pageSize < sorted.length;
  return { items, next: more ? (items.at(-1)?.image.manifestDigest ?? '') : '' };
}

/**
 * A page of the images holding any package filed under `pairs`, from the findings DB: the
 * distinct packages are read and matched once (only against `recordIds` for an advisory query,
 * whose images must have a finding), then only the page's images and their holdings are read.
 */
async function pageFromDb(
  db: FindingsDb,
  pairs: readonly (readonly [string, string])[],
  index: OpenIndexResult['index'] | undefined,
  recordIds: ReadonlySet<string> | undefined,
  page: Required<AffectedImagesPage>,
): Promise<{ items: AffectedImage[]; next: string }> {
  if (page.pageToken !== '' && !/^\S+ \S+$/.test(page.pageToken)) throw new InvalidPageTokenError();
  const units = await db.packagesFiledUnder(pairs);
  const findingsOf = index ? matchPackages(units, index, recordIds) : new Map<string, FindingSummary[]>();
  const wanted = recordIds ? units.filter((u) => (findingsOf.get(u.unitKey)?.length ?? 0) > 0) : units;
  const { digests: pageDigests, next } = await db.imagesHolding(
    wanted.map((u) => u.packageId),
    page.pageToken,
    page.pageSize,
  );
  const unitOf = new Map(wanted.map((u) => [u.unitKey, u]));
  const byImage = new Map<string, AffectedImage & { units: Set<string> }>();
  for (const h of await db.holdingsOfPackages(
    pageDigests,
    wanted.map((u) => u.packageId),
  )) {
    const unit = unitOf.get(h.unitKey);
    if (!unit) continue;
    let entry = byImage.get(h.image.manifestDigest);
    if (!entry) byImage.set(h.image.manifestDigest, (entry = { image: h.image, packages: new Set(), findings: [], holdings: [], units: new Set() }));
    // with an advisory DB: one holding per package and image, and each package's findings once (as
    // rematchHoldings gives them); without: every holding
    if (index && entry.units.has(h.unitKey)) continue;
    entry.units.add(h.unitKey);
    entry.holdings.push({
      image: entry.image,
      ecosystem: unit.ecosystem,
      name: unit.name,
      installedVersion: unit.installedVersion,
      path: h.path,
      layer: h.layer,
    });
    const key = packageKey(unit.ecosystem, unit.name, unit.installedVersion);
    if (entry.packages.has(key)) continue;
    entry.packages.add(key);
    entry.findings.push(...(findingsOf.get(h.unitKey) ?? []));
  }
  const items = pageDigests.flatMap((d) => byImage.get(d) ?? []).map(({ units: _units, ...a }) => a);
  return { items, next };
}

export function affectedImagesQuery(
  options: AffectedImagesOptions,
): (query: AffectedImagesQuery, page?: AffectedImagesPage) => Promise<AffectedImagesResponse> {
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
  return async (query, pageRequest = {}) => {
    const page = {
      pageSize: Math.min(Math.max(1, pageRequest.pageSize || AFFECTED_PAGE_SIZE), AFFECTED_PAGE_MAX),
      pageToken: pageRequest.pageToken ?? '',
    };
    if (!db) await sync();
    const opened = options.indexSource ? await options.indexSource() : undefined;
    const sorted = (found: Iterable<AffectedImage>) => [...found].sort((a, b) => (a.image.manifestDigest < b.image.manifestDigest ? -1 : 1));
    if ('advisoryId' in query) {
      if (!opened) throw new NoAdvisoryDbError();
      const id = query.advisoryId.trim();
      let answer: { items: AffectedImage[]; next: string };
      if (db) {
        const { recordIds, pairs } = advisoryPackages(opened.index, id);
        answer = pairs.length === 0 ? { items: [], next: '' } : await pageFromDb(db, pairs, opened.index, new Set(recordIds), page);
      } else answer = pageOf(imagesAffectedBy(reverse, opened.index, id).images, page);
      return { images: answer.items.map((a) => affectedImage(a, true)), advisoryDbVersion: opened.index.version, nextPageToken: answer.next };
    }
    const name = normalizeName(query.ecosystem, query.name);
    let answer: { items: AffectedImage[]; next: string };
    if (db) answer = await pageFromDb(db, [[query.ecosystem, name]], opened?.index, undefined, page);
    else if (opened) answer = pageOf(sorted(reverse.rematch([[query.ecosystem, name]], opened.index).values()), page);
    else {
      const byImage = new Map<string, AffectedImage>();
      for (const h of reverse.holdings(query.ecosystem, name)) {
        const entry = byImage.get(h.image.manifestDigest);
        if (entry) entry.holdings.push(h);
        else byImage.set(h.image.manifestDigest, { image: h.image, packages: new Set(), findings: [], holdings: [h] });
      }
      answer = pageOf(sorted(byImage.values()), page);
    }
    return { images: answer.items.map((a) => affectedImage(a, false)), advisoryDbVersion: opened?.index.version ?? '', nextPageToken: answer.next };
  };
}
