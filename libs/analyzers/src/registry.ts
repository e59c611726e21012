import { apkAnalyzer } from './apk/apk.js';
import { dpkgAnalyzer } from './dpkg/dpkg.js';
import { goBinaryAnalyzer } from './gobinary/gobinary.js';
import { jarAnalyzer } from './jar/jar.js';
import { nodeAnalyzer } from './node/node.js';
import { osReleaseAnalyzer } from './os/os-release.js';
import { pythonAnalyzer } from './python/python.js';
import { rpmAnalyzer } from './rpm/rpm.js';
import { composerLockAnalyzer, composerVendorAnalyzer } from './composer/composer.js';
import { condaAnalyzer } from './conda/conda.js';
import { dotnetDepsAnalyzer, nugetLockAnalyzer } from './dotnet/dotnet.js';
import { gemspecAnalyzer } from './ruby/gemspec.js';
import { rustBinaryAnalyzer } from './rust/binary.js';
import { cargoLockAnalyzer } from './rust/cargo-lock.js';
import type { AnyAnalyzer } from './types.js';

/**
 * Version of the framework itself (how files are dispatched, what a failure records). Part of the
 * analyzer-set version, so changing the framework's behaviour invalidates cached layer results too.
 */
export const FRAMEWORK_VERSION = 4; // 4: layers note files named like DB files and shallow dot-less files (folder replacements)

const ALL: readonly AnyAnalyzer[] = [
  osReleaseAnalyzer,
  dpkgAnalyzer,
  apkAnalyzer,
  rpmAnalyzer,
  nodeAnalyzer,
  pythonAnalyzer,
  goBinaryAnalyzer,
  jarAnalyzer,
  rustBinaryAnalyzer,
  cargoLockAnalyzer,
  composerVendorAnalyzer,
  composerLockAnalyzer,
  gemspecAnalyzer,
  dotnetDepsAnalyzer,
  nugetLockAnalyzer,
  condaAnalyzer,
];

/** Every built-in analyzer, in a fixed order. */
export function defaultAnalyzers(): AnyAnalyzer[] {
  return [...ALL];
}

/**
 * A stable string naming every analyzer and its version, e.g. "framework@1;apk@1;dpkg@1;…".
 * Sorted by type, so the order analyzers are listed in does not matter; bumping any one changes it.
 */
export function analyzerSetVersion(analyzers: readonly AnyAnalyzer[] = ALL): string {
  const seen = new Set<string>();
  for (const a of analyzers) {
    if (seen.has(a.type)) throw new Error(`analyzer type ${JSON.stringify(a.type)} is listed twice`);
    seen.add(a.type);
  }
  const parts = [...analyzers].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)).map((a) => `${a.type}@${a.version}`);
  return [`framework@${FRAMEWORK_VERSION}`, ...parts].join(';');
}
