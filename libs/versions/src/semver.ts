// npm and crates.io versions, ordered by the npm `semver` package (SemVer 2.0.0 precedence: build
// metadata ignored, pre-releases below the release, identifiers compared numerically or in ASCII).
// Parsing is npm's "loose" mode, the one npm itself applies to package.json versions ("v1.2.3",
// "=1.2.3", "1.2.3beta" = "1.2.3-beta"). In addition, a version with only one or two numeric
// components is padded with zeros ("1.2" = "1.2.0", "0" = "0.0.0"): OSV records use "0" for "from
// the start" and some advisories name partial versions. Anything else (four components,
// numbers beyond 2^53, garbage) is refused.
import semverLib from 'semver';
import { accepts, checkPlain, InvalidVersionError } from './errors.js';
import type { Comparator } from './types.js';

const PARTIAL = /^(v?\d+)(?:\.(\d+))?((?:[-+].*)?)$/;

/** Parses loosely, padding partial versions. */
function parseSemver(v: string): semverLib.SemVer {
  checkPlain('semver', v);
  const options = { loose: true };
  let parsed = semverLib.parse(v, options);
  if (!parsed) {
    const m = PARTIAL.exec(v);
    if (m) parsed = semverLib.parse(`${m[1]}.${m[2] ?? '0'}.0${m[3]}`, options);
  }
  if (!parsed) throw new InvalidVersionError('semver', v, 'not a semantic version');
  return parsed;
}

/** A comparator of the versions `parse` turns into SemVer objects (or refuses with InvalidVersionError). */
export function semverComparator(scheme: Comparator['scheme'], parse: (v: string) => semverLib.SemVer): Comparator {
  return { scheme, compare: (a, b) => parse(a).compare(parse(b)), isValid: (v) => accepts(() => parse(v)) };
}

export const semver = semverComparator('semver', parseSemver);
