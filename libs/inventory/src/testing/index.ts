// Helpers for this library's tests (not exported): layers as tars, an OCI layout around them, and
// umoci — a real OCI unpacker applying whiteouts itself — as the oracle for the final filesystem.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { analyzeLayer, DPKG_INSTALLED_STATES } from '@strata/analyzers';
import type { InventoryPackage, LayerRef, LayerResult } from '@strata/model';
import { imagesJsonPath, loadImages, ociLayoutLayers, skipUnlessImages, type LayoutLayer } from '@strata/testing';

export { packTar } from '@strata/testing';
export type { TarEntry } from '@strata/testing';

/** `dpkg-query` over an admin dir: the installed packages as "name, version, arch, source, source version" lines, sorted. */
export function dpkgQuery(admindir: string): string[] {
  const format = '${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\t${db:Status-Status}\n';
  return execFileSync('dpkg-query', [`--admindir=${admindir}`, '-W', `-f=${format}`], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'))
    .filter((c) => DPKG_INSTALLED_STATES.has(c[5] ?? ''))
    .map((c) => c.slice(0, 5).join('\t'))
    .sort();
}
/** A package as the line dpkgQuery gives for it. */
export const dpkgLine = (p: InventoryPackage): string => [p.name, p.version, p.arch, p.srcName, p.srcVersion].join('\t');

/** Real rpm sqlite databases (rpmbuild + rpm --justdb), one per list of package names (each `name-version`). */
export function rpmSqliteDatabases(work: string, dbs: string[][]): Buffer[] {
  const top = join(work, 'rpmbuild');
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  const rpms = new Map<string, string>();
  for (const nv of new Set(dbs.flat())) {
    const [name, version] = nv.split(/-(?=[^-]+$)/) as [string, string];
    const spec = join(top, 'SPECS', `${name}.spec`);
    writeFileSync(spec, `Name: ${name}\nVersion: ${version}\nRelease: 1\nLicense: MIT\nSummary: test\nBuildArch: noarch\n%description\ntest\n%files\n`);
    execFileSync('rpmbuild', ['-bb', '--define', `_topdir ${top}`, '--define', '_build_id_links none', spec], { stdio: 'pipe' });
    rpms.set(nv, join(top, 'RPMS/noarch', `${name}-${version}-1.noarch.rpm`));
  }
  return dbs.map((names, i) => {
    const root = join(work, `root${i}`);
    mkdirSync(root, { recursive: true });
    const args = [
      '--root',
      root,
      '--dbpath',
      '/var/lib/rpm',
      '--define',
      '_db_backend sqlite',
      '-i',
      '--nodeps',
      '--justdb',
      ...names.map((n) => rpms.get(n)!),
    ];
    execFileSync('rpm', args, { stdio: 'pipe' });
    return readFileSync(join(root, 'var/lib/rpm/rpmdb.sqlite'));
  });
}

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export interface TestImage {
  layers: Array<{ tar: Buffer; createdBy: string }>;
}

/** Analyzes every layer of a test image and pairs each result with its LayerRef. */
export async function analyzeImage(image: TestImage): Promise<Array<{ ref: LayerRef; result: LayerResult }>> {
  const out: Array<{ ref: LayerRef; result: LayerResult }> = [];
  for (const [i, layer] of image.layers.entries()) {
    const diffId = `sha256:${sha256(layer.tar)}`;
    const blob = gzipSync(layer.tar);
    const ref: LayerRef = {
      digest: `sha256:${sha256(blob)}`,
      diffId,
      size: blob.length,
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      createdBy: layer.createdBy,
    };
    const result = await analyzeLayer(Readable.from([blob]), { diffId, mediaType: ref.mediaType!, label: `test layer ${i + 1}/${image.layers.length}` });
    out.push({ ref, result });
  }
  return out;
}

function writeBlob(dir: string, content: Buffer | string): { digest: string; size: number } {
  const buf = Buffer.from(content);
  const hex = sha256(buf);
  writeFileSync(join(dir, 'blobs/sha256', hex), buf);
  return { digest: `sha256:${hex}`, size: buf.length };
}

/** Writes an OCI image layout for the image and unpacks it with `umoci unpack`; returns the rootfs. */
export function umociRootfs(image: TestImage): { rootfs: string; cleanup: () => void } {
  const work = mkdtempSync(join(tmpdir(), 'strata-inventory-oci-'));
  const layout = join(work, 'layout');
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const layers = image.layers.map((l) => ({ ...writeBlob(layout, gzipSync(l.tar)), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }));
  const config = writeBlob(
    layout,
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: image.layers.map((l) => `sha256:${sha256(l.tar)}`) },
      history: image.layers.map((l) => ({ created_by: l.createdBy })),
    }),
  );
  const manifest = writeBlob(
    layout,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers,
    }),
  );
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'test' } }],
    }),
  );
  const bundle = join(work, 'bundle');
  execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:test`, bundle], { stdio: 'pipe' });
  return { rootfs: join(bundle, 'rootfs'), cleanup: () => rmSync(work, { recursive: true, force: true }) };
}

export type FixtureLayer = LayoutLayer;

export interface FixtureImage {
  layers: FixtureLayer[];
  rootfs: string;
  aptInstalled: string[];
  dpkgPurged: string[];
}

/**
 * The debootstrap-based multi-layer image built by infra/local/images.sh (fixtures/images.json):
 * its layers read straight from the OCI layout (index.json → manifest → layer blobs), the history's
 * created_by per layer, and the umoci-unpacked final rootfs.
 */
export function debianMultiFixture(): FixtureImage | undefined {
  if (!existsSync(imagesJsonPath())) return undefined;
  const image = loadImages().images['debian-multi'];
  const layout = image?.ociLayout;
  if (!image || !layout || !image.rootfs) return undefined;
  const layers = ociLayoutLayers(layout.dir, layout.tag);
  if (!layers) throw new Error(`${layout.dir}: no manifest tagged ${layout.tag}`);
  return { layers, rootfs: image.rootfs, aptInstalled: image.aptInstalled ?? [], dpkgPurged: image.dpkgPurged ?? [] };
}

/** Skip reason when the fixture image is missing; under STRATA_REQUIRE_INFRA=1 a missing image fails instead. */
export function skipUnlessFixtureImage(): string | false {
  return skipUnlessImages(false) || (debianMultiFixture() ? false : `debian-multi missing from ${imagesJsonPath()}; run infra/local/images.sh`);
}
