// Images in a registry: a ManifestStore over one repository of a RegistryClient.
import { resolveCredentials } from './credentials.js';
import type { OpenOptions } from './options.js';
import { MAX_CONFIG_BYTES, type ManifestStore } from './image.js';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { describeReference, familiarName, type ImageReference } from './reference.js';

export type RegistryReference = Extract<ImageReference, { kind: 'registry' }>;

export async function clientFor(ref: RegistryReference, options: OpenOptions): Promise<RegistryClient> {
  const credentials =
    options.credentials ??
    (await resolveCredentials(ref.registry, {
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.dockerConfigDir !== undefined ? { dockerConfigDir: options.dockerConfigDir } : {}),
    }));
  const clientOptions: RegistryClientOptions = {};
  if (credentials) clientOptions.credentials = credentials;
  if (options.insecure !== undefined) clientOptions.insecure = options.insecure;
  if (options.userAgent !== undefined) clientOptions.userAgent = options.userAgent;
  if (options.retries !== undefined) clientOptions.retries = options.retries;
  if (options.retryDelayMs !== undefined) clientOptions.retryDelayMs = options.retryDelayMs;
  if (options.maxRetryAfterMs !== undefined) clientOptions.maxRetryAfterMs = options.maxRetryAfterMs;
  if (options.idleTimeoutMs !== undefined) clientOptions.idleTimeoutMs = options.idleTimeoutMs;
  if (options.signal !== undefined) clientOptions.signal = options.signal;
  return createRegistryClient(ref.registry, clientOptions);
}

export function registryStore(ref: RegistryReference, client: RegistryClient): ManifestStore {
  const image = describeReference(ref);
  const reference = ref.digest ?? ref.tag ?? 'latest';
  let root: Promise<{ digest: string; mediaType?: string; body: Buffer }> | undefined;
  return {
    image,
    root() {
      root ??= client.getManifest(ref.repository, reference, { image });
      return root;
    },
    manifest: (desc) => client.getManifest(ref.repository, desc.digest, { image }),
    blobBytes: (desc, kind) => client.getBlobBytes(ref.repository, desc.digest, MAX_CONFIG_BYTES, { image, kind, size: desc.size }),
    openBlob: (desc, kind) => client.getBlob(ref.repository, desc.digest, { image, kind, size: desc.size }),
    close: async () => undefined,
  };
}

export function registryRepoNames(ref: RegistryReference, digest: string): { repoTags: string[]; repoDigests: string[] } {
  const name = familiarName(ref.registry, ref.repository);
  return { repoTags: ref.tag !== undefined ? [`${name}:${ref.tag}`] : [], repoDigests: [`${name}@${digest}`] };
}
