#!/usr/bin/env node
// Runs the bundled CLI when it has been built (npm run build), else the TypeScript sources via tsx.
// `strata --version` is answered here, before any of the CLI is loaded. Node's compile cache, kept in
// the Strata cache folder, saves compiling the bundle and its dependencies again on every start.
import { existsSync, readFileSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // the repository's package.json, as main.ts reads it
  const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${version}\n`);
} else {
  const cacheDir = process.env.STRATA_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'strata');
  try {
    // Node checks each entry against the source's hash, so a stale or broken entry is never used;
    // NODE_DISABLE_COMPILE_CACHE=1 turns it off.
    module.enableCompileCache?.(join(cacheDir, 'node-compile-cache'));
  } catch {
    // an unusable cache folder only costs speed
  }
  const bundle = fileURLToPath(new URL('../dist/strata.mjs', import.meta.url));
  if (existsSync(bundle)) {
    await import(pathToFileURL(bundle).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import(new URL('../src/main.ts', import.meta.url).href);
  }
}
