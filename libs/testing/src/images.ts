// The test images built by infra/local/images.sh, described by <fixtures>/images.json.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesCacheDir, skipUnless } from './index.js';

export interface FixtureLayer {
  index: number;
  digest: string;
  diffId: string;
  createdBy?: string;
}

export interface FixtureImage {
  description?: string;
  aptInstalled?: string[];
  dpkgPurged?: string[];
  ociManifestDigest: string;
  configDigest: string;
  platform: { os: string; architecture: string };
  diffIds: string[];
  layers: FixtureLayer[];
  emptyLayerHistory: string[];
  rootfs?: string;
  ociLayout?: { dir: string; tag: string; ref: string };
  dockerArchive?: { path: string; repoTag: string; ref: string };
  docker25Archive?: { path: string; repoTag: string; ref: string };
}

export interface FixtureRef {
  registry: 'anonymous' | 'basic' | 'token';
  host: string;
  repository: string;
  tag: string;
  ref: string;
  image: string;
  manifestFormat: 'oci' | 'v2s2';
  layerCompression: 'gzip' | 'zstd';
  index: boolean;
  manifestDigest: string;
}

export interface ImagesJson {
  schemaVersion: 1;
  fixturesDir: string;
  images: {
    'debian-multi': FixtureImage;
    'debian-tiny': FixtureImage;
    'small-arm64': FixtureImage;
    /** one package set per ecosystem (infra/local/images/coverage); absent in an images.json written before it */
    coverage?: FixtureImage;
    multiarch: {
      indexDigest: string;
      platforms: Array<{ platform: { os: string; architecture: string; variant?: string }; manifestDigest: string }>;
      ociLayout: { dir: string; tag: string; ref: string };
    };
  };
  refs: FixtureRef[];
  timings: Record<string, number>;
}

export const imagesJsonPath = (): string => join(fixturesCacheDir(), 'images.json');

/** Skip reason when the built images are missing (throws under STRATA_REQUIRE_INFRA=1). */
export function skipUnlessImages(needRegistry = true): string | false {
  if (needRegistry) {
    const reason = skipUnless('registry');
    if (reason) return reason;
  }
  if (existsSync(imagesJsonPath())) {
    if (!needRegistry || loadImages().refs.length > 0) return false;
  }
  const reason = `test images not built (${imagesJsonPath()} missing${needRegistry ? ' or nothing pushed' : ''}; run sudo bash infra/local/images.sh)`;
  if (process.env.STRATA_REQUIRE_INFRA === '1') throw new Error(`required for this test run but missing: ${reason}`);
  return reason;
}

let cached: ImagesJson | undefined;
export function loadImages(): ImagesJson {
  cached ??= JSON.parse(readFileSync(imagesJsonPath(), 'utf8')) as ImagesJson;
  return cached;
}

export function fixtureRef(registry: FixtureRef['registry'], repository: string, tag: string): FixtureRef {
  const found = loadImages().refs.find((r) => r.registry === registry && r.repository === repository && r.tag === tag);
  if (!found) throw new Error(`images.json has no ${registry} push of ${repository}:${tag}; re-run infra/local/images.sh`);
  return found;
}
