// Helpers for this library's tests (not exported from the package).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import type { Package } from '@strata/model';

export function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'], ...options });
}

/** A temp directory removed by the returned cleanup function. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `strata-test-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export type TarEntrySpec =
  | { name: string; type?: 'file'; content: string | Buffer; mode?: number }
  | { name: string; type: 'file'; size: number; generate: () => AsyncIterable<Buffer>; mode?: number }
  | { name: string; type: 'directory'; mode?: number }
  | { name: string; type: 'symlink'; linkname: string };

/** A plain tar layer as a stream, entries written lazily (so a 10 GB entry costs no memory). */
export function tarLayer(entries: TarEntrySpec[]): Readable {
  const p = pack();
  void (async () => {
    try {
      for (const e of entries) {
        if (e.type === 'directory') {
          p.entry({ name: e.name, type: 'directory', mode: e.mode ?? 0o755 });
        } else if (e.type === 'symlink') {
          p.entry({ name: e.name, type: 'symlink', linkname: e.linkname });
        } else if ('generate' in e) {
          const sink = p.entry({ name: e.name, type: 'file', size: e.size, mode: e.mode ?? 0o644 });
          for await (const chunk of e.generate()) {
            if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
          }
          await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
        } else {
          const content = typeof e.content === 'string' ? Buffer.from(e.content) : e.content;
          await new Promise<void>((resolve, reject) =>
            p.entry({ name: e.name, type: 'file', mode: e.mode ?? 0o644, size: content.length }, content, (err) => (err ? reject(err) : resolve())),
          );
        }
      }
      p.finalize();
    } catch (err) {
      p.destroy(err as Error);
    }
  })();
  return Readable.from(p as unknown as AsyncIterable<Buffer>);
}

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

/** Runs the default analyzers over a one-layer tar of `entries` (the real framework path). */
export async function analyzeEntries(entries: TarEntrySpec[], analyzerLimits?: Partial<import('../types.js').AnalyzerLimits>): Promise<import('@strata/model').LayerResult> {
  const { analyzeLayer } = await import('../layer.js');
  const options: import('../layer.js').AnalyzeLayerOptions = { diffId: `sha256:${'0'.repeat(64)}` };
  if (analyzerLimits) options.analyzerLimits = analyzerLimits;
  return analyzeLayer(tarLayer(entries), options);
}

/** "name@version" of every package of the sets at `path` (sorted), for comparing with an oracle. */
export function namesAt(result: import('@strata/model').LayerResult, path: string): string[] {
  return result.applications
    .filter((s) => s.path === path)
    .flatMap((s) => s.packages.map((p) => `${p.name}@${p.version}`))
    .sort();
}
