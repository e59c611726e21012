// The honest images and advisory db of the hostile suite, and writers for OCI layouts and
// `docker save` archives around any layer bytes a case makes up. The honest images hold packages of
// several ecosystems that the honest advisories hit, so a case that hides one is a visible miss.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tar, type Entry } from './tar.js';
import { zip } from '@strata/testing';

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export const DEBIAN_OS_RELEASE = [
  'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
  'NAME="Debian GNU/Linux"',
  'VERSION_ID="12"',
  'VERSION="12 (bookworm)"',
  'VERSION_CODENAME=bookworm',
  'ID=debian',
  '',
].join('\n');

export const UBUNTU_OS_RELEASE = 'NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n';

export interface DpkgPackage {
  name: string;
  version: string;
  source?: string;
}

export const HONEST_DPKG: DpkgPackage[] = [
  { name: 'base-files', version: '12.4+deb12u5' },
  { name: 'libhonest1', version: '1.0-1', source: 'honest' },
  { name: 'libssl3', version: '3.0.11-1~deb12u2', source: 'openssl' },
  { name: 'zlib1g', version: '1:1.2.13.dfsg-1', source: 'zlib' },
];

export function dpkgParagraph(p: DpkgPackage): string {
  return [
    `Package: ${p.name}`,
    'Status: install ok installed',
    ...(p.source ? [`Source: ${p.source}`] : []),
    `Version: ${p.version}`,
    'Architecture: amd64',
    `Description: ${p.name}`,
    '',
  ].join('\n');
}

export const dpkgStatus = (packages: DpkgPackage[]): string => packages.map((p) => `${dpkgParagraph(p)}\n`).join('');

export const HONEST_STATUS = dpkgStatus(HONEST_DPKG);

export const LODASH_PACKAGE_JSON = JSON.stringify({ name: 'lodash', version: '4.17.15', license: 'MIT' });
export const JINJA_METADATA = 'Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.10\nSummary: templates\n\n';
export const POM_PROPERTIES = 'groupId=org.example\nartifactId=vulnlib\nversion=1.0.0\n';

/** The honest application jar: one pom.properties that the Maven advisory hits. */
export const honestJar = (extra: Array<{ name: string; content: string }> = []): Buffer =>
  zip([
    { name: 'META-INF/MANIFEST.MF', content: 'Manifest-Version: 1.0\n' },
    ...extra,
    { name: 'META-INF/maven/org.example/vulnlib/pom.properties', content: POM_PROPERTIES },
  ]);

/** The honest Debian image's base layer: os-release and the dpkg status. */
export const honestBaseEntries = (): Entry[] => [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/os-release', content: DEBIAN_OS_RELEASE },
  { name: 'var/', type: 'directory' },
  { name: 'var/lib/', type: 'directory' },
  { name: 'var/lib/dpkg/', type: 'directory' },
  { name: 'var/lib/dpkg/status', content: HONEST_STATUS },
];

/** The honest image's application layer: an npm, a Python and a Maven package. */
export const honestAppEntries = (jar: Buffer = honestJar()): Entry[] => [
  { name: 'srv/', type: 'directory' },
  { name: 'srv/app/', type: 'directory' },
  { name: 'srv/app/node_modules/', type: 'directory' },
  { name: 'srv/app/node_modules/lodash/', type: 'directory' },
  { name: 'srv/app/node_modules/lodash/package.json', content: LODASH_PACKAGE_JSON },
  { name: 'usr/', type: 'directory' },
  { name: 'usr/lib/', type: 'directory' },
  { name: 'usr/lib/python3/dist-packages/Jinja2-2.10.dist-info/METADATA', content: JINJA_METADATA },
  { name: 'srv/app/lib/app.jar', content: jar },
];

export const honestBase = (): Buffer => tar(honestBaseEntries());
export const honestApp = (): Buffer => tar(honestAppEntries());

export const ALPINE_OS_RELEASE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n';
export const APK_INSTALLED = 'P:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n\nP:libhonest\nV:1.0-r0\nA:x86_64\no:honest\n\n';

export const honestAlpineEntries = (): Entry[] => [
  { name: 'etc/os-release', content: ALPINE_OS_RELEASE },
  { name: 'lib/apk/db/installed', content: APK_INSTALLED },
];

const range = (introduced: string, fixed: string) => [{ type: 'ECOSYSTEM', events: [{ introduced }, { fixed }] }];

