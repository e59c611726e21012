// Test support of this library (the `./testing` entry; never imported by production code): tars,
// temp dirs, CLI runs, and byte-level package-database builders (rpm.ts) for the CLI's hostile suite too.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Package } from '@strata/model';
import { tarStream as buildTar, type TarEntry as TestTarEntry } from '@strata/testing';

export function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'], ...options });
}

/** A temp directory removed by the returned cleanup function. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `strata-test-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `fn` with a fresh temp directory, removed afterwards whatever happens. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => T | Promise<T>): Promise<T> {
  const t = tempDir(prefix);
  try {
    return await fn(t.dir);
  } finally {
    t.cleanup();
  }
}

export { packTar, tarStream } from '@strata/testing';
export type { TarEntry } from '@strata/testing';

/** Zero-filled chunks totalling `size` bytes, produced on demand from one shared buffer. */
export async function* zeros(size: number, chunk = 1024 * 1024): AsyncIterable<Buffer> {
  const buf = Buffer.alloc(chunk);
  let left = size;
  while (left > 0) {
    const n = Math.min(left, chunk);
    yield n === chunk ? buf : buf.subarray(0, n);
    left -= n;
  }
}

export const sortLines = (lines: string[]): string[] => [...lines].sort();

export function tsvLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

export function dpkgLine(p: Package): string {
  return [p.name, p.version, p.arch ?? '', p.srcName ?? '', p.srcVersion ?? ''].join('\t');
}

export { rpmHeaderBlob, ndbSlotOffset, ndbDatabase } from './rpm.js';

/** Runs the default analyzers over a one-layer tar of `entries` (the real framework path). */
export async function analyzeEntries(
  entries: TestTarEntry[],
  analyzerLimits?: Partial<import('../types.js').AnalyzerLimits>,
): Promise<import('@strata/model').LayerResult> {
  const { analyzeLayer } = await import('../layer.js');
  const options: import('../layer.js').AnalyzeLayerOptions = { diffId: `sha256:${'0'.repeat(64)}` };
  if (analyzerLimits) options.analyzerLimits = analyzerLimits;
  return analyzeLayer(buildTar(entries), options);
}

/** "name@version" of every package of the sets at `path` (sorted), for comparing with an oracle. */
export function namesAt(result: import('@strata/model').LayerResult, path: string): string[] {
  return result.applications
    .filter((s) => s.path === path)
    .flatMap((s) => s.packages.map((p) => `${p.name}@${p.version}`))
    .sort();
}
