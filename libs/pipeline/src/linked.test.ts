// The merge's second pass over the layer blobs: package DBs behind hard links and symlinks whose
// content no analyzer read in the one pass. The oracle is dpkg-query reading the image unpacked by
// GNU tar, layer after layer (links are relative, so nothing on the host is ever reached).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import test from 'node:test';
import tar from 'tar-stream';
import { analyzeLayer } from '@strata/analyzers';
import { mergeLayers, type LayerInput } from '@strata/inventory';
import type { ImageInventory, LayerRef } from '@strata/model';
import { skipUnless } from '@strata/testing';
import { MAX_LINK_READS, readLinkedDatabases } from './linked.js';

interface Spec {
  name: string;
  content?: string;
  type?: 'file' | 'symlink' | 'link' | 'directory';
  linkname?: string;
}

async function packTar(entries: Spec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = { name: e.name, type, mode: type === 'directory' ? 0o755 : 0o644, mtime: new Date(0), ...(e.linkname ? { linkname: e.linkname } : {}) };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, Buffer.from(e.content ?? ''), cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const stanza = (name: string): string =>
  `Package: ${name}\nStatus: install ok installed\nArchitecture: all\nVersion: 1.0-1\nMaintainer: Strata <strata@example.org>\nDescription: test\n`;
const status = (...names: string[]): string => names.map(stanza).join('\n');
const OS = { name: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' };

interface Image {
  tars: Buffer[];
  refs: LayerRef[];
  opened: number;
}

async function image(...layers: Spec[][]): Promise<Image> {
  const tars = await Promise.all(layers.map(packTar));
  const refs = tars.map((t, i) => {
    const digest = `sha256:${createHash('sha256').update(t).digest('hex')}`;
    return { digest, diffId: digest, mediaType: 'application/vnd.oci.image.layer.v1.tar', createdBy: `layer ${i + 1}` };
  });
  return { tars, refs, opened: 0 };
}

/** First pass, second pass, merge: what the embedded scan does. */
async function scan(img: Image): Promise<{ inv: ImageInventory; reads: number }> {
  const first: LayerInput[] = [];
  for (const [i, t] of img.tars.entries()) first.push({ ref: img.refs[i]!, result: await analyzeLayer(Readable.from(t), { diffId: img.refs[i]!.diffId }) });
  const openLayer = async (ref: LayerRef): Promise<Readable> => {
    img.opened++;
    return Readable.from(img.tars[img.refs.findIndex((r) => r.digest === ref.digest)]!);
  };
  const linked = await readLinkedDatabases(first, { openLayer, label: (i) => `layer ${i + 1}` });
  const inv = mergeLayers(linked.layers);
  for (const w of linked.warnings) inv.warnings.push(w);
  return { inv, reads: linked.reads };
}

/** dpkg-query on the layers unpacked in order by GNU tar. */
function dpkgOracle(img: Image): string[] {
  const work = mkdtempSync(join(tmpdir(), 'strata-linked-'));
  try {
    const root = join(work, 'root');
    mkdirSync(root);
    for (const [i, t] of img.tars.entries()) {
      const file = join(work, `${i}.tar`);
      writeFileSync(file, t);
      execFileSync('tar', ['-xf', file, '-C', root], { stdio: 'pipe' });
    }
    const admin = join(root, 'var/lib/dpkg');
    if (!existsSync(join(admin, 'status'))) return [];
    return execFileSync('dpkg-query', [`--admindir=${admin}`, '-W', '-f=${Package}\n'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .sort();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const names = (inv: ImageInventory): string[] => inv.osPackages.map((p) => p.name).sort();
const noWarningAbout = (inv: ImageInventory): void =>
  assert.ok(!inv.warnings.some((w) => /NOT in this report|could not read/.test(w.message)), JSON.stringify(inv.warnings));

test('a dpkg status hard-linked to a file no analyzer read is read in a second pass (dpkg-query is the oracle)', {
  skip: skipUnless('tool:dpkg-query'),
}, async () => {
  const img = await image(
    [OS, { name: 'var/lib/dpkg/status', content: status('old-one', 'old-two') }],
    [
      { name: 'opt/hidden-status', content: status('libssl3', 'zlib1g') },
      { name: 'var/lib/dpkg/status', type: 'link', linkname: 'opt/hidden-status' },
    ],
  );
  const { inv, reads } = await scan(img);
  assert.deepEqual(names(inv), dpkgOracle(img));
  assert.deepEqual(names(inv), ['libssl3', 'zlib1g']);
  assert.equal(reads, 1, 'one read of the layer holding the link');
  assert.ok(inv.osPackages.every((p) => p.layer.digest === img.refs[1]!.digest && p.setPath === 'var/lib/dpkg/status'));
  noWarningAbout(inv);
});

test('a symlink chain into a lower layer, ending in a hard link of that layer, is followed (dpkg-query is the oracle)', {
  skip: skipUnless('tool:dpkg-query'),
}, async () => {
  const img = await image(
    [OS, { name: 'srv/db/real', content: status('libhonest1', 'libssl3') }, { name: 'srv/db/linked', type: 'link', linkname: 'srv/db/real' }],
    [{ name: 'srv/unrelated', content: 'x' }],
    [
      { name: 'opt/one', type: 'symlink', linkname: 'two' },
      { name: 'opt/two', type: 'symlink', linkname: '../srv/db/linked' },
      { name: 'var/lib/dpkg/status', type: 'symlink', linkname: '../../../opt/one' },
    ],
  );
  const { inv, reads } = await scan(img);
  assert.deepEqual(names(inv), dpkgOracle(img));
  assert.deepEqual(names(inv), ['libhonest1', 'libssl3']);
  // searched from the top: layer 3, layer 2, layer 1 (found as a hard link), layer 1 again for its target
  assert.equal(reads, 4);
  // the packages appear in the image with the top layer's links: they are attributed to it
  assert.ok(
    inv.osPackages.every((p) => p.layer.digest === img.refs[2]!.digest),
    JSON.stringify(inv.osPackages.map((p) => p.layer.createdBy)),
  );
  noWarningAbout(inv);
});

test('a symlink to a file an upper layer deleted, or to nothing, is a loud warning and not read from a lower layer', async () => {
  const img = await image(
    [OS, { name: 'opt/status', content: status('gone') }],
    [
      { name: 'opt/.wh.status', content: '' },
      { name: 'var/lib/dpkg/status', type: 'symlink', linkname: '/opt/status' },
    ],
  );
  const { inv } = await scan(img);
  assert.deepEqual(names(inv), []);
  assert.ok(
    inv.warnings.some((w) => w.path === 'var/lib/dpkg/status' && /deleted it/.test(w.message)),
    JSON.stringify(inv.warnings),
  );
  assert.ok(
    inv.warnings.some((w) => w.path === 'var/lib/dpkg/status' && /NOT in this report/.test(w.message)),
    JSON.stringify(inv.warnings),
  );
});

test(`the second pass reads at most ${MAX_LINK_READS} layer blobs, then warns`, async () => {
  const layers: Spec[][] = [[OS, { name: 'var/lib/dpkg/status', type: 'symlink', linkname: '/nowhere/status' }]];
  for (let i = 0; i < MAX_LINK_READS + 8; i++) layers.push([{ name: `srv/f${i}`, content: 'x' }]);
  const img = await image(...layers);
  const { inv, reads } = await scan(img);
  assert.equal(reads, MAX_LINK_READS);
  assert.equal(img.opened, MAX_LINK_READS);
  assert.ok(
    inv.warnings.some((w) => /gave up after reading 32 layers/.test(w.message)),
    JSON.stringify(inv.warnings),
  );
});

test('a hard link to a later entry of the same layer is not followed (tar links name earlier entries): a warning', async () => {
  const img = await image([OS, { name: 'var/lib/dpkg/status', type: 'link', linkname: 'opt/later' }, { name: 'opt/later', content: status('later') }]);
  const { inv } = await scan(img);
  assert.deepEqual(names(inv), []);
  assert.ok(
    inv.warnings.some((w) => w.path === 'var/lib/dpkg/status' && /comes before its target/.test(w.message)),
    JSON.stringify(inv.warnings),
  );
  assert.ok(
    inv.warnings.some((w) => w.path === 'var/lib/dpkg/status' && /NOT in this report/.test(w.message)),
    JSON.stringify(inv.warnings),
  );
});
