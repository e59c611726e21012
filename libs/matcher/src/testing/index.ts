// Test support: inventories from real package databases, and oracles run as subprocesses.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openAdvisoryIndex, type OpenIndexResult, type OsvRecord } from '@strata/advisories';
import type { ImageInventory, InventoryPackage, InventorySet, LayerRef, OsInfo, Package, PackageType } from '@strata/model';

export const LAYER: LayerRef = {
  digest: 'sha256:1111111111111111111111111111111111111111111111111111111111111111',
  diffId: 'sha256:2222222222222222222222222222222222222222222222222222222222222222',
  createdBy: 'ADD rootfs.tar.gz /',
};

export function placed(pkgs: Package[], setPath: string, layer: LayerRef = LAYER): InventoryPackage[] {
  return pkgs.map((p) => ({ ...p, layer, setPath }));
}

export function osInventory(os: OsInfo, pkgs: InventoryPackage[], applications: InventorySet[] = []): ImageInventory {
  return { os, osPackages: pkgs, applications, layers: [LAYER], warnings: [] };
}

export function appSet(type: PackageType, path: string, pkgs: Omit<Package, 'type' | 'purl'>[]): InventorySet {
  const packages = placed(
    pkgs.map((p) => ({ ...p, type, purl: `pkg:${type}/${p.name}@${p.version}` })),
    path,
  );
  return { path, analyzer: type, type, packages };
}

/** Python `packaging`: is `version` inside the PEP 440 specifier set? One subprocess for all pairs. */
export function pep440Contains(pairs: { version: string; spec: string }[]): boolean[] {
  const script = [
    'import json, sys',
    'from packaging.specifiers import SpecifierSet',
    'from packaging.version import Version',
    'print(json.dumps([Version(p["version"]) in SpecifierSet(p["spec"], prereleases=True) for p in json.load(sys.stdin)]))',
  ].join('\n');
  const out = execFileSync('python3', ['-c', script], { input: JSON.stringify(pairs) });
  return JSON.parse(out.toString()) as boolean[];
}

/** `dpkg --compare-versions a op b` for each triple. */
export function dpkgCompare(a: string, op: 'lt' | 'le' | 'eq' | 'ge' | 'gt', b: string): boolean {
  try {
    execFileSync('dpkg', ['--compare-versions', a, op, b], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Python `cvss` (RedHat's reference implementation): base score per vector. */
export function pythonCvssBase(vectors: { type: string; vector: string }[]): (number | null)[] {
  const script = [
    'import json, sys',
    'from cvss import CVSS2, CVSS3, CVSS4',
    'out = []',
    'for v in json.load(sys.stdin):',
    '    try:',
    '        c = {"CVSS_V2": CVSS2, "CVSS_V3": CVSS3, "CVSS_V4": CVSS4}[v["type"]](v["vector"])',
    '        out.append(float(c.base_score))',
    '    except Exception:',
    '        out.append(None)',
    'print(json.dumps(out))',
  ].join('\n');
  const out = execFileSync('python3', ['-c', script], { input: JSON.stringify(vectors) });
  return JSON.parse(out.toString()) as (number | null)[];
}

/** The advisory index of `records` written one file each into `dir` (named `<id>.json` unless `name` says otherwise). */
export async function advisoryDb(
  dir: string,
  records: readonly OsvRecord[],
  name: (record: OsvRecord, i: number) => string = (record) => `${record.id}.json`,
): Promise<OpenIndexResult> {
  for (const [i, record] of records.entries()) await writeFile(join(dir, name(record, i)), JSON.stringify(record));
  return openAdvisoryIndex({ dbDir: dir });
}
