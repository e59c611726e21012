// The demo image's base layer as a pushable tar: its os-release and a dpkg status whose packages the
// fixture advisories name. Shared by the faults suite and bench/recovery.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot, tarLayer, type LayerBlob } from '@strata/testing';

export async function demoBaseLayer(): Promise<LayerBlob> {
  const root = join(repoRoot, 'fixtures/demo/layers/1-base');
  const files: Record<string, Buffer> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path);
    }
  };
  walk(root);
  return tarLayer(files, 'ADD base /');
}
