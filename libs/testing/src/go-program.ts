import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs a one-file Go program (an oracle written against Go's own packages) with the local toolchain:
 * `source` becomes main.go in a fresh temp folder, `args(dir)` may write input files there and
 * returns the program's arguments, `input` is its stdin. Its stdout, as text; the folder is removed.
 */
export function runGoProgram(source: string, opts: { args?: (dir: string) => string[]; input?: string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'strata-go-'));
  try {
    const main = join(dir, 'main.go');
    writeFileSync(main, source);
    const args = opts.args?.(dir) ?? [];
    return execFileSync('go', ['run', main, ...args], { input: opts.input, env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '' } }).toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
