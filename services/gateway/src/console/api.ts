// The console's HTTP API, as the front end (services/gateway/console-ui) and the server share it.
// Types only: no runtime code, so the UI bundle can import this file as it is. docs/console.md
// describes the endpoints; every path below is relative to the console's origin.
//
// Conventions
// - Every answer is JSON (UTF-8) except the report download, the event stream and static files.
// - Every error is `ApiError` with a 4xx/5xx status: 400 bad parameter, 401 not logged in, 403 bad
//   Origin on a POST, 404 unknown thing, 413 body too large, 414 query too long, 503 no database.
// - Lists are paginated on the server with keyset cursors: pass `nextCursor` back as `cursor` to
//   get the next page; no `nextCursor` means the last page. A cursor is opaque; a bad one is a 400.
// - Filters (query parameters) shared by the overview, trend and image list:
//     repo       repository glob, matched against `registry/repository` (no tag): `*` any run of
//                characters (including `/`), `?` one character. Max 256 characters.
//     severity   comma-separated severities, case-insensitive (e.g. `critical,high`); empty = all.
//     fixedOnly  `1` counts only findings that have a fixed version.

/** Severity names, worst first. */
export type Severity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'UNKNOWN';

export interface SeverityCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  unknown: number;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Body of every 4xx/5xx answer: one sentence for people. */
export interface ApiError {
  error: string;
}

/** Query parameters of the filtered endpoints (all optional; see the conventions above). */
export interface FilterParams {
  repo?: string;
  severity?: string;
  fixedOnly?: '1' | '0';
}

/** The filters as the server understood them (echoed in answers). */
export interface AppliedFilters {
  repo?: string;
  /** empty: every severity */
  severities: Severity[];
  fixedOnly: boolean;
}

export interface PageParams {
  cursor?: string;
  /** 1..200, default 50 */
  limit?: number;
}

export interface Page<T> {
  items: T[];
  /** present when there is a next page */
  nextCursor?: string;
}

// ---------------------------------------------------------------------------------------------
// Session. With a token configured every /api/ path except /api/v1/status needs either the
// session cookie (set by POST /login) or `Authorization: Bearer <token>`.

/**
 * POST /login
 * Body: `application/x-www-form-urlencoded` (`token=...`) or `application/json` (LoginRequest), ≤ 4 KiB.
 * 204 + `Set-Cookie: strata_console=...; HttpOnly; SameSite=Strict; Path=/` (Secure when the
 * console is served over TLS); a form post without `Accept: application/json` gets 303 to `/`.
 * 401 ApiError when the token is wrong. With no token configured the console is open: 204.
 */
export interface LoginRequest {
  token: string;
}

/** POST /logout → 204, clears the cookie. */

/** GET /api/v1/status — open (no login needed): what the UI should show. */
export interface StatusResponse {
  /** a token is configured: log in before any other /api/ call */
  authRequired: boolean;
  /** this request carries a valid session (or no token is configured) */
  authenticated: boolean;
  /** the findings DB (STRATA_PG_URL): without it the data endpoints answer 503 with `message` */
  database: { available: boolean; message?: string };
  /** the advisory DB (STRATA_DB): without it the vulnerability page has no fixing versions from advisories */
  advisoryDb: boolean;
  /** the live event stream is fed (the gateway's findings subscription runs) */
  events: boolean;
}

// ---------------------------------------------------------------------------------------------
// Registry overview

/** GET /api/v1/overview?repo=&severity=&fixedOnly= */
export interface OverviewResponse {
  filters: AppliedFilters;
  /** distinct images: an index counts once, a single-platform manifest once */
  images: number;
  /** platform manifests (rows of strata.images) */
  platforms: number;
  repositories: number;
  /** findings (image × package × vulnerability) of the matching images, by severity */
  findings: SeverityCounts;
  /** platform manifests whose worst finding is at each severity (platforms without findings are not counted) */
  platformsByWorstSeverity: SeverityCounts;
  /** the vulnerabilities found in the most platform manifests (≤ 10) */
  topVulnerabilities: VulnerabilitySummary[];
  /** the repositories with the most critical findings (≤ 10) */
  topRepositories: RepositorySummary[];
  /** when the answer was computed (ISO 8601) */
  asOf: string;
}

export interface VulnerabilitySummary {
  vulnerabilityId: string;
  /** the worst severity it has in the matching images */
  severity: Severity;
  /** platform manifests holding it */
  platforms: number;
  /** findings (image × package) */
  findings: number;
  /** some finding of it has a fixed version */
  fixable: boolean;
}

