// Class 1a/1b: a layer whose content is not what its diffID says (cache poisoning), and tar
// entries after the end-of-archive marker.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { assertRefusedOrSame, assertSameFindings, scanJson, type CaseContext, type HonestScans, type HostileCase } from './harness.js';
import { dockerArchive, dpkgStatus, honestBaseEntries, sha256, writeOciImage, DEBIAN_OS_RELEASE, type ImageSpec } from './images.js';
import { EOF_MARKER, entry, header, pad, paxHeader, tar, type Entry } from './tar.js';

/** The honest base layer's files with the vulnerable packages gone from the dpkg status. */
const cleanBase = (): Buffer =>
  tar([
    { name: 'etc/os-release', content: DEBIAN_OS_RELEASE },
    { name: 'var/lib/dpkg/status', content: dpkgStatus([{ name: 'base-files', version: '12.4+deb12u5' }]) },
  ]);

const hexOf = (digest: string): string => digest.slice('sha256:'.length, 'sha256:'.length + 12);

/** The refusal of a poisoned layer names both digests (claimed and actual). */
function assertNamesBothDigests(stderr: string, claimed: string, actual: string): void {
  assert.match(stderr, new RegExp(hexOf(claimed)), 'the refusal names the diffID the config claims');
  assert.match(stderr, new RegExp(hexOf(actual)), 'the refusal names the digest of what the layer holds');
}

/**
 * Scans a poisoned image (its config claims the honest base's diffID for a clean layer), then the
 * honest image with the same cache: the honest one must keep its findings.
 */
async function poisonThenHonest(ctx: CaseContext, honest: HonestScans, poisoned: (claim: string) => string[]): Promise<void> {
  const claim = sha256(honest.base);
  const bad = await scanJson(ctx, poisoned(claim), honest.db);
  if (bad.status === 0) assert.match(bad.stderr, /WARN/, 'a poisoned layer that does not fail the scan is at least a loud warning');
  assertNamesBothDigests(bad.stderr, claim, sha256(cleanBase()));
  const good = writeOciImage(ctx.path('honest'), { layers: [honest.base, honest.app] });
  assertSameFindings(await scanJson(ctx, [good], honest.db), honest.debian, 'the honest image scanned with a fresh cache');
}

const poisonedSpec = (honest: HonestScans, claim: string, layer: Partial<ImageSpec['layers'][number]> & object = {}): ImageSpec => ({
  layers: [{ tar: cleanBase(), diffId: claim, ...layer }, honest.app],
});

/** Appends entries after the end-of-archive marker of a layer. */
const afterMarker = (before: Entry[], after: Entry[], trailer: Buffer = EOF_MARKER): Buffer => Buffer.concat([tar(before), ...after.map(entry), trailer]);

async function upperLayerCase(ctx: CaseContext, honest: HonestScans, upper: Buffer): Promise<void> {
  const image = writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app, upper] });
  assertSameFindings(await scanJson(ctx, [image], honest.db), honest.debian);
}

