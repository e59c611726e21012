// `strata report <scan-id|digest> --server host:port`: the report of a scan the gateway accepted
// (by its id), or the newest report of an image manifest (by digest), through GetReport. With
// --wait it polls until the scan is finished, riding out a gateway that is briefly unreachable;
// `strata image --server` uses the same wait when its connection drops after the scan was accepted.
import * as grpc from '@grpc/grpc-js';
import { FailureCode, ReportFormat, ScanStage, ScanStatus, isServiceError, type Report } from '@strata/contracts';
import type { ReportFormat as ReportFormatName } from '@strata/report';
import { connectGateway, describeRpc, ServerScanError, type GatewayAddress } from './server-client.js';

export type ReportSelector = { scanId: string } | { manifestDigest: string };

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** A manifest digest (sha256:<64 hex>) selects the newest report of that image; anything else is a scan id. */
export function parseReportTarget(text: string): ReportSelector {
  const target = text.trim();
  if (target === '') throw new Error('give a scan id or a manifest digest (sha256:<64 hex digits>)');
  if (target.startsWith('sha256:')) {
    if (!DIGEST.test(target)) throw new Error(`"${target}" is not a manifest digest: expected sha256:<64 lowercase hex digits>`);
    return { manifestDigest: target };
  }
  return { scanId: target };
}

export const REPORT_FORMAT_CODES: Record<ReportFormatName, ReportFormat> = {
  json: ReportFormat.JSON,
  table: ReportFormat.TABLE,
  sarif: ReportFormat.SARIF,
  cyclonedx: ReportFormat.CYCLONEDX,
  'spdx-json': ReportFormat.SPDX,
};

export interface AwaitReportOptions {
  /** Longest wait for the scan to finish. 0: ask once. */
  timeoutMs: number;
  /** Longest stretch of an unreachable gateway before giving up. Default 120 s. */
  unreachableMs?: number;
  /** Pause between two GetReport calls while the scan runs. Default 1000 ms (doubling to 5 s). */
  pollMs?: number;
  /** Told once per outage and once the gateway answers again (for a line on stderr). */
  onNotice?(message: string): void;
}

/** The scan has not finished within the wait; it keeps running on the server. */
export class ScanNotFinishedError extends ServerScanError {
  constructor(message: string) {
    super(message);
    this.name = 'ScanNotFinishedError';
  }
}

const describeSelector = (selector: ReportSelector) => ('scanId' in selector ? `scan ${selector.scanId}` : `manifest ${selector.manifestDigest}`);

/** Why a scan failed, from its error. */
export function failureMessage(report: Pick<Report, 'scanId' | 'imageRef' | 'error'>): string {
  const e = report.error;
  const where = e ? ` in ${ScanStage[e.stage] ?? 'an unknown stage'} (${FailureCode[e.code] ?? 'UNSPECIFIED'})` : '';
  return `scan ${report.scanId}${report.imageRef ? ` of ${report.imageRef}` : ''} failed${where}: ${e?.reason || 'no reason given'}`;
}

/**
 * GetReport until the scan is COMPLETED or FAILED (returned as is), or `timeoutMs` is over (an
 * error naming the last state). A gateway that cannot be reached is asked again on a fresh
 * connection, for up to `unreachableMs` in a row; other gateway errors end the wait at once.
 */
export async function awaitReport(address: GatewayAddress, selector: ReportSelector, format: ReportFormat, options: AwaitReportOptions): Promise<Report> {
  const deadline = Date.now() + options.timeoutMs;
  const unreachableMs = options.unreachableMs ?? 120_000;
  let pause = options.pollMs ?? 1_000;
  let unreachableSince: number | undefined;
  let last: Report | undefined;
  const request = {
    selector: 'scanId' in selector ? { case: 'scanId' as const, value: selector.scanId } : { case: 'manifestDigest' as const, value: selector.manifestDigest },
    format,
  };
  for (;;) {
    const connection = connectGateway(address);
    try {
      last = await connection.client.getReport(request, { timeoutMs: 120_000 });
      if (unreachableSince !== undefined) options.onNotice?.(`gateway ${address.server} answers again`);
      unreachableSince = undefined;
      if (last.status === ScanStatus.COMPLETED || last.status === ScanStatus.FAILED) return last;
    } catch (error) {
      if (!isServiceError(error) || error.code !== grpc.status.UNAVAILABLE || unreachableMs === 0) throw describeRpc(error, address.server);
      const now = Date.now();
      if (unreachableSince === undefined) {
        unreachableSince = now;
        options.onNotice?.(`gateway ${address.server} unreachable (${error.details}); asking again for ${describeSelector(selector)}`);
      }
      if (now - unreachableSince >= unreachableMs) {
        throw new ServerScanError(
          `gateway ${address.server} unreachable for ${Math.round((now - unreachableSince) / 1000)} s (${error.details}); ${describeSelector(selector)} may still finish: ask later with strata report`,
          { cause: error },
        );
      }
    } finally {
      connection.close();
    }
    if (Date.now() + pause > deadline) {
      const state = last ? ScanStatus[last.status] : 'unknown (the gateway did not answer)';
      if (options.timeoutMs === 0) throw new ScanNotFinishedError(`${describeSelector(selector)} is ${state}: ask again later, or wait with --wait <seconds>`);
      throw new ScanNotFinishedError(
        `${describeSelector(selector)} not finished within ${Math.round(options.timeoutMs / 1000)} s (state ${state}); it keeps running on the server: ask later with strata report`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 5_000);
  }
}

export interface ReportFlags extends GatewayAddress {
  format: ReportFormatName;
  /** Seconds to wait for a running scan (0: answer with its current state). */
  wait: number;
}

export interface ReportOutcome {
  /** exit code: 0 completed, 1 failed, 3 still running */
  code: number;
  /** the report, when completed */
  text?: string;
  /** what to say on stderr */
  message?: string;
}

export async function runReport(target: string, flags: ReportFlags): Promise<ReportOutcome> {
  const selector = parseReportTarget(target);
  const address: GatewayAddress = { server: flags.server, ...(flags.token ? { token: flags.token } : {}), ...(flags.caFile ? { caFile: flags.caFile } : {}) };
  let report: Report;
  try {
    report = await awaitReport(address, selector, REPORT_FORMAT_CODES[flags.format], {
      timeoutMs: flags.wait * 1000,
      unreachableMs: flags.wait * 1000,
      onNotice: (message) => process.stderr.write(`${message}\n`),
    });
  } catch (error) {
    if (error instanceof ScanNotFinishedError) return { code: 3, message: error.message };
    throw error;
  }
  if (report.status === ScanStatus.FAILED) return { code: 1, message: failureMessage(report) };
  return { code: 0, text: Buffer.from(report.content).toString('utf8') };
}
