// Scans on push, on real components: a private docker-registry (Debian's docker/distribution)
// configured with `notifications.endpoints` pointing at the watcher's endpoint (bearer token in
// the header) notifies a push; the watcher requests the scan by digest without crawling (the
// registry is listed with `repositories: []`), and the real pipeline takes it to COMPLETED.
// Replays are requested once; a wrong token, a huge body, malformed JSON get one clear 4xx.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { createLogger } from '@strata/log';
import { loadServiceConfig } from '@strata/service-runtime';
import type { StageEvent } from '@strata/stage-runtime';
import { infra, pushImage, pushIndex, skipUnless, uniqueLayer, uniqueName } from '@strata/testing';
import { startWatcher, watcherSettings, type RunningWatcher } from '@strata/watcher-service';
import { captureLog, createDeployment, freePort, waitUntil } from './testing/index.js';

const skip = skipUnless('kafka', 'minio', 'registry');

/** A docker-registry on a free loopback port that notifies `hookUrl` of pushes, with `token`. */
async function startNotifyingRegistry(hookUrl: string, token: string): Promise<{ host: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-push-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: {level: info, formatter: text}',
      `storage: {filesystem: {rootdirectory: ${join(dir, 'storage')}}, delete: {enabled: true}, maintenance: {uploadpurging: {enabled: false}}}`,
      `http: {addr: 127.0.0.1:${port}, secret: ${uniqueName('secret')}}`,
      'notifications:',
      '  endpoints:',
      '    - name: strata',
      `      url: ${hookUrl}`,
      `      headers: {Authorization: ["Bearer ${token}"]}`,
      '      timeout: 2s',
      '      threshold: 5',
      '      backoff: 200ms',
      '      ignoredmediatypes: [application/octet-stream]',
      '',
    ].join('\n'),
  );
  const proc = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const host = `127.0.0.1:${port}`;
  await waitUntil(
    async () => {
      if (proc.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
      return (await fetch(`http://${host}/v2/`).catch(() => undefined))?.ok ? true : undefined;
    },
    30_000,
    'the notifying registry to serve',
  );
  return {
    host,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('scans on push: a docker-registry notification becomes a COMPLETED scan with no crawl; replays and hostile requests', {
  skip,
  timeout: 300_000,
}, async (t) => {
  const d = await createDeployment('watcher-push');
  const cleanup: Array<() => Promise<void>> = [() => d.teardown()];
  t.after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });
  await d.startAll();

  const token = `hook-${uniqueName('token')}-${Math.random().toString(36).slice(2)}`;
  const hookPort = await freePort();
  const hookUrl = `http://127.0.0.1:${hookPort}/hooks/distribution`;
  const registry = await startNotifyingRegistry(hookUrl, token);
  cleanup.push(() => registry.stop());

  const { lines: logLines, sink } = captureLog();
  const events: StageEvent[] = [];
  const harborLike = infra.registry('anonymous')!.host;
  const env = {
    ...d.env,
    STRATA_WATCH_INTERVAL_MS: '3600000',
    // push notifications only: no catalog, no repository to crawl
    // (the shared anonymous registry stands for a Harbor: it is notified by hand, Harbor-style)
    STRATA_WATCH_REGISTRIES: JSON.stringify([
      { host: registry.host, repositories: [] },
      { host: harborLike, repositories: [] },
    ]),
    STRATA_WATCHER_HOOK_PORT: String(hookPort),
    STRATA_WATCHER_HOOK_TOKEN: token,
    STRATA_WATCHER_HOOK_MAX_BYTES: '65536',
  };
  const watcher: RunningWatcher = await startWatcher(loadServiceConfig(watcherSettings, env), {
    observe: (e) => events.push(e),
    processMetrics: false,
    logger: createLogger({ service: 'strata-watcher', level: 'info', destination: sink }),
  });
  cleanup.push(() => watcher.stop());
  assert.deepEqual(watcher.hookAddress, { host: '127.0.0.1', port: hookPort });
  await waitUntil(() => (watcher.passes >= 1 ? true : undefined), 30_000, 'the first (empty) pass');
  const requested = () => events.filter((e) => e.outcome === 'requested');

  const repository = `${uniqueName('push')}/app`;
  const image = await pushImage(registry.host, repository, 'v1', [await uniqueLayer(`${repository}-layer`)]);
  const pushedAt = Date.now();

  await t.test('the push is requested once, by digest, and scanned to COMPLETED without a crawl', async () => {
    const request = await waitUntil(() => requested().find((e) => e.manifestDigest === image.manifestDigest), 30_000, 'the scan request of the push');
    const record = await d.waitForRecord(request.scanId, (r) => r.status === 'COMPLETED' || r.status === 'FAILED', 120_000);
    const completedIn = Date.now() - pushedAt;
    assert.equal(record.status, 'COMPLETED', JSON.stringify(record.error));
    assert.equal(record.manifestDigest, image.manifestDigest);
    assert.equal(request.detail!.imageRef, `${registry.host}/${repository}:v1@${image.manifestDigest}`);
    t.diagnostic(`push to COMPLETED: ${completedIn} ms`);
    // The registry was never crawled: no request from the watcher to it, and passes found nothing.
    assert.equal(await watcher.runtime.metrics.value('strata_watcher_registry_requests_total', { registry: registry.host }), 0);
    assert.equal(requested().length, 1, 'only the manifest: blob pushes are not scan requests');
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(hookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.docker.distribution.events.v1+json', authorization: `Bearer ${token}`, ...headers },
      body,
    });
  const replay = JSON.stringify({
    events: [
      {
        id: 'replayed-event-1',
        action: 'push',
        target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', repository, digest: image.manifestDigest, tag: 'v1' },
        request: { host: registry.host },
      },
    ],
  });

  await t.test('a replay of the same repository@digest, or of the same event id, is not requested again', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await post(replay);
      assert.equal(res.status, 202);
      assert.deepEqual(await res.json(), { requested: 0, duplicates: 1, ignored: 0 });
    }
    assert.equal(requested().length, 1);
  });

  await t.test('hostile requests: one clear 4xx each, the token never logged, the endpoint still serves', async () => {
    const cases: Array<[string, Promise<Response>, number, RegExp]> = [
      ['no token', post(replay, { authorization: '' }), 401, /bearer token/],
      ['wrong token', post(replay, { authorization: `Bearer ${token}x` }), 401, /bearer token/],
      ['malformed JSON', post('{"events": [{'), 400, /not JSON/],
      [
        'wrong types',
        post(JSON.stringify({ events: [{ action: 'push', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', repository: 7 } }] })),
        400,
        /repository must be/,
      ],
      ['a huge body', post('x'.repeat(1_000_000)), 413, /exceeds 65536 bytes/],
      ['another path', fetch(`http://127.0.0.1:${hookPort}/nope`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }), 404, /hooks/],
      ['GET', fetch(hookUrl, { headers: { authorization: `Bearer ${token}` } }), 405, /POST/],
    ];
    for (const [what, pending, status, message] of cases) {
      const res = await pending.catch((error: unknown) => assert.fail(`${what}: ${String(error)}`));
      assert.equal(res.status, status, what);
      const body = (await res.json()) as { error: string };
      assert.match(body.error, message, what);
    }
    // an unwatched registry is ignored, not requested
    const elsewhere = replay.replace(registry.host, 'other.example').replace('replayed-event-1', 'e-other');
    const res = await post(elsewhere);
    assert.deepEqual(await res.json(), { requested: 0, duplicates: 0, ignored: 1 });
    assert.equal(requested().length, 1);
    assert.ok(!logLines.some((l) => l.includes(token)), 'the token is never logged');
  });

  await t.test('a Harbor PUSH_ARTIFACT webhook is requested by digest and scanned to COMPLETED; its replay is not', async () => {
    const repo = `${uniqueName('harbor')}/app`;
    const pushed = await pushImage(harborLike, repo, 'v2', [await uniqueLayer(`${repo}-layer`)]);
    const webhook = JSON.stringify({
      type: 'PUSH_ARTIFACT',
      occur_at: Math.floor(Date.now() / 1000),
      operator: 'admin',
      event_data: {
        resources: [{ digest: pushed.manifestDigest, tag: 'v2', resource_url: `${harborLike}/${repo}:v2` }],
        repository: { name: repo.split('/')[1], namespace: repo.split('/')[0], repo_full_name: repo, repo_type: 'private' },
      },
    });
    const harborUrl = `http://127.0.0.1:${hookPort}/hooks/harbor`;
    const send = () => fetch(harborUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: webhook });
    const first = await send();
    assert.equal(first.status, 202);
    assert.deepEqual(await first.json(), { requested: 1, duplicates: 0, ignored: 0 });
    const again = await send();
    assert.deepEqual(await again.json(), { requested: 0, duplicates: 1, ignored: 0 });
    const mine = requested().filter((e) => e.manifestDigest === pushed.manifestDigest);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.detail!.imageRef, `${harborLike}/${repo}:v2@${pushed.manifestDigest}`);
    const record = await d.waitForRecord(mine[0]!.scanId, (r) => r.status === 'COMPLETED' || r.status === 'FAILED', 120_000);
    assert.equal(record.status, 'COMPLETED', JSON.stringify(record.error));
    // Harbor does not say whether the digest is an index: one GET of the manifest tells; no crawl.
    assert.equal(await watcher.runtime.metrics.value('strata_watcher_registry_requests_total', { registry: harborLike }), 1, 'one manifest GET, no crawl');
  });

  await t.test('a multi-platform push (platforms by digest, then the tagged index): each platform requested once, with its index', async () => {
    const multi = `${repository}-multi`;
    const amd = await pushImage(registry.host, multi, '', [await uniqueLayer(`${multi}-amd`)], {
      platform: { os: 'linux', architecture: 'amd64' },
      byDigest: true,
    });
    const arm = await pushImage(registry.host, multi, '', [await uniqueLayer(`${multi}-arm`)], {
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      byDigest: true,
    });
    const index = await pushIndex(registry.host, multi, 'latest', [amd, arm], { attestation: true });
    await waitUntil(
      () => (logLines.some((l) => l.includes('pushed index expanded') && l.includes(index.indexDigest)) ? true : undefined),
      30_000,
      'the index push',
    );
    const mine = requested().filter((e) => e.detail!.repository === multi);
    assert.deepEqual(mine.map((e) => e.manifestDigest).sort(), [amd.manifestDigest, arm.manifestDigest].sort(), 'each platform once, no attestation');
    for (const e of mine) {
      assert.equal(e.detail!.indexDigest, index.indexDigest);
      const record = await d.waitForRecord(e.scanId, (r) => r.status === 'COMPLETED' || r.status === 'FAILED', 120_000);
      assert.equal(record.status, 'COMPLETED', JSON.stringify(record.error));
      assert.equal(record.indexDigest, index.indexDigest);
      assert.deepEqual(record.platform, [amd, arm].find((p) => p.manifestDigest === record.manifestDigest)!.platform);
    }
  });

  await t.test(
    'with the findings DB, duplicates and replays stay idempotent across a watcher restart',
    { skip: d.env.STRATA_PG_URL ? false : 'no findings DB' },
    async () => {
      await watcher.stop();
      const after: StageEvent[] = [];
      const again: RunningWatcher = await startWatcher(loadServiceConfig(watcherSettings, env), {
        observe: (e) => after.push(e),
        processMetrics: false,
        logger: createLogger({ service: 'strata-watcher', level: 'warn', destination: sink }),
      });
      cleanup.push(() => again.stop());
      for (let i = 0; i < 2; i++) {
        const res = await post(replay);
        assert.equal(res.status, 202);
        assert.deepEqual(await res.json(), { requested: 0, duplicates: 1, ignored: 0 }, 'the replay after the restart');
      }
      const dedupRows = await d.findingsDb!.pool.query<{ n: string }>('select count(*) as n from strata.push_dedup where dedup_key like $1', [
        `%${repository}@%`,
      ]);
      assert.ok(Number(dedupRows.rows[0]!.n) >= 1, 'the keys are in strata.push_dedup');
      assert.equal(after.filter((e) => e.outcome === 'requested').length, 0, 'nothing requested again');
    },
  );
});
