// The skip gate of the distributed suites: real Kafka, MinIO, registry and the built test images.
import { skipUnless } from '@strata/testing';
import { fixtureImagesPresent } from './harness.js';

export function skipUnlessPipelineInfra(): string | false {
  const reason = skipUnless('kafka', 'minio', 'registry');
  if (reason) return reason;
  if (fixtureImagesPresent()) return false;
  const missing = 'test images not built (run infra/local/images.sh)';
  if (process.env.STRATA_REQUIRE_INFRA === '1') throw new Error(`required for this test run but missing: ${missing}`);
  return missing;
}
