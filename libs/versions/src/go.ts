// Go module versions and Go toolchain versions, ordered as semantic versions (golang.org/x/mod/semver
// precedence, which build metadata such as "+incompatible" does not affect):
// - module versions with or without the "v" prefix (OSV's Go records drop it); "v1" and "v1.2"
//   are shorthands for "v1.0.0" and "v1.2.0" as in x/mod/semver;
// - pseudo-versions ("v0.0.0-20210101000000-abcdef123456", "v1.2.4-0.2021…") are ordinary
//   pre-releases, which is exactly how Go orders them;
// - toolchain versions of the `stdlib` and `toolchain` packages are normalized the way the Go
//   vulnerability database does: "go1.21.3" → 1.21.3, "go1.21rc1" / "1.21rc1" → 1.21.0-rc.1,
//   "go1.20" → 1.20.0, "go1.9beta2" → 1.9.0-beta.2; a trailing " X:experiment" is ignored.
// Unlike npm, parsing is strict (no leading zeros, no "1.2.3beta"), as in Go.
import type { SemVer } from 'semver';
import { parseWithSemverLib } from './semver-lib.js';
import { semverKey } from './semver.js';
import { accepts, checkPlain, InvalidVersionError, parsedOrUndefined } from './errors.js';
import type { Comparator } from './types.js';

const TOOLCHAIN = /^(?:go)?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(alpha|beta|rc)(\d+))?$/;
const MODULE = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/;

/** The semantic version a Go version stands for, as a strict semver string without "v". */
function normalizeGo(v: string): string {
  const input = v.startsWith('go') ? v.replace(/ X:\S+$/, '') : v;
  checkPlain('go', input);
  const t = TOOLCHAIN.exec(input);
  // "1.2.3" is read as a module version below; only go-prefixed or pre-release forms are toolchain tags.
  if (t && (input.startsWith('go') || t[4] !== undefined)) {
    const [, major, minor = '0', patch = '0', pre, preNum] = t;
    return `${major}.${minor}.${patch}${pre ? `-${pre}.${preNum}` : ''}`;
  }
  const m = MODULE.exec(input);
  // x/mod/semver allows the shorthands only without pre-release or build parts.
  if (m && (m[3] !== undefined || m[4] === '')) {
    const [, major, minor = '0', patch = '0', rest] = m;
    return `${major}.${minor}.${patch}${rest}`;
  }
  throw new InvalidVersionError('go', v, 'not a Go module or toolchain version');
}

function parse(v: string): SemVer {
  const parsed = parseWithSemverLib(normalizeGo(v));
  if (!parsed) throw new InvalidVersionError('go', v, 'not a semantic version');
  return parsed;
}

export const go: Comparator = {
  scheme: 'go',
  compare: (a, b) => parse(a).compare(parse(b)),
  isValid: (v) => accepts(() => parse(v)),
  // ordered as the semantic version it stands for
  sortKey(v) {
    const parsed = parsedOrUndefined(parse, v);
    return parsed === undefined ? undefined : semverKey(parsed);
  },
};
