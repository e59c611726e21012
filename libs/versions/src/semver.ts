// npm and crates.io versions, ordered by the npm `semver` package (SemVer 2.0.0 precedence: build
// metadata ignored, pre-releases below the release, identifiers compared numerically or in ASCII).
// Parsing is npm's "loose" mode, the one npm itself applies to package.json versions ("v1.2.3",
// "=1.2.3", "1.2.3beta" = "1.2.3-beta"). In addition, a version with only one or two numeric
// components is padded with zeros ("1.2" = "1.2.0", "0" = "0.0.0"): OSV records use "0" for "from
// the start" and some advisories name partial versions. Anything else (four components,
// numbers beyond 2^53, garbage) is refused.
import type { SemVer } from 'semver';
import { parseWithSemverLib } from './semver-lib.js';
import { accepts, checkPlain, InvalidVersionError, parsedOrUndefined } from './errors.js';
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

/** A number as a length character and its digits: longer is bigger, equal lengths compare as text. */
const numberKey = (n: number): string => {
  const digits = String(n);
  return `${String.fromCharCode(0x30 + digits.length)}${digits}`;
};

/**
 * The key of a parsed semantic version: major, minor and patch as numbers; then no pre-release
 * (\x20) above a pre-release (\x10 and its identifiers, closed by \x01: a shorter list below a
 * longer one it begins), numeric identifiers (\x02 and the number) below alphanumeric ones (\x03,
 * the text, \x01). Build metadata is left out, as SemVer.compare ignores it. Undefined for a
 * numeric identifier too big for semver to keep as a number (it compares those as floating point).
 */
export function semverKey(parsed: SemVer): string | undefined {
  let key = `${numberKey(parsed.major)}${numberKey(parsed.minor)}${numberKey(parsed.patch)}`;
  if (parsed.prerelease.length === 0) return `${key}\x20`;
  key += '\x10';
  for (const id of parsed.prerelease) {
    if (typeof id === 'number') key += `\x02${numberKey(id)}`;
    else if (/^[0-9]+$/.test(id)) return undefined;
    else key += `\x03${id}\x01`;
  }
  return `${key}\x01`;
}

function sortKey(v: string): string | undefined {
  const parsed = parsedOrUndefined(parseSemver, v);
  return parsed === undefined ? undefined : semverKey(parsed);
}

export const semver: Comparator = {
  scheme: 'semver',
  compare: (a, b) => parseSemver(a).compare(parseSemver(b)),
  isValid: (v) => accepts(() => parseSemver(v)),
  sortKey,
};
