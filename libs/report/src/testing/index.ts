// Test support: a ScanReport built from real data — the Alpine 3.20.3 package DB, an npm lodash and
// a Go binary's modules — matched against the real advisories in shared/data/osv. Nothing in the
// expected outputs is typed by hand: tests derive them from this report or from oracles.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openAdvisoryIndex } from '@strata/advisories';
import { detectOs, parseApkInstalled } from '@strata/analyzers';
import { eolStatus, matchInventory } from '@strata/matcher';
import type { ImageInventory, ImageMetadata, InventorySet, LayerRef, Package } from '@strata/model';
import { sharedDataDir } from '@strata/testing';
import { advisoryDbOf, type ScanReport } from '../report.js';

const digest = (c: string): string => `sha256:${c.repeat(64)}`;
export const BASE_LAYER: LayerRef = {
  digest: digest('1'),
  diffId: digest('2'),
  size: 3_623_844,
  createdBy: 'ADD alpine-minirootfs-3.20.3-x86_64.tar.gz / # buildkit',
};
export const APP_LAYER: LayerRef = { digest: digest('3'), diffId: digest('4'), size: 1_204_223, createdBy: 'COPY app /app # buildkit' };

function set(type: Package['type'], path: string, pkgs: Omit<Package, 'type'>[]): InventorySet {
  return { path, analyzer: type, type, packages: pkgs.map((p) => ({ ...p, type, layer: APP_LAYER, setPath: path })) };
}

export async function realReport(now = new Date('2026-11-26T12:00:00Z')): Promise<ScanReport> {
  const data = sharedDataDir() as string;
  const root = join(data, 'alpine/3.20.3');
  const apk = parseApkInstalled(await readFile(join(root, 'lib/apk/db/installed'), 'utf8'));
  const os = detectOs([{ path: 'etc/os-release', text: await readFile(join(root, 'etc/os-release'), 'utf8') }])?.os;
  if (!os) throw new Error('no OS in the Alpine rootfs');
  const inventory: ImageInventory = {
    os,
    osPackages: apk.packages.map((p) => ({ ...p, layer: BASE_LAYER, setPath: 'lib/apk/db/installed' })),
    applications: [
      set('npm', 'app/node_modules/lodash/package.json', [{ name: 'lodash', version: '4.17.15', purl: 'pkg:npm/lodash@4.17.15', licenses: ['MIT'] }]),
      set('pypi', 'usr/lib/python3.12/site-packages/urllib3-1.26.5.dist-info/METADATA', [
        { name: 'urllib3', version: '1.26.5', purl: 'pkg:pypi/urllib3@1.26.5' },
      ]),
      set('gobinary', 'app/bin/server', [
        { name: 'example.com/server', version: '(devel)', purl: 'pkg:golang/example.com/server', isMainModule: true, filePath: 'app/bin/server' },
        { name: 'github.com/gin-gonic/gin', version: 'v1.5.0', purl: 'pkg:golang/github.com/gin-gonic/gin@v1.5.0', filePath: 'app/bin/server' },
        { name: 'stdlib', version: 'v1.22.1', purl: 'pkg:golang/stdlib@v1.22.1', filePath: 'app/bin/server' },
      ]),
    ],
    layers: [BASE_LAYER, APP_LAYER],
    warnings: [],
  };
  const { index } = await openAdvisoryIndex({ dbDir: join(data, 'osv') });
  const { findings, warnings } = matchInventory(inventory, index);
  const metadata: ImageMetadata = {
    reference: 'registry.invalid/demo/app:1.0',
    manifestDigest: digest('5'),
    configDigest: digest('6'),
    platform: { os: 'linux', architecture: 'amd64' },
    repoTags: ['registry.invalid/demo/app:1.0'],
    repoDigests: [`registry.invalid/demo/app@${digest('5')}`],
    diffIds: [BASE_LAYER.diffId, APP_LAYER.diffId],
    layers: [BASE_LAYER, APP_LAYER],
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [BASE_LAYER.diffId, APP_LAYER.diffId] } },
  };
  return {
    artifactName: 'registry.invalid/demo/app:1.0',
    metadata,
    inventory,
    findings,
    warnings,
    eol: eolStatus(os, now),
    createdAt: now.toISOString(),
    advisoryDb: advisoryDbOf(index.manifest),
  };
}

/** A file shipped inside an installed Python package (schemas that no npm package ships). */
export function pythonPackageFile(module: string, relative: string): string {
  return execFileSync('python3', ['-c', `import ${module}, os; print(os.path.join(os.path.dirname(${module}.__file__), ${JSON.stringify(relative)}))`])
    .toString()
    .trim();
}
