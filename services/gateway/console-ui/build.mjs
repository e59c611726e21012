#!/usr/bin/env node
// Builds the web console's front end (src/) into one folder the gateway serves as static files:
// index.html, console.js (ESM, uPlot compiled in) and console.css (uPlot's styles included), with
// source maps. Nothing is loaded from elsewhere at run time: the console works offline and under a
// CSP without 'unsafe-inline' (no inline script or style).
// Usage: node services/gateway/console-ui/build.mjs [outdir]    (default: console-ui/dist)
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/** Writes the bundle into `outdir` (emptied first). */
export async function buildConsoleUi(outdir = join(here, 'dist')) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: { console: join(here, 'src/main.ts') },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'favicon.svg']) copyFileSync(join(here, 'src', file), join(outdir, file));
  return outdir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildConsoleUi(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.log(`console UI built into ${out}`);
}
