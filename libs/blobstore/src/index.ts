// @strata/blobstore: the BlobStore port and its two adapters (filesystem, S3).
export {
  InvalidKeyError,
  BlobIntegrityError,
  BlobStoreDigestMismatchError,
  SizeMismatchError,
  BlobNotFoundError,
  BlobStoreUnavailableError,
  parseKey,
  parseDigest,
  type BlobStore,
  type BlobInfo,
  type BlobStat,
  type VersionedDocument,
  type PutBlobOptions,
  type DigestAlgorithm,
  type ParsedKey,
} from './types.js';
export { createFsBlobStore, type FsBlobStoreOptions } from './fs.js';
export { createS3BlobStore, type S3BlobStoreOptions } from './s3.js';
export { putJson, getJson } from './json.js';