/** OSV records that hit every package of the honest images (fixed versions above the installed ones). */
export function honestRecords(): Array<Record<string, unknown>> {
  const record = (id: string, ecosystem: string, name: string, introduced: string, fixed: string, extra: Record<string, unknown> = {}) => ({
    schema_version: '1.7.5',
    id,
    modified: '2026-11-01T00:00:00Z',
    published: '2026-01-01T00:00:00Z',
    details: `hostile-suite advisory for ${name}`,
    affected: [{ package: { ecosystem, name }, ranges: range(introduced, fixed), ...extra }],
  });
  return [
    record('HOSTILE-DEB-0001', 'Debian:12', 'honest', '0', '1.0-2', { ecosystem_specific: { urgency: 'high' } }),
    record('HOSTILE-DEB-0002', 'Debian:12', 'openssl', '0', '3.0.15-1~deb12u1', { ecosystem_specific: { urgency: 'medium' } }),
    record('HOSTILE-NPM-0001', 'npm', 'lodash', '3.7.0', '4.17.19'),
    record('HOSTILE-PYPI-0001', 'PyPI', 'jinja2', '0', '2.10.1'),
    record('HOSTILE-MVN-0001', 'Maven', 'org.example:vulnlib', '0', '1.0.1'),
    record('HOSTILE-APK-0001', 'Alpine:v3.20', 'honest', '0', '1.0-r1'),
  ];
}

/** Writes the honest records (plus `extra` files, path → content) as a db folder of JSON files. */
export function writeAdvisoryDir(dir: string, extra: Record<string, string | Buffer> = {}): string {
  for (const r of honestRecords()) writeFile(join(dir, `${String(r.id)}.json`), JSON.stringify(r));
  for (const [path, content] of Object.entries(extra)) writeFile(join(dir, path), content);
  return dir;
}

export function writeFile(path: string, content: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

export interface LayerSpec {
  /** the uncompressed tar */
  tar: Buffer;
  /** what the blob holds (default: gzip of the tar) */
  blob?: Buffer;
  mediaType?: string;
  /** the diff_id the config claims (default: the tar's real digest) */
  diffId?: string;
}

export interface ImageSpec {
  layers: Array<Buffer | LayerSpec>;
  /** changes to the config before it is written */
  config?: (config: Record<string, unknown>) => void;
  /** changes to the config's JSON text (for what JSON.stringify cannot write) */
  configText?: (text: string) => string;
}

const GZIP_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const asLayer = (l: Buffer | LayerSpec): LayerSpec => (Buffer.isBuffer(l) ? { tar: l } : l);

function configFor(spec: ImageSpec, layers: LayerSpec[]): Buffer {
  const config: Record<string, unknown> = {
    architecture: 'amd64',
    os: 'linux',
    created: '2026-01-01T00:00:00Z',
    config: { Env: ['PATH=/usr/bin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId ?? sha256(l.tar)) },
    history: layers.map((_, i) => ({ created: '2026-01-01T00:00:00Z', created_by: `hostile layer ${i + 1}` })),
  };
  spec.config?.(config);
  const text = JSON.stringify(config);
  return Buffer.from(spec.configText ? spec.configText(text) : text);
}

/** Writes a blob into an OCI layout; returns its descriptor fields. */
export function writeBlob(layoutDir: string, data: Buffer | string): { digest: string; size: number } {
  const digest = sha256(data);
  writeFile(join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length)), data);
  return { digest, size: Buffer.byteLength(data) };
}

/** The image manifest (and its blobs) of an image spec, written into a layout; returns its descriptor. */
export function writeImageManifest(layoutDir: string, spec: ImageSpec): { mediaType: string; digest: string; size: number } {
  const layers = spec.layers.map(asLayer);
  const layerDescs = layers.map((l) => ({ mediaType: l.mediaType ?? GZIP_LAYER, ...writeBlob(layoutDir, l.blob ?? gzipSync(l.tar)) }));
  const config = writeBlob(layoutDir, configFor(spec, layers));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layerDescs,
  };
  return { mediaType: manifest.mediaType, ...writeBlob(layoutDir, JSON.stringify(manifest)) };
}

/** Writes index.json and oci-layout. */
export function writeLayoutIndex(layoutDir: string, manifests: unknown[]): void {
  writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFile(join(layoutDir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
}

/** An OCI image layout holding one image tagged `tag`; returns the `oci:` reference. */
export function writeOciImage(layoutDir: string, spec: ImageSpec, tag = 'test'): string {
  const manifest = writeImageManifest(layoutDir, spec);
  writeLayoutIndex(layoutDir, [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }]);
  return `oci:${layoutDir}:${tag}`;
}

/** A `docker save` archive (legacy layout: <id>.json config, <n>/layer.tar, manifest.json). */
export function dockerArchive(spec: ImageSpec, repoTag = 'hostile/image:latest'): Buffer {
  const layers = spec.layers.map(asLayer);
  const config = configFor(spec, layers);
  const configName = `${sha256(config).slice('sha256:'.length)}.json`;
  const entries: Entry[] = [{ name: configName, content: config }];
  const layerPaths = layers.map((l, i) => {
    const path = `${String(i).padStart(64, '0')}/layer.tar`;
    entries.push({ name: path, content: l.blob ?? l.tar });
    return path;
  });
  entries.push({ name: 'manifest.json', content: JSON.stringify([{ Config: configName, RepoTags: [repoTag], Layers: layerPaths }]) });
  return tar(entries);
}
