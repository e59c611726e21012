import type { Readable } from 'node:stream';
import type { PackageType } from '@strata/model';
import type { Analyzer, AnalyzerContext, AnalyzerFile, AnalyzerOutput } from '../types.js';
import { isExecutable } from './paths.js';
import { contentStream } from './stream.js';

/**
 * An analyzer of executables (Go, Rust): files with an executable bit and 64 bytes or more, up to
 * limits.maxBinarySize, handed to `analyze` as a stream.
 */
export function executableAnalyzer(
  spec: { type: string; version: number; produces: PackageType },
  analyze: (source: Readable, file: AnalyzerFile, ctx: AnalyzerContext) => Promise<AnalyzerOutput | undefined>,
): Analyzer {
  return {
    type: spec.type,
    version: spec.version,
    input: 'stream',
    required: (_path, info) => isExecutable(info.mode) && info.size >= 64,
    maxSize: (limits) => limits.maxBinarySize,
    produces: { kind: 'application', type: spec.produces },
    analyze: (file, ctx) => analyze(contentStream(file.content), file, ctx),
  };
}
