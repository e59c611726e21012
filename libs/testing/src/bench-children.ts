import { spawnSync } from 'node:child_process';

/**
 * Runs a benchmark script once per adapter, each in its own process (so peak RSS is that adapter's):
 * `node --import tsx <script> --child <adapter> ...args`, whose last stdout line is its JSON result.
 * An adapter for which `unavailable` gives a reason is skipped with that reason printed.
 */
export function runBenchChildren<R>(
  script: string,
  adapters: readonly string[],
  args: readonly string[],
  unavailable: (adapter: string) => string | undefined,
): R[] {
  const rows: R[] = [];
  for (const adapter of adapters) {
    const why = unavailable(adapter);
    if (why !== undefined) {
      console.log(`${adapter}: skipped (${why})`);
      continue;
    }
    const child = spawnSync(process.execPath, ['--import', 'tsx', script, '--child', adapter, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`${adapter} run failed (exit ${child.status})`);
    rows.push(JSON.parse(child.stdout.trim().split('\n').pop()!) as R);
  }
  return rows;
}