export interface RepositorySummary {
  repository: string;
  platforms: number;
  counts: SeverityCounts;
}

/** GET /api/v1/trend?repo=&severity=&fixedOnly=&days= (days 1..365, default 30) */
export interface TrendResponse {
  filters: AppliedFilters;
  days: number;
  /** one point per UTC day, oldest first, the last one being today; open findings at the end of that day */
  points: TrendPoint[];
}

export interface TrendPoint {
  /** YYYY-MM-DD (UTC) */
  day: string;
  open: SeverityCounts;
}

// ---------------------------------------------------------------------------------------------
// Images

/**
 * GET /api/v1/images?repo=&severity=&fixedOnly=&sort=&cursor=&limit=
 * With a severity / fixedOnly filter only images holding such a finding are listed and the
 * counts are those findings. sort: `name` (repository, reference, digest; default) or `risk`
 * (critical, then high, … descending).
 */
export interface ImagesParams extends FilterParams, PageParams {
  sort?: 'name' | 'risk';
}

export interface ImagesResponse extends Page<ImageSummary> {
  filters: AppliedFilters;
}

/** One platform manifest. */
export interface ImageSummary {
  manifestDigest: string;
  /** the reference it was last scanned by */
  imageRef: string;
  /** registry/repository, no tag */
  repository: string;
  indexDigest?: string;
  platform?: Platform;
  /** packages in its inventory */
  packages: number;
  counts: SeverityCounts;
  /** the advisory DB version of its findings state; absent before the first match */
  advisoryDbVersion?: string;
  firstSeenAt: string;
  updatedAt: string;
}

/** GET /api/v1/images/<manifest digest> (404 when not filed) */
export interface ImageDetail {
  image: ImageSummary;
  /** every reference it was scanned by, newest first (≤ 100) */
  refs: { imageRef: string; lastSeenAt: string }[];
  /** the platform manifests of its index (itself included; just itself without an index) */
  platforms: ImageSummary[];
  /** bottom to top */
  layers: LayerInfo[];
  /** the formats GET …/report serves */
  reportFormats: ReportFormat[];
  /** a stored report exists for it (else …/report answers 404) */
  reportAvailable: boolean;
}

export interface LayerInfo {
  /** 0 = bottom */
  index: number;
  digest: string;
  diffId: string;
  /** compressed size in bytes, when the scan recorded it */
  size?: number;
  createdBy: string;
  /** packages this layer brought in */
  packages: number;
  /** findings on those packages */
  findings: number;
}

/** GET /api/v1/images/<digest>/packages?layer=<diffId>&cursor=&limit= — packages sorted by layer, then name */
export type PackagesResponse = Page<PackageRow>;

export interface PackageRow {
  ecosystem: string;
  name: string;
  version: string;
  /** where in the image it was found (DB file, manifest or binary) */
  path: string;
  /** the layer that brought it in */
  layerIndex: number;
  layerDiffId: string;
  /** the package URL, when known */
  purl?: string;
}

/**
 * GET /api/v1/images/<digest>/findings?severity=&fixedOnly=&layer=<diffId>&cursor=&limit=
 * Sorted worst severity first, then vulnerability id, package.
 */
export type FindingsResponse = Page<FindingRow> & { advisoryDbVersion?: string };

export interface FindingRow {
  vulnerabilityId: string;
  ecosystem: string;
  packageName: string;
  installedVersion: string;
  /** empty when there is no fix */
  fixedVersion: string;
  severity: Severity;
  /** where the severity came from (e.g. `debian`, `nvd`, `ghsa`), when the stored scan result has it */
  severitySource?: string;
  /** the layer(s) that brought the package in (a package at several paths can have several) */
  layers: { index: number; diffId: string; path: string }[];
}

export type ReportFormat = 'json' | 'table' | 'sarif' | 'cyclonedx' | 'spdx';

/**
 * GET /api/v1/images/<digest>/report?format=json|table|sarif|cyclonedx|spdx
 * The newest stored report of the manifest, rendered as `strata image --format` renders it (the
 * gateway's GetReport); `Content-Disposition: attachment`. 404 when no report is stored.
 */
export interface ReportParams {
  format?: ReportFormat;
}

// ---------------------------------------------------------------------------------------------
// Vulnerabilities

/**
 * GET /api/v1/vulnerabilities/<id>?cursor=&limit=
 * Every platform manifest whose findings state holds the id (a CVE or an advisory id such as
 * GHSA-…/DSA-…; an alias of a record is found through the advisory DB when the gateway has one),
 * with the packages it affects there and what would fix them. Sorted by manifest digest.
 */
