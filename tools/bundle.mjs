#!/usr/bin/env node
// Bundles an app or service entry point into ESM: our own @strata/* sources are compiled in (they are
// TypeScript-only packages); third-party packages stay external in node_modules, unless --deps.
// Code splitting puts what a dynamic import() reaches (e.g. the CLI's --server client with gRPC)
// into chunks/ beside the entry, so a start-up that never takes that path never loads it.
// --deps (the CLI): third-party packages are compiled in too, so a start resolves and reads nothing
// from node_modules (Node's CJS resolution and ~80 small files cost tens of ms on every run); only
// KEEP_EXTERNAL stays outside: packages that read their own files at run time (sql.js's wasm, the
// CycloneDX JSON schemas) or are only loaded on a lazy path that is safer as published (gRPC, MinIO).
// Usage: node tools/bundle.mjs [--deps] <entry.ts> <out.mjs>
import { rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { build } from 'esbuild';

const args = process.argv.slice(2);
const withDeps = args[0] === '--deps';
const [entry, outfile] = withDeps ? args.slice(1) : args;
if (!entry || !outfile) {
  console.error('usage: bundle.mjs [--deps] <entry.ts> <out.mjs>');
  process.exit(2);
}

/** Package names (or scopes, ending in '/') that stay in node_modules even with --deps. */
const KEEP_EXTERNAL = ['sql.js', 'minio', '@grpc/', 'protobufjs', '@bufbuild/', '@cyclonedx/'];
const packageOf = (path) =>
  path
    .split('/')
    .slice(0, path.startsWith('@') ? 2 : 1)
    .join('/');
/** Parts of a kept-external package that read no files of their own: compiled in all the same. */
const COMPILED_IN = [
  '@cyclonedx/cyclonedx-library/Enums',
  '@cyclonedx/cyclonedx-library/Models',
  '@cyclonedx/cyclonedx-library/Serialize',
  '@cyclonedx/cyclonedx-library/Spec',
];
const keptExternal = (path) => !COMPILED_IN.includes(path) && KEEP_EXTERNAL.some((k) => (k.endsWith('/') ? path.startsWith(k) : packageOf(path) === k));

const externalThirdParty = {
  name: 'external-third-party',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@strata/') || args.path.startsWith('node:')) return undefined;
      // the CycloneDX library's optional plug-ins (XML writers, validators), probed only on paths the CLI never takes
      if (args.importer.includes('/@cyclonedx/cyclonedx-library/dist.node/_optPlug.node/')) return { path: args.path, external: true };
      if (withDeps && !keptExternal(args.path)) return undefined;
      return { path: args.path, external: true };
    });
  },
};

// chunk names carry a content hash: the chunks of an earlier build would pile up beside the new ones
rmSync(join(dirname(outfile), 'chunks'), { recursive: true, force: true });

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
