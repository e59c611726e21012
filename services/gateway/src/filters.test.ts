// WatchFindings filters (the stream itself is tested against Kafka in gateway.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { FindingsKind, FindingsPublishedSchema, Severity, WatchFindingsRequestSchema } from '@strata/contracts';
import { findingsFilter } from './filters.js';

const event = (init: MessageInitShape<typeof FindingsPublishedSchema>) => create(FindingsPublishedSchema, init);
const filter = (init: MessageInitShape<typeof WatchFindingsRequestSchema>) => findingsFilter(create(WatchFindingsRequestSchema, init));

test('repository prefixes match the ref as given, registry/repository and Docker Hub short names', () => {
  const hub = event({ imageRef: 'alpine:3.20', manifestDigest: 'sha256:a', kind: FindingsKind.FULL });
  const local = event({ imageRef: '127.0.0.1:15000/strata/debian-multi:gzip-oci', manifestDigest: 'sha256:b', kind: FindingsKind.FULL });
  for (const prefix of ['alpine', 'docker.io/library/alp', 'registry-1.docker.io/library/alpine'])
    assert.ok(filter({ repositoryPrefixes: [prefix] })(hub), prefix);
  assert.ok(!filter({ repositoryPrefixes: ['127.0.0.1:15000/'] })(hub));
  assert.ok(filter({ repositoryPrefixes: ['quay.io/', '127.0.0.1:15000/strata/'] })(local));
  assert.ok(!filter({ repositoryPrefixes: ['127.0.0.1:15000/other'] })(local));
});

test('digests match the manifest or the index digest; kinds and severity narrow further; empty filters match all', () => {
  const full = event({ imageRef: 'a:1', manifestDigest: 'sha256:m', indexDigest: 'sha256:i', kind: FindingsKind.FULL, counts: { medium: 2 } });
  const delta = event({
    imageRef: 'a:1',
    manifestDigest: 'sha256:m',
    kind: FindingsKind.DELTA,
    counts: { critical: 5 },
    added: [{ vulnerabilityId: 'CVE-1', severity: Severity.LOW }],
  });
  assert.ok(filter({})(full) && filter({})(delta));
  assert.ok(filter({ manifestDigests: ['sha256:i'] })(full));
  assert.ok(!filter({ manifestDigests: ['sha256:x'] })(full));
  assert.ok(filter({ kinds: [FindingsKind.DELTA] })(delta) && !filter({ kinds: [FindingsKind.DELTA] })(full));
  assert.ok(filter({ minSeverity: Severity.MEDIUM })(full));
  assert.ok(!filter({ minSeverity: Severity.HIGH })(full));
  // A delta is judged by what it adds, not by the image's totals.
  assert.ok(!filter({ minSeverity: Severity.MEDIUM })(delta));
  assert.ok(filter({ minSeverity: Severity.LOW })(delta));
});
