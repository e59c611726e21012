// npm and crates.io versions, ordered by the npm `semver` package (SemVer 2.0.0 precedence: build
// metadata ignored, pre-releases below the release, identifiers compared numerically or in ASCII).
// Parsing is npm's "loose" mode, the one npm itself applies to package.json versions ("v1.2.3",
// "=1.2.3", "1.2.3beta" = "1.2.3-beta"). In addition, a version with only one or two numeric
// components is padded with zeros ("1.2" = "1.2.0", "0" = "0.0.0"): OSV records use "0" for "from
// the start" and some advisories name partial versions. Anything else (four components,
// numbers beyond 2^53, garbage) is refused.
import type { SemVer } from 'semver';
import { parseWithSemverLib } from './semver-lib.js';
import { accepts, checkPlain, InvalidVersionError } from './errors.js';
import type { Comparator } from './types.js';

const PARTIAL = /^(v?\d+)(?:\.(\d+))?((?:[-+].*)?)$/;

/** Parses loosely, padding partial versions. */
function parseSemver(v: string): SemVer {
  checkPlain('semver', v);
  const options = { loose: true };
  let parsed = parseWithSemverLib(v, options);
  if (!parsed) {
    const m = PARTIAL.exec(v);
    if (m) parsed = parseWithSemverLib(`${m[1]}.${m[2] ?? '0'}.0${m[3]}`, options);
  }
  if (!parsed) throw new InvalidVersionError('semver', v, 'not a semantic version');
  return parsed;
}

export const semver: Comparator = {
  scheme: 'semver',
  compare: (a, b) => parseSemver(a).compare(parseSemver(b)),
  isValid: (v) => accepts(() => parseSemver(v)),
};
