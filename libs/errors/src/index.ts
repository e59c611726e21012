// One way to turn anything thrown into text or into an Error. Every log line, warning, scan
// failure reason and gRPC status detail that reports a caught value goes through describeError,
// so the same failure reads the same wherever it surfaces.

/** Most causes we append; a deeper chain is cut off rather than printed whole. */
const MAX_CAUSES = 3;

/**
 * One line describing a thrown value: the message (or, when a system error has none, its code or
 * class name), the system error code when the message does not already say it (`ECONNREFUSED`),
 * and the messages of up to three causes the message does not already contain. An AggregateError
 * without a message (what Node's `net` throws when every address of a host refuses) is described
 * by its first inner error. Anything that is not an Error is `String(value)`.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let text = ownText(error);
  let cause: unknown = error.cause;
  for (let depth = 0; depth < MAX_CAUSES && cause instanceof Error; depth++, cause = cause.cause) {
    const more = ownText(cause);
    if (more && !text.includes(more)) text = `${text} (${more})`;
  }
  return text;
}

/** The thrown value itself when it is an Error, otherwise an Error whose message is `String(value)`. */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function ownText(error: Error): string {
  const code = (error as { code?: unknown }).code;
  const codeText = typeof code === 'string' ? code : undefined;
  let text = error.message;
  if (!text && error instanceof AggregateError && error.errors[0] instanceof Error) text = ownText(error.errors[0]);
  if (!text) text = codeText ?? error.name;
  return codeText && !text.includes(codeText) ? `${text} (${codeText})` : text;
}