export interface VulnerabilityResponse extends Page<AffectedImageRow> {
  vulnerabilityId: string;
  /** the ids it was looked up by (the id itself, plus the advisory records' ids/aliases when known) */
  ids: string[];
  /** worst severity over every matching finding */
  severity?: Severity;
  /** every fixed version named by the findings, sorted */
  fixedVersions: string[];
  /** platform manifests affected in all (not just this page) */
  totalPlatforms: number;
  /** the advisory, when the gateway has the advisory DB */
  advisory?: { summary?: string; aliases: string[]; references: string[] };
}

export interface AffectedImageRow {
  manifestDigest: string;
  imageRef: string;
  repository: string;
  indexDigest?: string;
  platform?: Platform;
  packages: AffectedPackageRow[];
}

export interface AffectedPackageRow {
  vulnerabilityId: string;
  ecosystem: string;
  name: string;
  installedVersion: string;
  /** empty when there is no fix */
  fixedVersion: string;
  severity: Severity;
  /** where the package is, and the layer that brought it in */
  locations: { path: string; layerIndex?: number; layerDiffId: string; layerDigest: string; createdBy: string }[];
}

// ---------------------------------------------------------------------------------------------
// Scans

/** POST /api/v1/scans (JSON, ≤ 16 KiB) — the same path as gRPC ScanImage without wait. */
export interface ScanRequest {
  /** a registry reference, e.g. `registry.example/app:1.2` or `…@sha256:…` */
  reference: string;
  /** `os/arch[/variant]` to pick from an index; default the gateway's */
  platform?: string;
}

/** 202 answer of POST /api/v1/scans */
export interface ScanAccepted {
  scanId: string;
  status: 'QUEUED';
}

export type ScanStatusName = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED';
export type StageName = 'SUBMIT' | 'RESOLVE' | 'FETCH' | 'ANALYZE' | 'MERGE' | 'MATCH' | 'REPORT';
/** the stages a scan goes through, in order */
export type StageState = 'done' | 'running' | 'pending' | 'failed';

/** GET /api/v1/scans/<scan id> (404 when unknown) */
export interface ScanInfo {
  scanId: string;
  imageRef: string;
  status: ScanStatusName;
  stage?: StageName;
  /** every stage in order with its state */
  stages: { stage: StageName; state: StageState }[];
  manifestDigest?: string;
  advisoryDbVersion?: string;
  /** set when COMPLETED */
  counts?: SeverityCounts;
  /** layers of the image and how many were already cached */
  layers?: { total: number; cached: number };
  error?: { stage?: StageName; code?: string; reason: string };
  createdAt?: string;
  updatedAt: string;
}

/** GET /api/v1/scans?cursor=&limit= — recent scans, newest first */
export type ScansResponse = Page<ScanInfo>;

// ---------------------------------------------------------------------------------------------
// Live events

/**
 * GET /api/v1/events?repo=&severity= — `text/event-stream`. Events (the SSE `event:` field, JSON
 * `data:`): `hello`, `findings`, `scan`; a `: heartbeat` comment every 15 s. A client that falls
 * behind by more than the server's buffer gets `event: overflow` and the stream ends (reconnect
 * and reload). `repo`/`severity` filter the `findings` events as on the overview (a DELTA passes
 * the severity filter when it adds or resolves a finding of those severities).
 */
export type ConsoleEvent =
  | { event: 'hello'; data: HelloEvent }
  | { event: 'findings'; data: FindingsEvent }
  | { event: 'scan'; data: ScanEvent }
  | { event: 'overflow'; data: { error: string } };

export interface HelloEvent {
  /** server time (ISO 8601) */
  at: string;
}

/** A findings state published on the findings topic: a scan (FULL) or a re-match (DELTA). */
export interface FindingsEvent {
  kind: 'FULL' | 'DELTA';
  scanId?: string;
  imageRef: string;
  repository: string;
  manifestDigest: string;
  indexDigest?: string;
  advisoryDbVersion: string;
  previousAdvisoryDbVersion?: string;
  /** counts after the change */
  counts: SeverityCounts;
  /** DELTA: what it added and resolved (≤ 100 each; `truncated` when more) */
  added: FindingChange[];
  resolved: FindingChange[];
  truncated?: boolean;
  publishedAt?: string;
}

export interface FindingChange {
  vulnerabilityId: string;
  packageName: string;
  installedVersion: string;
  fixedVersion: string;
  severity: Severity;
}

/** A scan moved (stage progress of scans submitted through this gateway; completion/failure of any). */
export type ScanEvent = ScanInfo;
