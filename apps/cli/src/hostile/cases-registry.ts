// Class 1a through a real registry (the shared anonymous one): a poisoned image pushed and scanned
// first must not change what `strata image` and `strata registry` report for the honest image.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { infra, skipUnless, uniqueName } from '@strata/testing';
import { assertSameFindings, scanJson, type HostileCase } from './harness.js';
import { dpkgStatus, sha256, writeOciImage, DEBIAN_OS_RELEASE } from './images.js';
import { tar } from './tar.js';

/** Pushes the image of a one-image OCI layout over the distribution API (monolithic uploads). */
async function pushLayout(layoutDir: string, host: string, repository: string, tag: string): Promise<void> {
  const blob = (digest: string): Buffer => readFileSync(join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; mediaType: string }> };
  const top = index.manifests[0]!;
  const manifestBytes = blob(top.digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
  for (const digest of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
    const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202, `upload start for ${digest}: ${start.status}`);
    const location = new URL(start.headers.get('location') ?? '', `http://${host}`);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', body: blob(digest), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(put.status, 201, `blob ${digest}: ${put.status}`);
  }
  const put = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    body: manifestBytes,
    headers: { 'content-type': top.mediaType },
  });
  assert.equal(put.status, 201, `manifest: ${put.status} ${await put.text()}`);
}

const cleanBase = (): Buffer =>
  tar([
    { name: 'etc/os-release', content: DEBIAN_OS_RELEASE },
    { name: 'var/lib/dpkg/status', content: dpkgStatus([{ name: 'base-files', version: '12.4+deb12u5' }]) },
  ]);

export const registryCases: HostileCase[] = [
  {
    name: 'diffID poisoning through a registry: strata image, then strata registry, same cache',
    kind: '1 diffID not verified',
    skip: () => skipUnless('registry'),
    run: async (ctx, honest) => {
      const host = infra.registry('anonymous')!.host;
      const repo = uniqueName('strata-hostile/h').toLowerCase();
      writeOciImage(ctx.path('poison'), { layers: [{ tar: cleanBase(), diffId: sha256(honest.base) }, honest.app] });
      writeOciImage(ctx.path('honest'), { layers: [honest.base, honest.app] });
      await pushLayout(ctx.path('poison'), host, `${repo}-poison`, 'latest');
      await pushLayout(ctx.path('honest'), host, `${repo}-honest`, 'latest');
      const bad = await scanJson(ctx, [`${host}/${repo}-poison:latest`], honest.db);
      assert.match(bad.stderr, new RegExp(sha256(honest.base).slice(7, 19)), 'the refusal names the claimed diffID');
      assert.match(bad.stderr, new RegExp(sha256(cleanBase()).slice(7, 19)), 'the refusal names the real digest');
      const summary = await ctx.strata(['registry', host, '--repo', `${repo}-honest`, '--db', honest.db, '--format', 'json']);
      assert.equal(summary.status, 0, summary.stderr);
      const total = (JSON.parse(summary.stdout) as { total: Record<string, number> }).total;
      const count = ['unknown', 'low', 'medium', 'high', 'critical'].reduce((n, s) => n + (total[s] ?? 0), 0);
      assert.equal(count, honest.debian.findings.length, 'strata registry counts the honest findings');
      assertSameFindings(await scanJson(ctx, [`${host}/${repo}-honest:latest`], honest.db), honest.debian);
    },
  },
];
