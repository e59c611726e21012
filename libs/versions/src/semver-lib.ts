// The npm `semver` package, loaded on first use: it compiles a few dozen regular expressions as it
// loads, which a scan without npm, crates.io or Go packages (a Debian image, a warm scan) never needs.
import { createRequire } from 'node:module';
import type { SemVer } from 'semver';

type Parse = (version: string, options?: { loose?: boolean }) => SemVer | null;
let parse: Parse | undefined;

export function parseWithSemverLib(version: string, options?: { loose?: boolean }): SemVer | null {
  parse ??= createRequire(import.meta.url)('semver/functions/parse') as Parse;
  return parse(version, options);
}
