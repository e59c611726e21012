// Client mode of `strata image --server host:port`: the scan runs in the distributed pipeline behind
// the gateway. The filters (--severity, --ignore-unfixed, --ignorefile) travel as scan options, and
// the gateway renders the requested format from the stored scan result with the same @strata/report
// renderers the embedded mode uses, so both modes print the same report for the same image and DB.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  FailureCode,
  ReportFormat,
  ScanService,
  ScanStage,
  SCAN_ID_METADATA,
  ScanStatus,
  Severity,
  connect,
  isServiceError,
  type ScanOptions,
} from '@strata/contracts';
import type { FilterOptions } from '@strata/matcher';
import { parsePlatform } from '@strata/oci';
import type { ReportFormat as ReportFormatName } from '@strata/report';
import { toError } from '@strata/errors';

export interface ServerScanRequest extends GatewayAddress {
  reference: string;
  format: ReportFormatName;
  platform?: string;
  filter: FilterOptions;
  /** Longest wait for the scan. Default 30 min. */
  timeoutMs?: number;
  /** Called once the gateway accepted the scan (for a progress line). */
  onSubmitted?(scanId: string): void;
  /**
   * Longest stretch of an unreachable gateway, after the connection dropped, while the CLI keeps
   * asking GetReport for the accepted scan. Default 120 s.
   */
  unreachableMs?: number;
  /** Told when the connection dropped and the CLI follows the scan by its id (a line on stderr). */
  onNotice?(message: string): void;
}

export interface ServerScanResult {
  scanId: string;
  text: string;
  /** findings left after the filters (for --exit-code) */
  findings: number;
}

export class ServerScanError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ServerScanError';
  }
}

const MAX_REPORT_BYTES = 256 * 1024 * 1024;

const FORMATS: Record<ReportFormatName, ReportFormat> = {
  json: ReportFormat.JSON,
  table: ReportFormat.TABLE,
  sarif: ReportFormat.SARIF,
  cyclonedx: ReportFormat.CYCLONEDX,
  'spdx-json': ReportFormat.SPDX,
};

/** Scan options of the CLI filters. Ignore rules become ids: those that have not expired (exp: dates, .trivyignore). */
export function scanOptionsOf(filter: FilterOptions, now: Date = new Date()): Omit<ScanOptions, '$typeName'> {
  const active = (expires: string | undefined) => expires === undefined || now.getTime() < Date.parse(`${expires}T00:00:00Z`);
  const ids = (filter.ignore ?? []).filter((rule) => active(rule.expires)).map((rule) => rule.id);
  return {
    ignoreUnfixed: filter.ignoreUnfixed ?? false,
    severities: (filter.severities ?? []).map((name) => Severity[name]),
    ignoredVulnerabilityIds: [...new Set(ids)],
  };
}

/** Findings in a Trivy-schema JSON report (Results[].Vulnerabilities[]). */
function countFindings(json: Uint8Array): number {
  const report = JSON.parse(Buffer.from(json).toString('utf8')) as { Results?: { Vulnerabilities?: unknown[] }[] };
  return (report.Results ?? []).reduce((sum, result) => sum + (result.Vulnerabilities?.length ?? 0), 0);
}

/** Why a gateway could not be reached, in words, from the details gRPC gives (which carry its internals). */
function unreachableReason(details: string): string {
  if (/ECONNREFUSED/.test(details)) return 'connection refused (is the gateway running there?)';
  if (/Name resolution failed|ENOTFOUND|EAI_AGAIN/.test(details)) return 'host name not found';
  if (/Connection dropped|Protocol error|handshake|SSL|TLS/i.test(details)) return 'the connection was dropped (a TLS gateway needs --server-ca)';
  const code = /\b(ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EPIPE)\b/.exec(details)?.[1];
  return `${code ?? 'no connection'} (is the gateway running there? a TLS gateway needs --server-ca)`;
}

export function describeRpc(error: unknown, server: string): Error {
  if (!isServiceError(error)) return toError(error);
  if (error.code === grpc.status.UNAVAILABLE && !/shutting down/.test(error.details) && scanIdOf(error) === undefined) {
    // No cause: the message already says what gRPC's UNAVAILABLE details mean, and users asked for one line.
    return new ServerScanError(`cannot reach the Strata gateway at ${server}: ${unreachableReason(error.details)}`);
  }
  const hint: Partial<Record<grpc.status, string>> = {
    [grpc.status.UNAUTHENTICATED]: ' (give the gateway token with --token or STRATA_TOKEN)',
  };
  return new ServerScanError(`gateway ${server}: ${grpc.status[error.code]}: ${error.details}${hint[error.code] ?? ''}`);
}

