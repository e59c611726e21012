// `strata report` and the follow-up of `strata image --server` after a lost answer, against a
// scripted ScanService on loopback: one that accepts a scan (sends its id) and then goes away like
// a killed gateway, and a second one on the same port that answers GetReport. The real gateway and
// pipeline under faults are exercised by services/gateway's faults suite.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { FailureCode, ReportFormat, SCAN_ID_METADATA, ScanService, ScanStage, ScanStatus, addService, type ScanServiceHandlers } from '@strata/contracts';
import { closedLoopbackPort } from '@strata/testing';
import { parseReportTarget, runReport } from './report.js';
import { scanThroughServer } from './server-client.js';

const unimplemented = (_call: unknown, callback: (error: Partial<grpc.StatusObject>) => void) =>
  callback({ code: grpc.status.UNIMPLEMENTED, details: 'not in this script' });

async function serve(port: number, handlers: Partial<ScanServiceHandlers>): Promise<grpc.Server> {
  const server = new grpc.Server();
  addService(server, ScanService, {
    scanImage: unimplemented,
    getReport: unimplemented,
    watchFindings: unimplemented,
    listAffectedImages: unimplemented,
    ...handlers,
  } as ScanServiceHandlers);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
  return server;
}

const REPORT_JSON = JSON.stringify({
  SchemaVersion: 2,
  Results: [{ Target: 'x', Vulnerabilities: [{ VulnerabilityID: 'CVE-1' }, { VulnerabilityID: 'CVE-2' }] }],
});

test('strata image --server: the connection drops after the scan was accepted; the CLI follows the scan by id and prints its report', {
  timeout: 60_000,
}, async (t) => {
  const port = await closedLoopbackPort();
  const server = `127.0.0.1:${port}`;
  const scanId = 'scan-accepted-then-dropped';
  const dying: grpc.Server = await serve(port, {
    scanImage: (call) => {
      const metadata = new grpc.Metadata();
      metadata.set(SCAN_ID_METADATA, scanId);
      call.sendMetadata(metadata);
      // The gateway dies before it answers.
      setTimeout(() => dying.forceShutdown(), 200);
    },
  });
  let asked = 0;
  const formats: ReportFormat[] = [];
  let revived: grpc.Server | undefined;
  t.after(() => {
    dying.forceShutdown();
    revived?.forceShutdown();
  });
  const notices: string[] = [];
  const accepted: string[] = [];
  const scanning = scanThroughServer({
    server,
    reference: '127.0.0.1:15000/app:1',
    format: 'table',
    filter: {},
    timeoutMs: 30_000,
    onSubmitted: (id) => accepted.push(id),
    onNotice: (message) => {
      notices.push(message);
      // Back after the drop: a new gateway on the same address, the scan running, then done.
      if (notices.length === 1) {
        void serve(port, {
          getReport: (call, callback) => {
            assert.equal(call.request.selector.case, 'scanId');
            assert.equal(call.request.selector.value, scanId);
            formats.push(call.request.format);
            if (++asked === 1) return callback(null, { scanId, status: ScanStatus.RUNNING });
            const content = call.request.format === ReportFormat.TABLE ? 'the table' : REPORT_JSON;
            callback(null, { scanId, status: ScanStatus.COMPLETED, content: Buffer.from(content), format: call.request.format });
          },
        }).then((s) => (revived = s));
      }
    },
  });
  const result = await scanning;
  assert.deepEqual(accepted, [scanId], 'the scan id was known before the answer');
  assert.equal(result.scanId, scanId);
  assert.equal(result.text, 'the table');
  assert.equal(result.findings, 2, 'counted from the JSON report');
  assert.deepEqual(formats.slice(-2), [ReportFormat.JSON, ReportFormat.TABLE]);
  assert.match(notices[0]!, new RegExp(`following scan ${scanId} with GetReport`));
});

test('strata report: a completed scan prints its report, a failed one its stage and reason (exit 1), a running one exits 3', { timeout: 60_000 }, async (t) => {
  const port = await closedLoopbackPort();
  const reports: Record<string, object> = {
    done: { scanId: 'done', status: ScanStatus.COMPLETED, content: Buffer.from('{"ok":true}') },
    broken: {
      scanId: 'broken',
      status: ScanStatus.FAILED,
      imageRef: 'r/app:1',
      error: { stage: ScanStage.SUBMIT, code: FailureCode.UNAVAILABLE, reason: 'could not publish the scan request within 30 s: Kafka unreachable' },
    },
    busy: { scanId: 'busy', status: ScanStatus.RUNNING },
  };
  const server = await serve(port, {
    getReport: (call, callback) => {
      const id = call.request.selector.value ?? '';
      const report = reports[id];
      if (report) callback(null, report);
      else callback({ code: grpc.status.NOT_FOUND, details: `no scan ${id}` });
    },
  });
  t.after(() => server.forceShutdown());
  const flags = { server: `127.0.0.1:${port}`, format: 'json' as const, wait: 0 };
  assert.deepEqual(await runReport('done', flags), { code: 0, text: '{"ok":true}' });
  assert.deepEqual(await runReport('broken', flags), {
    code: 1,
    message: 'scan broken of r/app:1 failed in SUBMIT (UNAVAILABLE): could not publish the scan request within 30 s: Kafka unreachable',
  });
  const busy = await runReport('busy', flags);
  assert.equal(busy.code, 3);
  assert.match(busy.message ?? '', /scan busy is RUNNING/);
  await assert.rejects(runReport('nope', flags), /NOT_FOUND: no scan nope/);
});

test('a report target is a manifest digest when it looks like one, else a scan id', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  assert.deepEqual(parseReportTarget(digest), { manifestDigest: digest });
  assert.deepEqual(parseReportTarget(' 0b6f-scan '), { scanId: '0b6f-scan' });
  assert.throws(() => parseReportTarget('sha256:xyz'), /not a manifest digest/);
  assert.throws(() => parseReportTarget(''), /give a scan id or a manifest digest/);
});
