// Matching huge inventories against the advisory store (issue 12's 150k/200k-package cases):
// 200,000 distinct dpkg packages on Debian 12 and 150,000 distinct npm packages, none of which the
// store has advisories for, plus the same inventories with the store's own heavy packages mixed in.
// Prints the matchInventory time of each (the store is opened and built before timing).
//
//   bash tools/node.sh --import tsx bench/advisories/match-many.ts --db DIR [--cache-dir DIR]
// --db defaults to the generated full synthetic set's Debian and npm dumps (generate.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openAdvisoryIndex } from '@strata/advisories';
import { matchInventory } from '@strata/matcher';
import type { ImageInventory, InventoryPackage, PackageType } from '@strata/model';
import { defaultBucketDir } from './generate.js';

const { values: args } = parseArgs({ options: { db: { type: 'string' }, 'cache-dir': { type: 'string' } } });
const dbDir = args.db ?? defaultBucketDir(1);
const temp = args['cache-dir'] ? undefined : mkdtempSync(join(tmpdir(), 'strata-match-many-'));
const cacheDir = args['cache-dir'] ?? (temp as string);

const t0 = performance.now();
const { index } = await openAdvisoryIndex({ dbDir, cacheDir });
console.log(`store of ${dbDir}: ${index.manifest.counts.records} records, opened in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const layer = { digest: 'sha256:0', diffId: 'sha256:0' };
const pkg = (type: PackageType, name: string, version: string): InventoryPackage => ({
  type,
  name,
  version,
  purl: `pkg:${type}/${name}@${version}`,
  layer,
  setPath: type === 'dpkg' ? 'var/lib/dpkg/status' : `srv/n/node_modules/${name}/package.json`,
});
const heavy = ['linux', 'glibc', 'openssl', 'systemd', 'curl', 'zlib', 'perl', 'bash', 'tar', 'xz-utils', 'sqlite3', 'libxml2'];
const dpkg = (n: number, withHeavy: boolean): ImageInventory => ({
  os: { family: 'debian', name: '12' },
  osPackages: [...Array.from({ length: n }, (_, i) => pkg('dpkg', `p${i}`, `1.${i}`)), ...(withHeavy ? heavy.map((h) => pkg('dpkg', h, '6.1.0-1')) : [])],
  applications: [],
  layers: [layer],
  warnings: [],
});
const npm = (n: number, withHeavy: boolean): ImageInventory => ({
  osPackages: [],
  applications: Array.from({ length: n }, (_, i) => ({
    path: `srv/n/node_modules/p${i}/package.json`,
    analyzer: 'npm',
    type: 'npm' as PackageType,
    packages: [pkg('npm', `p${i}`, '1.0.0')],
  })).concat(
    withHeavy
      ? [
          {
            path: 'srv/package-lock.json',
            analyzer: 'npm',
            type: 'npm',
            packages: ['lodash', 'express', 'axios', 'next', 'webpack'].map((n) => pkg('npm', n, '4.17.0')),
          },
        ]
      : [],
  ),
  layers: [layer],
  warnings: [],
});
for (const [label, inventory] of [
  ['200,000 dpkg packages (Debian 12), none in the store', dpkg(200_000, false)],
  ['150,000 npm packages, one set each, none in the store', npm(150_000, false)],
  ['200,000 dpkg packages + 12 heavy source packages', dpkg(200_000, true)],
  ['150,000 npm packages + 5 heavy ones', npm(150_000, true)],
] as const) {
  const t = performance.now();
  const cpu = process.cpuUsage();
  const r = matchInventory(inventory, index);
  const used = process.cpuUsage(cpu);
  console.log(
    `${label}: ${((performance.now() - t) / 1000).toFixed(2)} s (${((used.user + used.system) / 1e6).toFixed(2)} s CPU), ${r.findings.length} findings, ${r.warnings.length} warnings`,
  );
}
if (temp) rmSync(temp, { recursive: true, force: true });
