export type LayerErrorCode = 'TRUNCATED' | 'CORRUPT' | 'BAD_TAR' | 'LIMIT_EXCEEDED' | 'ABORTED' | 'DIFF_ID_MISMATCH';

/** A layer that cannot be walked. The message names the layer (`label`) and what went wrong. */
export class LayerError extends Error {
  readonly code: LayerErrorCode;
  readonly label?: string;
  /** what went wrong, without the layer label (for callers that name the layer themselves) */
  readonly detail: string;

  constructor(code: LayerErrorCode, message: string, options: { label?: string | undefined; cause?: unknown } = {}) {
    super(`layer ${options.label ?? '(unlabelled)'}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LayerError';
    this.code = code;
    this.detail = message;
    if (options.label !== undefined) this.label = options.label;
  }
}
