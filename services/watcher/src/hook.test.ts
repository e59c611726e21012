// The push-notification parsers on the payloads Distribution and Harbor send, and on hostile ones:
// each bad payload is one HookPayloadError naming the field, never a crash or a silent success.
import assert from 'node:assert/strict';
import test from 'node:test';
import { createDedupWindow, HookPayloadError, MAX_HOOK_EVENTS, parseDistributionEnvelope, parseHarborWebhook } from './hook.js';
import { parseWatchedRegistries, watcherConfigProblems } from './settings.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;

/** An event as docker/distribution 2.8 sends it (trimmed of fields the parser does not read). */
function distributionEvent(overrides: Record<string, unknown> = {}, target: Record<string, unknown> = {}) {
  return {
    id: 'f1ad5f8e-8c1e-4a6c-9a4e-1c1f6b0f1e01',
    timestamp: '2026-12-06T03:00:00.000000000Z',
    action: 'push',
    target: {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 528,
      digest: digest('a'),
      length: 528,
      repository: 'team/app',
      url: 'http://127.0.0.1:15000/v2/team/app/manifests/sha256:' + 'a'.repeat(64),
      tag: 'v1',
      ...target,
    },
    request: { id: 'r1', addr: '127.0.0.1:40000', host: '127.0.0.1:15000', method: 'PUT', useragent: 'strata-test' },
    actor: {},
    source: { addr: 'host:5000', instanceID: 'i1' },
    ...overrides,
  };
}

const envelope = (...events: unknown[]) => JSON.stringify({ events });

test('distribution: tagged manifest pushes become pushes; blob pushes, untagged manifests, pulls and deletes are ignored', () => {
  const parsed = parseDistributionEnvelope(
    envelope(
      distributionEvent(),
      distributionEvent({ id: 'e2' }, { mediaType: 'application/vnd.oci.image.index.v1+json', digest: digest('b'), tag: 'latest' }),
      distributionEvent({ id: 'e6' }, { digest: digest('f'), tag: undefined }),
      distributionEvent({ id: 'e3' }, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest('c') }),
      distributionEvent({ id: 'e4', action: 'pull' }),
      distributionEvent({ id: 'e5', action: 'delete' }),
    ),
  );
  assert.deepEqual(parsed, {
    pushes: [
      {
        host: '127.0.0.1:15000',
        repository: 'team/app',
        digest: digest('a'),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        tag: 'v1',
        eventId: 'f1ad5f8e-8c1e-4a6c-9a4e-1c1f6b0f1e01',
      },
      {
        host: '127.0.0.1:15000',
        repository: 'team/app',
        digest: digest('b'),
        mediaType: 'application/vnd.oci.image.index.v1+json',
        tag: 'latest',
        eventId: 'e2',
      },
    ],
    ignored: 4, // the blob, the pull, the delete, and the manifest pushed by digest (scanned through its index)
  });
  // without request.host, the host of target.url
  const noHost = parseDistributionEnvelope(envelope(distributionEvent({ request: {} })));
  assert.equal(noHost.pushes[0]!.host, '127.0.0.1:15000');
});

test('harbor: PUSH_ARTIFACT resources become pushes; other types are ignored', () => {
  const payload = {
    type: 'PUSH_ARTIFACT',
    occur_at: 1733450000,
    operator: 'admin',
    event_data: {
      resources: [
        { digest: digest('d'), tag: 'latest', resource_url: 'harbor.example.com/library/nginx:latest' },
        { digest: digest('e'), resource_url: `harbor.example.com/library/nginx@${digest('e')}` },
      ],
      repository: { date_created: 1733440000, name: 'nginx', namespace: 'library', repo_full_name: 'library/nginx', repo_type: 'public' },
    },
  };
  assert.deepEqual(parseHarborWebhook(JSON.stringify(payload)), {
    pushes: [
      { host: 'harbor.example.com', repository: 'library/nginx', digest: digest('d'), tag: 'latest' },
      { host: 'harbor.example.com', repository: 'library/nginx', digest: digest('e') },
    ],
    ignored: 0,
  });
  assert.deepEqual(parseHarborWebhook(JSON.stringify({ ...payload, type: 'PULL_ARTIFACT' })), { pushes: [], ignored: 1 });
});

