#!/usr/bin/env node
// Bundles an app or service entry point into ESM: our own @strata/* sources are compiled in (they are
// TypeScript-only packages), third-party packages stay external in node_modules. Code splitting puts
// what a dynamic import() reaches (e.g. the CLI's --server client with gRPC) into chunks/ beside the
// entry, so a start-up that never takes that path never loads it.
// Usage: node tools/bundle.mjs <entry.ts> <out.mjs>
import { basename, dirname, extname } from 'node:path';
import { build } from 'esbuild';

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('usage: bundle.mjs <entry.ts> <out.mjs>');
  process.exit(2);
}

const externalThirdParty = {
  name: 'external-third-party',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@strata/') || args.path.startsWith('node:')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

await build({
  entryPoints: { [basename(outfile, extname(outfile))]: entry },
  outdir: dirname(outfile),
  outExtension: { '.js': extname(outfile) || '.js' },
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [externalThirdParty],
  // CommonJS dependencies bundled into ESM may call require(): give them one
  banner: { js: "import { createRequire as __strataRequire } from 'node:module'; const require = __strataRequire(import.meta.url);" },
});
