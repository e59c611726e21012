// End to end on the real Kafka, MinIO and registry: a scan submitted as a scan.requested event
// flows through the four services; an outside kafkajs consumer receives the findings; the stored
// report equals the embedded scan's on the same image and advisory DB.
import assert from 'node:assert/strict';
import test from 'node:test';
import { severityCounts } from '@strata/model';
import { renderJsonReport } from '@strata/matcher-service';
import { embeddedScan, fixtureImages, reportEssence, storedJson, timeless, runningDeployment } from './testing/harness.js';
import { skipUnlessPipelineInfra } from './testing/gate.js';

const skip = skipUnlessPipelineInfra();

test('a registry image goes through fetcher, analyzer, merger and matcher; the report equals the embedded scan', { skip, timeout: 300_000 }, async (t) => {
  const fixture = fixtureImages().refs.find((r) => r.registry === 'anonymous' && r.repository === 'strata/debian-multi' && r.tag === 'gzip-oci')!;
  const { d, services, outside } = await runningDeployment(t, 'e2e');

  const scanId = await d.submit(fixture.ref);
  const findings = await outside.waitFor(() => outside.findings.find((f) => f.scanId === scanId), 240_000, `findings of scan ${scanId}`);
  const completed = await outside.waitFor(() => outside.completed.find((c) => c.scanId === scanId), 60_000, `completion of scan ${scanId}`);
  assert.equal(findings.manifestDigest, fixture.manifestDigest);
  assert.equal(findings.imageRef, fixture.ref);
  assert.equal(completed.findingsPublished, true);
  assert.equal(outside.failed.length, 0, `no scan failed: ${JSON.stringify(outside.failed.map((f) => f.reason))}`);

  const record = await d.waitForRecord(scanId, (r) => r.status === 'COMPLETED');
  assert.equal(record.manifestDigest, fixture.manifestDigest);
  assert.equal(record.reportKey, findings.report?.key);
  assert.equal(record.reportKey, `reports/${fixture.manifestDigest}/${findings.advisoryDbVersion}.json`);
  assert.equal(record.advisoryDbVersion, findings.advisoryDbVersion);
  assert.deepEqual(record.layers, { total: 6, cached: 0 });

  const embedded = await embeddedScan(fixture.ref);
  assert.ok(embedded.findings.length > 0, 'the fixture DB has advisories for this image');
  assert.equal(findings.advisoryDbVersion, embedded.advisoryDbVersion);
  const report = await storedJson(d.store, record.reportKey!);
  const expected = JSON.parse(renderJsonReport(embedded)) as unknown;
  assert.deepEqual(reportEssence(report), reportEssence(expected), 'same findings and packages');
  assert.deepEqual(timeless(report), timeless(expected), 'the same report as the embedded scan renders, but for its creation time');
  assert.deepEqual(reportEssence(await storedJson(d.store, record.resultKey!)), reportEssence(embedded));

  const counts = severityCounts(embedded.findings);
  assert.deepEqual(record.counts, counts);
  const { $typeName: _t, ...eventCounts } = findings.counts!;
  assert.deepEqual(eventCounts, counts);

  // Operations: every service answers /healthz and exposes its counters on /metrics.
  for (const service of services) {
    const health = await fetch(`${service.runtime.opsUrl}/healthz`);
    assert.equal(health.status, 200, `${service.name} healthz`);
    const metrics = await (await fetch(`${service.runtime.opsUrl}/metrics`)).text();
    assert.match(metrics, /strata_events_handled_total\{/, `${service.name} counts handled events`);
    assert.match(metrics, /strata_consumer_lag\{/, `${service.name} reports consumer lag`);
  }
  const fetcher = services.find((s) => s.name === 'fetcher')!;
  assert.equal(await fetcher.runtime.metrics.value('strata_layers_fetched_total'), 6);
  assert.ok((await fetcher.runtime.metrics.value('strata_bytes_fetched_total')) > 60_000_000);
  const analyzer = services.find((s) => s.name === 'analyzer')!;
  assert.equal(await analyzer.runtime.metrics.value('strata_layers_analyzed_total'), 6);
  assert.ok(d.events.some((e) => e.service === 'matcher' && e.outcome === 'published' && e.scanId === scanId));
});
