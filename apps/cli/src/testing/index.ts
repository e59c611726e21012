// For this app's tests: `strata …` run from its sources in a child process.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@strata/testing';

export interface StrataRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in `cwd`, without STRATA_DB or STRATA_SERVER from the test's environment. */
export function runStrata(cwd: string, args: string[]): StrataRun {
  const run = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(repoRoot, 'apps/cli/src/main.ts'), ...args], {
    encoding: 'utf8',
    // a registry summary of many images outgrows the default 1 MiB
    maxBuffer: 256 * 1024 * 1024,
    cwd,
    env: { ...process.env, STRATA_DB: '', STRATA_SERVER: '' },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
