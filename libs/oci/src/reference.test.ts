import assert from 'node:assert/strict';
import test from 'node:test';
import { InvalidReferenceError } from './errors.js';
import { describeReference, normalizePlatform, parsePlatform, parseReference, platformMatches } from './reference.js';

const D = `sha256:${'a'.repeat(64)}`;

test('parseReference: registry references with Docker Hub defaults', () => {
  const table: Array<[string, Record<string, unknown>]> = [
    ['alpine', { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['alpine:3.20', { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: '3.20' }],
    ['docker.io/alpine', { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['index.docker.io/library/alpine:edge', { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: 'edge' }],
    ['bitnami/redis:7', { registry: 'registry-1.docker.io', repository: 'bitnami/redis', tag: '7' }],
    ['docker://alpine:3', { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: '3' }],
    ['ghcr.io/aquasecurity/trivy:0.50.0', { registry: 'ghcr.io', repository: 'aquasecurity/trivy', tag: '0.50.0' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    ['localhost:5000/a/b/c:v1', { registry: 'localhost:5000', repository: 'a/b/c', tag: 'v1' }],
    ['127.0.0.1:15000/strata/debian-multi:gzip-oci', { registry: '127.0.0.1:15000', repository: 'strata/debian-multi', tag: 'gzip-oci' }],
    [`alpine@${D}`, { registry: 'registry-1.docker.io', repository: 'library/alpine', digest: D }],
    [`quay.io/org/img:1.0@${D}`, { registry: 'quay.io', repository: 'org/img', tag: '1.0', digest: D }],
    ['[::1]:5000/x:y', { registry: '[::1]:5000', repository: 'x', tag: 'y' }],
    ['my-registry.local/ns/app__x-y.z:tag_1.0-rc', { registry: 'my-registry.local', repository: 'ns/app__x-y.z', tag: 'tag_1.0-rc' }],
  ];
  for (const [input, expected] of table) {
    const ref = parseReference(input);
    assert.equal(ref.kind, 'registry', input);
    const { original, ...rest } = ref as Extract<typeof ref, { kind: 'registry' }>;
    assert.equal(original, input);
    assert.deepEqual(rest, { kind: 'registry', ...expected }, input);
  }
});

test('parseReference: local transports', () => {
  assert.deepEqual(parseReference('oci:/tmp/layout'), { kind: 'oci-layout', dir: '/tmp/layout', original: 'oci:/tmp/layout' });
  assert.deepEqual(parseReference('oci:/tmp/layout:multi'), { kind: 'oci-layout', dir: '/tmp/layout', tag: 'multi', original: 'oci:/tmp/layout:multi' });
  assert.deepEqual(parseReference('oci-archive:img.tar:v1'), { kind: 'oci-archive', path: 'img.tar', tag: 'v1', original: 'oci-archive:img.tar:v1' });
  assert.deepEqual(parseReference('docker-archive:/x/img.tar'), { kind: 'docker-archive', path: '/x/img.tar', original: 'docker-archive:/x/img.tar' });
  assert.deepEqual(parseReference('docker-archive:/x/img.tar:strata/app:latest'), {
    kind: 'docker-archive',
    path: '/x/img.tar',
    imageName: 'strata/app:latest',
    original: 'docker-archive:/x/img.tar:strata/app:latest',
  });
});

test('parseReference: bad references name the problem', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['Alpine', /lowercase/],
    ['ghcr.io/Org/App', /lowercase/],
    ['alpine:', /invalid tag/],
    ['alpine:-bad', /invalid tag/],
    ['alpine@sha256:1234', /invalid digest/],
    ['a//b', /invalid repository path component/],
    ['ghcr.io/', /no repository|invalid repository/],
    ['oci:', /no path/],
    ['docker-archive:x.tar:', /empty name/],
    ['bad host!/x', /invalid registry host|invalid repository/],
  ];
  for (const [input, message] of bad) {
    assert.throws(
      () => parseReference(input),
      (err: unknown) => err instanceof InvalidReferenceError && message.test((err as Error).message),
      input,
    );
  }
});

test('describeReference round-trips the familiar name', () => {
  assert.equal(describeReference(parseReference('alpine')), 'alpine:latest');
  assert.equal(describeReference(parseReference('bitnami/redis:7')), 'bitnami/redis:7');
  assert.equal(describeReference(parseReference('127.0.0.1:15000/strata/x:t')), '127.0.0.1:15000/strata/x:t');
  assert.equal(describeReference(parseReference('oci:/d:t')), 'oci:/d:t');
});

test('parsePlatform and matching', () => {
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
  assert.throws(() => parsePlatform('linux'), /os\/arch/);
  assert.throws(() => parsePlatform('linux/arm64/v8/x'), /os\/arch/);
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'aarch64' }), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'x86_64' }), { os: 'linux', architecture: 'amd64' });
  assert.ok(platformMatches({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }));
  assert.ok(platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64' }));
  assert.ok(!platformMatches({ os: 'linux', architecture: 'arm', variant: 'v6' }, { os: 'linux', architecture: 'arm', variant: 'v7' }));
  assert.ok(!platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'windows', architecture: 'amd64' }));
});
