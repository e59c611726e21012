import type { InventoryPackage, InventorySet, LayerRef, PackageType } from '@strata/model';

/** Layer n of a made-up image: digest and diffID are n padded with 0s and fs, created by "layer n". */
export const testLayer = (n: number): LayerRef => ({
  digest: `sha256:${String(n).padStart(64, '0')}`,
  diffId: `sha256:${String(n).padStart(64, 'f')}`,
  createdBy: `layer ${n}`,
});

/** An application package set found at `path` in layer `at`: one package per [name, version]. */
export function testAppSet(type: PackageType, path: string, pkgs: [string, string][], at: LayerRef): InventorySet {
  const packages: InventoryPackage[] = pkgs.map(([name, version]) => ({
    type,
    name,
    version,
    purl: `pkg:${type}/${name}@${version}`,
    layer: at,
    setPath: path,
    filePath: path,
  }));
  return { path, analyzer: type, type, packages };
}
