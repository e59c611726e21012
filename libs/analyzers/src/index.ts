// Package analyzers: a registry of small per-ecosystem analyzers and the one-pass layer analysis.
export type {
  Analyzer,
  PostAnalyzer,
  AnyAnalyzer,
  AnalyzerFile,
  CollectedFile,
  AnalyzerContext,
  AnalyzerOutput,
  AnalyzerWarningOut,
  AnalyzerLimits,
  FileInfo,
} from './types.js';
export { DEFAULT_ANALYZER_LIMITS, isPostAnalyzer } from './types.js';
export { analyzeLayer } from './layer.js';
export { removeStaleLayerTempDirs, LAYER_TEMP_PREFIX } from './util/tempdirs.js';
export type { AnalyzeLayerOptions } from './layer.js';
export { defaultAnalyzers, analyzerSetVersion, FRAMEWORK_VERSION } from './registry.js';
export { osPackagePurl, purl } from './purl.js';

export { osReleaseAnalyzer, detectOs, parseOsRelease, releaseFileRank } from './os/os-release.js';
export { dpkgAnalyzer, parseDpkgStatus, DPKG_INSTALLED_STATES } from './dpkg/dpkg.js';
export { apkAnalyzer, parseApkInstalled } from './apk/apk.js';
export { rpmAnalyzer, readSqliteHeaders, rpmPackagesFromHeaders } from './rpm/rpm.js';
export { parseRpmHeader, rpmPackageInfo, parseSourceRpm } from './rpm/header.js';
export { nodeAnalyzer } from './node/node.js';
export { pythonAnalyzer, normalizePythonName } from './python/python.js';
export { goBinaryAnalyzer, goPackages } from './gobinary/gobinary.js';
export { readGoBuildInfo, parseModInfo, goToolchainSemver, bufferSource } from './gobinary/buildinfo.js';
export { jarAnalyzer, gavFromManifest, coordinatesFromManifest, manifestPackage, parseManifest, parseProperties } from './jar/jar.js';
export type { ManifestCoordinates } from './jar/jar.js';
export { cargoLockAnalyzer, readCargoLock } from './rust/cargo-lock.js';
export { rustBinaryAnalyzer, readDepDocument, elfLoadEnd } from './rust/binary.js';
export { composerVendorAnalyzer, composerLockAnalyzer } from './composer/composer.js';
export { gemspecAnalyzer, parseGemspec } from './ruby/gemspec.js';
export type { GemspecFields } from './ruby/gemspec.js';
export { dotnetDepsAnalyzer, nugetLockAnalyzer, readDepsJson, readPackagesLock, readPackagesConfig } from './dotnet/dotnet.js';
export { condaAnalyzer } from './conda/conda.js';
export { MAX_JSON_DEPTH } from './util/json.js';
