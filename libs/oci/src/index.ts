// @strata/oci: image references, the registry client (distribution spec + auth), manifests,
// indexes and configs, OCI layouts and docker-archive tars — everything up to a verified stream
// of each layer's bytes. Decompression and the tar walk live in @strata/layers.
export {
  parseReference,
  parsePlatform,
  formatPlatform,
  normalizePlatform,
  platformMatches,
  describeReference,
  familiarName,
  isDigest,
  DEFAULT_PLATFORM,
  DOCKER_HUB_REGISTRY,
} from './reference.js';
export type { ImageReference, Platform } from './reference.js';
export { openImage, listPlatforms, detectInput } from './open.js';
export { MAX_INDEX_DESCRIPTORS } from './image.js';
export { MAX_TAR_SPECIAL_HEADER_BYTES } from './tar-index.js';
export type { ImageSource, PlatformEntry } from './image.js';
export type { OpenOptions } from './options.js';
export { createRegistryClient, parseChallenge, parseNextLink, isLoopbackHost } from './registry-client.js';
export type { RegistryClient, RegistryClientOptions, ManifestResponse, ManifestHead, BlobOptions, RequestContext } from './registry-client.js';
export { resolveCredentials } from './credentials.js';
export type { Credentials, CredentialOptions } from './credentials.js';
export { MediaType, MANIFEST_ACCEPT, parseManifest, imageEntries, isIndexType } from './manifest.js';
export type { Descriptor, ImageManifest, ImageIndex, ParsedManifest } from './manifest.js';
export { digestOf, verifyingStream } from './digest.js';
export {
  OciError,
  InvalidReferenceError,
  RegistryError,
  AuthError,
  NotFoundError,
  BlobDigestMismatchError,
  ManifestError,
  ImageConfigError,
  PlatformError,
  InputError,
  BlobSizeError,
} from './errors.js';
