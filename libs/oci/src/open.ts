// The entry points: open an image from any reference kind, list its platforms, detect --input.
import { resolve as resolvePath } from 'node:path';
import { buildMetadata, listStorePlatforms, resolveImage, storeSource, type ImageSource, type ManifestStore, type PlatformEntry } from './image.js';
import { detectLocal, dirFiles, ociLayoutStore, openDockerArchive, tarFiles } from './local.js';
import type { OpenOptions } from './options.js';
import { clientFor, registryRepoNames, registryStore } from './registry-source.js';
import { DEFAULT_PLATFORM, describeReference, type ImageReference } from './reference.js';
import { indexTar } from './tar-index.js';

async function storeFor(ref: Exclude<ImageReference, { kind: 'docker-archive' }>, options: OpenOptions): Promise<ManifestStore> {
  const image = describeReference(ref);
  switch (ref.kind) {
    case 'registry':
      return registryStore(ref, await clientFor(ref, options));
    case 'oci-layout':
      return ociLayoutStore(dirFiles(ref.dir), ref.tag, image);
    case 'oci-archive': {
      const tar = await indexTar(ref.path);
      try {
        return await ociLayoutStore(tarFiles(tar), ref.tag, image);
      } catch (err) {
        await tar.close();
        throw err;
      }
    }
  }
}

/** Opens an image: resolves the platform's manifest, reads and checks the config, gathers metadata. */
export async function openImage(ref: ImageReference, options: OpenOptions = {}): Promise<ImageSource> {
  if (ref.kind === 'docker-archive') {
    const tar = await indexTar(ref.path);
    try {
      if (!tar.resolve('manifest.json') && tar.resolve('index.json')) {
        // An OCI layout tar given as docker-archive: read it as one.
        const store = await ociLayoutStore(tarFiles(tar), ref.imageName, describeReference(ref));
        return await openStore(store, ref, options);
      }
      return await openDockerArchive(tar, ref.imageName, describeReference(ref), ref.original, options.platform);
    } catch (err) {
      await tar.close();
      throw err;
    }
  }
  const store = await storeFor(ref, options);
  try {
    return await openStore(store, ref, options);
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function openStore(store: ManifestStore, ref: ImageReference, options: OpenOptions): Promise<ImageSource> {
  const resolved = await resolveImage(store, options.platform ?? DEFAULT_PLATFORM, options.platform !== undefined);
  const names =
    ref.kind === 'registry'
      ? registryRepoNames(ref, resolved.indexDigest ?? resolved.manifestDigest)
      : { repoTags: [] as string[], repoDigests: [] as string[] };
  const metadata = buildMetadata({ reference: ref.original, resolved, ...names });
  return storeSource(store, metadata, resolved.manifest);
}

/** Every platform the reference offers (each manifest of an index, nested indexes flattened). */
export async function listPlatforms(ref: ImageReference, options: OpenOptions = {}): Promise<PlatformEntry[]> {
  if (ref.kind === 'docker-archive') {
    const { platform: _ignored, ...rest } = options;
    const source = await openImage(ref, rest);
    try {
      const p = source.metadata.platform;
      return p ? [{ platform: p, manifestDigest: source.metadata.manifestDigest }] : [];
    } finally {
      await source.close();
    }
  }
  const store = await storeFor(ref, options);
  try {
    return await listStorePlatforms(store);
  } finally {
    await store.close();
  }
}

/** `--input <path>`: an OCI layout directory, a docker save tar, or a tar of an OCI layout. */
export async function detectInput(path: string): Promise<ImageReference> {
  const kind = await detectLocal(path);
  const abs = resolvePath(path);
  switch (kind) {
    case 'oci-layout':
      return { kind, dir: abs, original: path };
    case 'oci-archive':
      return { kind, path: abs, original: path };
    case 'docker-archive':
      return { kind, path: abs, original: path };
  }
}