test('hostile payloads: one clear HookPayloadError each', () => {
  const distribution: Array<[string, string, RegExp]> = [
    ['not JSON', '{"events": [', /not JSON/],
    ['a list', '[]', /object with an "events" list/],
    ['events not a list', '{"events": {"0": {}}}', /"events" list/],
    ['an event that is a string', envelope('push'), /events\[0\] is not an object/],
    ['action a number', envelope(distributionEvent({ action: 7 })), /events\[0\]\.action must be a string/],
    ['target missing', envelope(distributionEvent({ target: null })), /events\[0\]\.target must be an object/],
    ['digest a number', envelope(distributionEvent({}, { digest: 42 })), /target\.digest must be a non-empty string/],
    ['digest not sha256', envelope(distributionEvent({}, { digest: 'md5:abc' })), /target\.digest is not valid/],
    ['repository with ..', envelope(distributionEvent({}, { repository: '../../etc' })), /target\.repository is not valid/],
    ['repository huge', envelope(distributionEvent({}, { repository: 'a'.repeat(10_000) })), /target\.repository must be a non-empty string/],
    ['tag with a slash', envelope(distributionEvent({}, { tag: 'a/b' })), /target\.tag is not valid/],
    ['no host anywhere', envelope(distributionEvent({ request: { host: 'evil host/x' } }, { url: 'file:///etc/passwd' })), /names no registry host/],
    ['too many events', envelope(...Array.from({ length: MAX_HOOK_EVENTS + 1 }, () => ({}))), /more than 1000 events/],
  ];
  for (const [what, body, message] of distribution) {
    assert.throws(
      () => parseDistributionEnvelope(body),
      (error: Error) => error instanceof HookPayloadError && message.test(error.message),
      what,
    );
  }
  const good = { digest: digest('d'), tag: 'latest', resource_url: 'h.example/library/nginx:latest' };
  const harbor = (eventData: unknown, type: unknown = 'PUSH_ARTIFACT') => JSON.stringify({ type, event_data: eventData });
  const repo = { repo_full_name: 'library/nginx' };
  const harborCases: Array<[string, string, RegExp]> = [
    ['not JSON', '\u0000', /not JSON/],
    ['type missing', '{}', /object with a "type"/],
    ['type a list', harbor({}, ['PUSH_ARTIFACT']), /object with a "type"/],
    ['event_data a string', harbor('x'), /event_data must be an object/],
    ['repository missing', harbor({ resources: [good] }), /event_data\.repository must be an object/],
    ['repo_full_name a number', harbor({ resources: [good], repository: { repo_full_name: 1 } }), /repo_full_name must be a non-empty string/],
    ['resources empty', harbor({ resources: [], repository: repo }), /resources must be a non-empty list/],
    ['resource a number', harbor({ resources: [1], repository: repo }), /resources\[0\] is not an object/],
    ['digest missing', harbor({ resources: [{ ...good, digest: undefined }], repository: repo }), /resources\[0\]\.digest must be a non-empty string/],
    [
      'resource_url for another repository',
      harbor({ resources: [{ ...good, resource_url: 'h.example/other/x:1' }], repository: repo }),
      /resource_url must be host\/library\/nginx/,
    ],
    [
      'resource_url with a scheme',
      harbor({ resources: [{ ...good, resource_url: 'https://h.example/library/nginx:1' }], repository: repo }),
      /resource_url must be/,
    ],
  ];
  for (const [what, body, message] of harborCases) {
    assert.throws(
      () => parseHarborWebhook(body),
      (error: Error) => error instanceof HookPayloadError && message.test(error.message),
      what,
    );
  }
});

test('dedup window: a key is seen within the window, forgotten after it, and the map stays bounded', () => {
  let now = 0;
  const window = createDedupWindow(1000, 3, () => now);
  window.record('a');
  assert.equal(window.seen('a'), true);
  now = 999;
  assert.equal(window.seen('a'), true);
  now = 1001;
  assert.equal(window.seen('a'), false);
  for (const k of ['b', 'c', 'd', 'e']) window.record(k);
  assert.equal(window.size, 3);
  assert.equal(window.seen('b'), false, 'the oldest key went first');
  assert.equal(window.seen('e'), true);
});

test('settings: explicit repositories, and the endpoint refuses to start open off loopback or without a token', () => {
  const [r] = parseWatchedRegistries('[{"host": "ghcr.io", "repositories": ["org/b", "org/a", "org/a"]}]');
  assert.deepEqual(r!.repositories, ['org/a', 'org/b']);
  assert.throws(() => parseWatchedRegistries('[{"host": "ghcr.io", "repositories": ["Org/A:tag"]}]'), /"repositories" must be a list of repository names/);
  const base = { STRATA_WATCH_REGISTRIES: [r!], STRATA_REGISTRY_CREDENTIALS: {} };
  assert.deepEqual(watcherConfigProblems({ ...base, STRATA_WATCHER_HOOK_PORT: -1 }), [], 'no endpoint: no token needed');
  assert.match(watcherConfigProblems({ ...base, STRATA_WATCHER_HOOK_PORT: 8090 }).join(), /STRATA_WATCHER_HOOK_TOKEN is required/);
  assert.deepEqual(
    watcherConfigProblems({ ...base, STRATA_WATCHER_HOOK_PORT: 8090, STRATA_WATCHER_HOOK_OPEN: true, STRATA_WATCHER_HOOK_HOST: '127.0.0.1' }),
    [],
  );
  assert.match(
    watcherConfigProblems({ ...base, STRATA_WATCHER_HOOK_PORT: 8090, STRATA_WATCHER_HOOK_OPEN: true, STRATA_WATCHER_HOOK_HOST: '0.0.0.0' }).join(),
    /only allowed on loopback/,
  );
  const short = watcherConfigProblems({ ...base, STRATA_WATCHER_HOOK_PORT: 8090, STRATA_WATCHER_HOOK_TOKEN: 'short-secret' });
  assert.match(short.join(), /at least 16 characters/);
  assert.ok(!short.join().includes('short-secret'), 'the token never appears in a message');
});
