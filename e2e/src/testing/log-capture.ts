// A pino destination that keeps every line a service logs, for tests that assert on what reached
// the logs (e.g. that a secret never does).
import { Writable } from 'node:stream';

export interface CapturedLog {
  /** one entry per log line, in order */
  lines: string[];
  /** the destination to give the service's logger */
  sink: Writable;
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, sink };
}
