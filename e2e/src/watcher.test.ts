// The watcher on the real pipeline (Kafka, MinIO, the anonymous and basic registries, the real
// fetcher/analyzer/merger/matcher): a registry of 20 repositories, some multi-arch, is scanned
// once per image and platform; new digests are picked up within a pass, known ones never
// rescanned, not after a restart either; a registry refusing the credentials is reported without
// the password while the other is still watched.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { getJson } from '@strata/blobstore';
import { decodeEvent, ScanTrigger, Topics, type EventOf } from '@strata/contracts';
import { createLogger } from '@strata/log';
import { cursorKey, type WatchCursor } from '@strata/registry-crawl';
import type { StageEvent } from '@strata/stage-runtime';
import { startWatcher, watcherSettings, type RunningWatcher } from '@strata/watcher-service';
import { loadServiceConfig } from '@strata/service-runtime';
import { infra, pushImage, pushIndex, skipUnless, uniqueLayer, uniqueName, type PushedImage } from '@strata/testing';
import { captureLog, createDeployment, waitUntil } from './testing/index.js';

const skip = skipUnless('kafka', 'minio', 'registry');

test('watcher: 20 repositories, multi-arch indexes, new tags, restarts and a registry refusing the credentials', { skip, timeout: 600_000 }, async (t) => {
  const anonymous = infra.registry('anonymous')!.host;
  const basic = infra.registry('basic');
  assert.ok(basic, 'STRATA_TEST_REGISTRY_BASIC is not set');
  const badPassword = `wrong-${Math.random().toString(36).slice(2)}`;
  const d = await createDeployment('watcher');
  // One hook, in order: the watcher and the test consumer stop before the topics and bucket go.
  const cleanup: Array<() => Promise<void>> = [() => d.teardown()];
  t.after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });
  await d.startAll();

  // The registry: 16 single-platform repositories and 4 multi-arch ones (2 platforms each, two of
  // them with an attestation entry), plus one outside the include glob.
  const prefix = uniqueName('watch');
  const singles = new Map<string, PushedImage>();
  const indexes = new Map<string, { indexDigest: string; platforms: PushedImage[] }>();
  for (let i = 0; i < 16; i++) {
    const repo = `${prefix}/${i % 2 ? 'team-a' : 'team-b/sub'}/app${i}`;
    singles.set(repo, await pushImage(anonymous, repo, 'v1', [await uniqueLayer(`${prefix}-app${i}`)]));
  }
  for (let i = 0; i < 4; i++) {
    const repo = `${prefix}/multi/m${i}`;
    const amd = await pushImage(anonymous, repo, 'build-amd64', [await uniqueLayer(`${prefix}-m${i}`, '1.0.0')], {
      platform: { os: 'linux', architecture: 'amd64' },
    });
    const arm = await pushImage(anonymous, repo, 'build-arm64', [await uniqueLayer(`${prefix}-m${i}`, '1.0.1')], {
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
    const index = await pushIndex(anonymous, repo, 'latest', [amd, arm], { attestation: i % 2 === 0 });
    indexes.set(repo, { indexDigest: index.indexDigest, platforms: [amd, arm] });
  }
  await pushImage(anonymous, `${prefix}-outside/app`, 'v1', [await uniqueLayer(`${prefix}-outside`)]);
  assert.equal(singles.size + indexes.size, 20);

  // What the watcher publishes, read back from the topic as the fetcher gets it.
  const kafka = new Kafka({ clientId: 'watcher-test', brokers: infra.kafka()!.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${d.prefix}requests-${Date.now()}`, sessionTimeout: 6000, heartbeatInterval: 1000 });
  const published: Array<{ key: string; event: EventOf<typeof Topics.scanRequested> }> = [];
  await consumer.connect();
  cleanup.push(() => consumer.disconnect());

  // Captured log lines of the watcher: the bad password must never be among them.
  const { lines: logLines, sink } = captureLog();
  const events: StageEvent[] = [];
  const env = {
    ...d.env,
    STRATA_WATCH_INTERVAL_MS: '500',
    STRATA_WATCH_REGISTRIES: JSON.stringify([
      { host: anonymous, include: [`${prefix}/**`], requestsPerSecond: 500 },
      { host: basic.host, include: [`${prefix}/**`], credentialsRef: 'basic-bad' },
    ]),
    STRATA_REGISTRY_CREDENTIALS: JSON.stringify({ 'basic-bad': { username: 'strata', password: badPassword } }),
  };
  const start = () =>
    startWatcher(loadServiceConfig(watcherSettings, env), {
      observe: (e) => events.push(e),
      processMetrics: false,
      logger: createLogger({ service: 'strata-watcher', level: 'info', destination: sink }),
    });
  let watcher: RunningWatcher = await start();
  cleanup.push(() => watcher.stop());
  await consumer.subscribe({ topic: d.topic(Topics.scanRequested), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => void published.push({ key: message.key!.toString(), event: decodeEvent(Topics.scanRequested, message.value!) }),
  });

  const requested = () => events.filter((e) => e.outcome === 'requested');
  const expected = 16 + 4 * 2;

  await t.test('every image and every platform of each index is requested once and scanned to COMPLETED', async () => {
    await waitUntil(() => (requested().length >= expected ? true : undefined), 120_000, `${expected} scan requests`);
    const byImage = new Map<string, number>();
    for (const e of requested()) byImage.set(e.manifestDigest!, (byImage.get(e.manifestDigest!) ?? 0) + 1);
    const wanted = [...singles.values(), ...[...indexes.values()].flatMap((x) => x.platforms)].map((p) => p.manifestDigest).sort();
    assert.deepEqual([...byImage.keys()].sort(), wanted);
    assert.ok(
      [...byImage.values()].every((n) => n === 1),
      'no image requested twice',
    );
    assert.ok(
      requested().every((e) => (e.detail!.repository as string).startsWith(`${prefix}/`)),
      'only repositories of the include glob',
    );

    for (const e of requested()) {
      const record = await d.waitForRecord(e.scanId, (r) => r.status === 'COMPLETED' || r.status === 'FAILED');
      assert.equal(record.status, 'COMPLETED', `${e.detail!.imageRef}: ${JSON.stringify(record.error)}`);
      assert.equal(record.manifestDigest, e.manifestDigest);
      const repo = e.detail!.repository as string;
      const index = indexes.get(repo);
      if (index) {
        assert.equal(record.indexDigest, index.indexDigest, `${repo}: index digest on the scan record`);
        const platform = index.platforms.find((p) => p.manifestDigest === record.manifestDigest)!.platform;
        assert.deepEqual(record.platform, platform);
      } else {
        assert.equal(record.indexDigest, undefined);
        assert.deepEqual(record.repoTags, [`${anonymous}/${repo}:v1`], 'pinned by digest, named by its tag');
      }
    }

    await waitUntil(() => (published.length >= expected ? true : undefined), 60_000, 'the scan requests on the topic');
    for (const { key, event } of published) {
      assert.equal(event.trigger, ScanTrigger.WATCHER);
      assert.equal(event.credentialsRef, '');
      assert.equal(key, event.imageRef);
      assert.match(event.imageRef, new RegExp(`^${anonymous.replace(/\./g, '\\.')}/${prefix}/.+:[\\w.-]+@sha256:[0-9a-f]{64}$`));
      const repo = /^[^/]+\/(.+):[^:@]+@/.exec(event.imageRef)![1]!;
      const index = indexes.get(repo);
      if (index) {
        assert.equal(event.parentIndexDigest, index.indexDigest);
        assert.ok(event.imageRef.endsWith(`@${index.indexDigest}`));
        assert.ok(event.platform && ['amd64', 'arm64'].includes(event.platform.architecture));
      } else {
        assert.equal(event.parentIndexDigest, undefined);
        assert.equal(event.platform, undefined);
      }
    }
    assert.equal(await watcher.runtime.metrics.value('strata_watcher_scans_requested_total', { registry: anonymous }), expected);
  });

  await t.test('a pass over the unchanged registry requests nothing', async () => {
    const before = requested().length;
    const from = watcher.passes;
    await waitUntil(() => (watcher.passes >= from + 2 ? true : undefined), 60_000, 'two more passes');
    assert.equal(requested().length, before);
    const lastPass = events.filter((e) => e.outcome === 'pass' && e.detail!.registry === anonymous).at(-1)!;
    assert.equal(lastPass.detail!.requested, 0);
    assert.equal(lastPass.detail!.tags, 16 + 4 * 3, 'every tag seen (each multi-arch repository has 3)');
  });

  await t.test('a new digest is requested within one pass; a new tag on a known digest is not', async () => {
    const repo = `${prefix}/team-a/app1`;
    const before = requested().length;
    const passAtPush = watcher.passes;
    const v2 = await pushImage(anonymous, repo, 'v2', [await uniqueLayer(`${prefix}-app1`, '2.0.0')]);
    const alias = await pushImage(anonymous, repo, 'stable', singles.get(repo)!.layers);
    assert.equal(alias.manifestDigest, singles.get(repo)!.manifestDigest, 'the same image under a new tag');
    const fresh = await waitUntil(() => requested().find((e) => e.manifestDigest === v2.manifestDigest), 60_000, 'the request for the new digest');
    // The pass running at push time may have listed the tags before the push; the next one sees it.
    assert.ok((fresh.detail!.pass as number) <= passAtPush + 2, `requested in pass ${fresh.detail!.pass as number}, pushed during pass ${passAtPush + 1}`);
    const from = watcher.passes;
    await waitUntil(() => (watcher.passes >= from + 2 ? true : undefined), 60_000, 'two more passes');
    assert.equal(requested().length, before + 1, 'only the new digest');
    const record = await d.waitForRecord(fresh.scanId, (r) => r.status === 'COMPLETED' || r.status === 'FAILED');
    assert.equal(record.status, 'COMPLETED');
    const cursor = (await getJson<WatchCursor>(d.store, cursorKey(anonymous)))!;
    assert.equal(cursor.tags[`${repo}:stable`], alias.manifestDigest, 'the new tag is recorded');
    assert.equal(cursor.tags[`${repo}:v2`], v2.manifestDigest);
  });

  await t.test('a registry refusing the credentials is reported with its reason, never the password; the other is still watched', async () => {
    const failed = events.filter((e) => e.outcome === 'registry_failed' && e.detail!.registry === basic.host);
    assert.ok(failed.length >= 2, 'every pass tries the failing registry again');
    assert.match(failed[0]!.detail!.error as string, /401/);
    assert.match(failed[0]!.detail!.error as string, /"strata"/);
    const logged = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'registry pass failed; the next pass tries again' && l.registry === basic.host);
    assert.ok(logged.length >= 2);
    assert.match(logged[0]!.reason as string, new RegExp(`authentication failed.*${basic.host.replace(/\./g, '\\.')}`));
    assert.ok(logLines.length > 0 && logLines.every((l) => !l.includes(badPassword)), 'the password never reaches the logs');
    assert.ok(
      events.filter((e) => e.outcome === 'pass' && e.detail!.registry === anonymous).length >= failed.length - 1,
      'the anonymous registry kept being watched',
    );
    assert.ok((await watcher.runtime.metrics.value('strata_watcher_passes_total', { registry: basic.host, outcome: 'failed' })) >= 2);
  });

  await t.test('a restarted watcher keeps its cursor: no rescans', async () => {
    const before = requested().length;
    await watcher.stop();
    const passesBefore = events.filter((e) => e.outcome === 'pass' && e.detail!.registry === anonymous).length;
    watcher = await start();
    await waitUntil(() => (watcher.passes >= 2 ? true : undefined), 60_000, 'two passes of the restarted watcher');
    assert.ok(events.filter((e) => e.outcome === 'pass' && e.detail!.registry === anonymous).length >= passesBefore + 2);
    assert.equal(requested().length, before, 'nothing requested again after the restart');
    const cursor = (await getJson<WatchCursor>(d.store, cursorKey(anonymous)))!;
    // one digest per single image and per index, the platform manifests tagged on their own, and the new v2
    assert.equal(cursor.requested.length, 16 + 4 + 8 + 1);
    assert.equal(Object.keys(cursor.platforms).length, 4);
  });
});