/** The scan id a gateway error names in its trailers (an accepted scan), if any. */
function scanIdOf(error: unknown): string | undefined {
  if (!isServiceError(error)) return undefined;
  const value = error.metadata.get(SCAN_ID_METADATA)[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export interface GatewayAddress {
  /** host:port */
  server: string;
  token?: string;
  /** PEM CA bundle file: talk TLS to the gateway and trust this CA */
  caFile?: string;
}

/** A ScanService client for the gateway (TLS with caFile, bearer token when given). */
export function connectGateway(address: GatewayAddress) {
  const credentials = address.caFile ? grpc.credentials.createSsl(readFileSync(address.caFile)) : grpc.credentials.createInsecure();
  return connect(ScanService, address.server, {
    credentials,
    ...(address.token ? { token: address.token } : {}),
    // Reports of large images (CycloneDX, SPDX) exceed gRPC's default 4 MiB.
    clientOptions: { 'grpc.max_receive_message_length': MAX_REPORT_BYTES },
  });
}

export async function scanThroughServer(request: ServerScanRequest): Promise<ServerScanResult> {
  const connection = connectGateway(request);
  const timeoutMs = request.timeoutMs ?? 30 * 60_000;
  const startedAt = Date.now();
  let acceptedId: string | undefined;
  const accepted = (scanId: string | undefined) => {
    if (scanId === undefined || acceptedId !== undefined) return;
    acceptedId = scanId;
    request.onSubmitted?.(scanId);
  };
  try {
    let platform;
    if (request.platform) {
      const p = parsePlatform(request.platform);
      platform = { os: p.os, architecture: p.architecture, variant: p.variant ?? '' };
    }
    let scanned;
    try {
      scanned = await connection.client.scanImage(
        { imageRef: request.reference, wait: true, options: scanOptionsOf(request.filter), ...(platform ? { platform } : {}) },
        { timeoutMs, onMetadata: (metadata) => accepted(metadata.get(SCAN_ID_METADATA).map(String)[0] || undefined) },
      );
    } catch (error) {
      accepted(scanIdOf(error));
      if (isServiceError(error) && error.code === grpc.status.DEADLINE_EXCEEDED) {
        const id = acceptedId ? `scan ${acceptedId}` : 'the scan';
        throw new ServerScanError(
          `gateway ${request.server}: ${id} of ${request.reference} did not finish within ${Math.round(timeoutMs / 1000)} s; it keeps running on the server${acceptedId ? `: strata report ${acceptedId} --server ${request.server}` : ''}`,
          { cause: error },
        );
      }
      // The gateway accepted the scan, then the answer was lost (the gateway stopped or died, the
      // connection dropped): the scan goes on in the pipeline, so follow it by its id.
      const lost =
        isServiceError(error) && (error.code === grpc.status.UNAVAILABLE || error.code === grpc.status.INTERNAL || error.code === grpc.status.CANCELLED);
      if (acceptedId === undefined || !lost) throw describeRpc(error, request.server);
      request.onNotice?.(`gateway ${request.server}: ${grpc.status[error.code]}: ${error.details}; following scan ${acceptedId} with GetReport`);
      return await followAcceptedScan(request, acceptedId, Math.max(0, timeoutMs - (Date.now() - startedAt)));
    }
    accepted(scanned.scanId);
    if (scanned.status === ScanStatus.FAILED) {
      const e = scanned.error;
      const where = e ? ` in ${ScanStage[e.stage] ?? 'an unknown stage'} (${FailureCode[e.code] ?? 'UNSPECIFIED'})` : '';
      throw new ServerScanError(`scan ${scanned.scanId} of ${request.reference} failed${where}: ${e?.reason || 'no reason given'}`);
    }
    if (scanned.status !== ScanStatus.COMPLETED) {
      throw new ServerScanError(`scan ${scanned.scanId} of ${request.reference} ended as ${ScanStatus[scanned.status]}, without a report`);
    }
    // The JSON report in the answer already has the filters applied.
    const findings = countFindings(scanned.report);
    if (request.format === 'json') return { scanId: scanned.scanId, text: Buffer.from(scanned.report).toString('utf8'), findings };
    const report = await connection.client
      .getReport({ selector: { case: 'scanId', value: scanned.scanId }, format: FORMATS[request.format] }, { timeoutMs: 120_000 })
      .catch((error: unknown) => {
        throw describeRpc(error, request.server);
      });
    return { scanId: scanned.scanId, text: Buffer.from(report.content).toString('utf8'), findings };
  } finally {
    connection.close();
  }
}

/** The result of an accepted scan whose ScanImage answer was lost: GetReport by id until it is finished. */
async function followAcceptedScan(request: ServerScanRequest, scanId: string, timeoutMs: number): Promise<ServerScanResult> {
  const { awaitReport, failureMessage } = await import('./report.js');
  const address: GatewayAddress = {
    server: request.server,
    ...(request.token ? { token: request.token } : {}),
    ...(request.caFile ? { caFile: request.caFile } : {}),
  };
  const wait = { timeoutMs, unreachableMs: request.unreachableMs ?? 120_000, ...(request.onNotice ? { onNotice: request.onNotice } : {}) };
  // The JSON report (the scan's filters applied by the gateway) gives the count for --exit-code.
  const json = await awaitReport(address, { scanId }, ReportFormat.JSON, wait);
  if (json.status === ScanStatus.FAILED) throw new ServerScanError(failureMessage(json));
  const findings = countFindings(json.content);
  if (request.format === 'json') return { scanId, text: Buffer.from(json.content).toString('utf8'), findings };
  const rendered = await awaitReport(address, { scanId }, FORMATS[request.format], wait);
  return { scanId, text: Buffer.from(rendered.content).toString('utf8'), findings };
}
