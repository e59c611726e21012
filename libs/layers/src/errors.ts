export type LayerErrorCode = 'TRUNCATED' | 'CORRUPT' | 'BAD_TAR' | 'LIMIT_EXCEEDED' | 'ABORTED';

/** A layer that cannot be walked. The message names the layer (`label`) and what went wrong. */
export class LayerError extends Error {
  readonly code: LayerErrorCode;
  readonly label?: string;

  constructor(code: LayerErrorCode, message: string, options: { label?: string; cause?: unknown } = {}) {
    super(`layer ${options.label ?? '(unlabelled)'}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LayerError';
    this.code = code;
    if (options.label !== undefined) this.label = options.label;
  }
}
