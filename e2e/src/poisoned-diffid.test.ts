// Layer-store poisoning through the real services (Kafka, MinIO, registry): an image whose config
// claims the debian base layer's diffID for a layer holding a clean dpkg status is refused by the
// analyzer (DIGEST_MISMATCH naming both digests) and stores no result; the honest image scanned
// afterwards in the same deployment reports what the embedded scan reports.
import assert from 'node:assert/strict';
import test from 'node:test';
import { FailureCode, ScanStage } from '@strata/contracts';
import { fileLayer, infra, pushImage, tarLayer, uniqueLayer, uniqueName } from '@strata/testing';
import { cacheKeyFor, layerResultKey } from '@strata/pipeline';
import { baseLayerFixture, embeddedScan, reportEssence, storedJson, runningDeployment } from './testing/harness.js';
import { skipUnlessPipelineInfra } from './testing/gate.js';

const skip = skipUnlessPipelineInfra();

test('a layer whose content does not hash to its claimed diffID is refused and cannot poison the layer store', { skip, timeout: 300_000 }, async (t) => {
  const host = infra.registry('anonymous')!.host;
  const run = uniqueName('poison');
  const base = baseLayerFixture();
  const clean = await tarLayer(
    {
      'etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
      'var/lib/dpkg/status': 'Package: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u9\nArchitecture: amd64\n\n',
    },
    'clean-looking layer',
  );
  // the blob digest is honest; only the config's rootfs.diff_ids entry lies
  const poisoned = await pushImage(host, 'strata-test/pipeline-test', `${run}-poisoned`, [{ ...clean, diffId: base.diffId }]);
  const honest = await pushImage(host, 'strata-test/pipeline-test', `${run}-honest`, [await fileLayer(base.path, base), await uniqueLayer(run)]);

  const { d, outside } = await runningDeployment(t, 'poison');

  const poisonedScan = await d.submit(poisoned.ref);
  const failed = await outside.waitFor(() => outside.failed.find((f) => f.scanId === poisonedScan), 180_000, 'scan.failed of the poisoned image');
  assert.equal(failed.stage, ScanStage.ANALYZE, failed.reason);
  assert.equal(failed.code, FailureCode.DIGEST_MISMATCH, failed.reason);
  assert.equal(failed.layerDigest, clean.digest);
  assert.ok(failed.reason.includes(clean.diffId) && failed.reason.includes(base.diffId), failed.reason);
  assert.equal(await d.store.exists(layerResultKey(cacheKeyFor(base.diffId))), false, 'no result stored under the claimed diffID');

  const honestScan = await d.submit(honest.ref);
  await outside.waitFor(() => outside.completed.find((c) => c.scanId === honestScan), 240_000, 'the honest scan');
  const record = await d.waitForRecord(honestScan, (r) => r.status === 'COMPLETED');
  const distributed = reportEssence(await storedJson(d.store, record.resultKey!));
  const reference = reportEssence(await embeddedScan(honest.ref));
  assert.ok(reference.findings.length > 0, 'the honest image has findings');
  assert.deepEqual(distributed, reference);
});