export const integrityCases: HostileCase[] = [
  {
    name: 'diffID poisoning of the layer cache through an OCI layout (gzip layer)',
    kind: '1 diffID not verified',
    run: (ctx, honest) => poisonThenHonest(ctx, honest, (claim) => [writeOciImage(ctx.path('poison'), poisonedSpec(honest, claim))]),
  },
  {
    name: 'diffID poisoning through an uncompressed layer (blob digest fine, diffID a lie)',
    kind: '1 diffID not verified',
    run: (ctx, honest) =>
      poisonThenHonest(ctx, honest, (claim) => [
        writeOciImage(ctx.path('poison'), poisonedSpec(honest, claim, { blob: cleanBase(), mediaType: 'application/vnd.oci.image.layer.v1.tar' })),
      ]),
  },
  {
    name: 'diffID poisoning through a zstd layer',
    kind: '1 diffID not verified',
    run: (ctx, honest) =>
      poisonThenHonest(ctx, honest, (claim) => [
        writeOciImage(
          ctx.path('poison'),
          poisonedSpec(honest, claim, { blob: zstdCompressSync(cleanBase()), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }),
        ),
      ]),
  },
  {
    name: 'diffID poisoning through a docker save archive (--input)',
    kind: '1 diffID not verified',
    run: (ctx, honest) =>
      poisonThenHonest(ctx, honest, (claim) => {
        const path = ctx.path('poison.tar');
        writeFileSync(path, dockerArchive(poisonedSpec(honest, claim)));
        return ['--input', path];
      }),
  },
  {
    name: 'diffID poisoning: the poisoned layer is the only layer and the honest image comes second',
    kind: '1 diffID not verified',
    run: async (ctx, honest) => {
      const claim = sha256(honest.base);
      const bad = await scanJson(ctx, [writeOciImage(ctx.path('poison'), { layers: [{ tar: cleanBase(), diffId: claim }] })], honest.db);
      assertNamesBothDigests(bad.stderr, claim, sha256(cleanBase()));
      // Same diffID, same cache: a stored result for the lie would now stand in for the real base.
      const good = writeOciImage(ctx.path('honest'), { layers: [honest.base, honest.app] });
      assertSameFindings(await scanJson(ctx, [good], honest.db), honest.debian);
    },
  },
  {
    name: 'a gzip layer whose gzip trailer is right but whose tar differs from the diffID by one byte',
    kind: '1 diffID not verified',
    run: async (ctx, honest) => {
      const flipped = Buffer.from(honest.base);
      const at = flipped.indexOf('libhonest1');
      flipped[at] = 'L'.charCodeAt(0); // still a valid tar (content bytes, not a header)
      const image = writeOciImage(ctx.path('image'), { layers: [{ tar: flipped, diffId: sha256(honest.base) }, honest.app] });
      const run = await scanJson(ctx, [image], honest.db);
      assertNamesBothDigests(run.stderr, sha256(honest.base), sha256(flipped));
    },
  },
  {
    name: 'tar: an opaque-dir marker for var/lib/dpkg after the end-of-archive marker',
    kind: '1 entries after the tar EOF marker',
    run: (ctx, honest) =>
      upperLayerCase(ctx, honest, afterMarker([{ name: 'srv/README', content: 'hi\n' }], [{ name: 'var/lib/dpkg/.wh..wh..opq', content: '' }])),
  },
  {
    name: 'tar: a replacement var/lib/dpkg/status after the end-of-archive marker',
    kind: '1 entries after the tar EOF marker',
    run: (ctx, honest) =>
      upperLayerCase(
        ctx,
        honest,
        afterMarker(
          [{ name: 'srv/README', content: 'hi\n' }],
          [{ name: 'var/lib/dpkg/status', content: dpkgStatus([{ name: 'base-files', version: '12.4+deb12u5' }]) }],
        ),
      ),
  },
  {
    name: 'tar: whiteouts of the npm, Python and jar packages after the end-of-archive marker',
    kind: '1 entries after the tar EOF marker',
    run: (ctx, honest) =>
      upperLayerCase(
        ctx,
        honest,
        afterMarker(
          [{ name: 'srv/README', content: 'hi\n' }],
          [
            { name: 'srv/app/node_modules/.wh.lodash', content: '' },
            { name: 'usr/lib/python3/dist-packages/.wh.Jinja2-2.10.dist-info', content: '' },
            { name: 'srv/app/lib/.wh.app.jar', content: '' },
          ],
        ),
      ),
  },
  {
    name: 'tar: an os-release switch to Ubuntu after the end-of-archive marker of the base layer itself',
    kind: '1 entries after the tar EOF marker',
    run: async (ctx, honest) => {
      const base = afterMarker(honestBaseEntries(), [{ name: 'etc/os-release', content: 'ID=ubuntu\nVERSION_ID="24.04"\n' }]);
      const image = writeOciImage(ctx.path('image'), { layers: [base, honest.app] });
      assertSameFindings(await scanJson(ctx, [image], honest.db), honest.debian);
    },
  },
  {
    name: 'tar: non-tar garbage after the end-of-archive marker is ignored, as Docker does',
    kind: '1 entries after the tar EOF marker',
    run: async (ctx, honest) => {
      const base = Buffer.concat([honest.base, Buffer.from('this is not a tar header '.repeat(100))]);
      const image = writeOciImage(ctx.path('image'), { layers: [base, honest.app] });
      assertSameFindings(await scanJson(ctx, [image], honest.db), honest.debian);
    },
  },
  {
    name: 'tar: one zero block then a replacement status (Go archive/tar calls this a bad header)',
    kind: '1 entries after the tar EOF marker',
    run: async (ctx, honest) => {
      const upper = Buffer.concat([
        entry({ name: 'srv/README', content: 'hi\n' }),
        Buffer.alloc(512),
        entry({ name: 'var/lib/dpkg/status', content: '' }),
        EOF_MARKER,
      ]);
      const image = writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app, upper] });
      assertRefusedOrSame(await scanJson(ctx, [image], honest.db), honest.debian, /layer|tar|header/i);
    },
  },
  {
    name: 'tar: a PAX size of "12abc" (tar-stream read 12, Go refuses the header) refuses the layer',
    kind: '1 tar read as Go reads it (added)',
    run: async (ctx, honest) => {
      const status = dpkgStatus([{ name: 'base-files', version: '12.4+deb12u5' }]);
      const upper = Buffer.concat([
        paxHeader({ size: `${Buffer.byteLength(status)}abc` }),
        entry({ name: 'var/lib/dpkg/status', content: status }),
        EOF_MARKER,
      ]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app, upper] })], honest.db);
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /layer 3\/3 .*PAX header: size="\d+abc" is not a decimal number/);
      assert.ok((run.stderr.match(/layer 3\/3/g) ?? []).length === 1, `the layer label is said once:\n${run.stderr}`);
    },
  },
  {
    name: 'tar: a PAX global path= record does not rename a later entry (an opaque marker for var/lib/dpkg only tar-stream saw)',
    kind: '1 tar read as Go reads it (added)',
    run: async (ctx, honest) => {
      // Go returns the global header as an entry of its own and containerd ignores it; tar-stream
      // merged its path into the next entry with a local PAX header, here a harmless README.
      const upper = Buffer.concat([
        paxHeader({ path: 'var/lib/dpkg/.wh..wh..opq' }, 'pax-global'),
        paxHeader({ mtime: '1' }),
        entry({ name: 'srv/README', content: 'hi\n' }),
        EOF_MARKER,
      ]);
      assertSameFindings(await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app, upper] })], honest.db), honest.debian);
    },
  },
  {
    name: 'tar: a PAX record whose length runs past its header refuses the layer',
    kind: '1 tar read as Go reads it (added)',
    run: async (ctx, honest) => {
      const body = Buffer.from('90 path=var/lib/dpkg/.wh..wh..opq\n');
      const upper = Buffer.concat([
        header({ name: 'PaxHeaders/x', type: 'pax', size: body.length }),
        pad(body),
        entry({ name: 'srv/README', content: 'hi\n' }),
        EOF_MARKER,
      ]);
      assertRefusedOrSame(
        await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app, upper] })], honest.db),
        honest.debian,
        /PAX header: record length 90/,
      );
    },
  },
  {
    name: 'tar: a layer truncated inside gzip names the layer label once',
    kind: '5 repeated layer labels',
    run: async (ctx, honest) => {
      const blob = gzipSync(honest.app);
      const image = writeOciImage(ctx.path('image'), { layers: [honest.base, { tar: honest.app, blob: blob.subarray(0, blob.length - 40) }] });
      const run = await scanJson(ctx, [image], honest.db);
      const message = run.stderr.split('\n').find((l) => l.startsWith('strata: ') || /WARN/.test(l)) ?? '';
      assert.ok(message !== '', `the truncated layer is reported:\n${run.stderr}`);
      const labels = message.match(/layer 2\/2/g) ?? [];
      assert.ok(labels.length <= 1, `the layer label is said once: ${message}`);
    },
  },
];
