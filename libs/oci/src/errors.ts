// Error types of image acquisition. Every message names the image and, where there is one, the
// blob (layer, config or manifest digest), so a failed scan says exactly what was wrong where.
// Messages never contain credentials or tokens.

/** Base class: anything that went wrong while resolving or reading an image. */
export class OciError extends Error {
  /** the image as the user named it, when known */
  readonly image?: string;
  constructor(message: string, options?: { image?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.image !== undefined) this.image = options.image;
  }
}

/** The reference string could not be parsed. */
export class InvalidReferenceError extends OciError {}

/** A registry answered with an error, or could not be reached. */
export class RegistryError extends OciError {
  readonly status?: number;
  readonly registry: string;
  readonly repository?: string;
  constructor(message: string, options: { registry: string; repository?: string; status?: number; image?: string; cause?: unknown }) {
    super(message, options);
    this.registry = options.registry;
    if (options.repository !== undefined) this.repository = options.repository;
    if (options.status !== undefined) this.status = options.status;
  }
}

/** 401/403: missing or rejected credentials, or a token server that refused us. */
export class AuthError extends RegistryError {}

/** 404 for a manifest (missing tag or digest) or a blob. */
export class NotFoundError extends RegistryError {}

/** A blob (layer, config, manifest) whose bytes do not hash to the digest that names it. */
export class BlobDigestMismatchError extends OciError {
  readonly expected: string;
  readonly actual: string;
  /** what the blob is: 'layer', 'config', 'manifest', 'index' */
  readonly kind: string;
  constructor(options: { kind: string; expected: string; actual: string; image?: string; detail?: string }) {
    super(
      `digest mismatch for ${options.kind} ${options.expected}${options.image ? ` of image ${options.image}` : ''}: ` +
        `content hashes to ${options.actual}${options.detail ? ` (${options.detail})` : ''}`,
      options,
    );
    this.expected = options.expected;
    this.actual = options.actual;
    this.kind = options.kind;
  }
}

/** A manifest or index that is malformed, unsupported, or whose media type lies about its content. */
export class ManifestError extends OciError {}

/** An image config that is not JSON or lacks what an image config must have. */
export class ImageConfigError extends OciError {}

/** No manifest in an index matches the requested platform. */
export class PlatformError extends OciError {}

/** A local input (OCI layout directory, docker-archive tar) that is missing or malformed. */
export class InputError extends OciError {}

/** A blob exceeded its declared size, or a manifest/config exceeded the size we accept. */
export class BlobSizeError extends OciError {}
