// NuGet package versions, ordered as NuGet.Versioning's VersionComparer (NuGet's SemVer 2.0.0
// with up to four numeric parts):
// - "major[.minor[.patch[.revision]]]", missing parts are 0 ("1.0" = "1.0.0.0"), leading zeros are
//   ignored ("1.0.01" = "1.0.1"), each part at most 2^31-1 (a .NET int);
// - "-label.label…" is a pre-release, below the same version without one; labels compare one by
//   one: two numbers (that fit an int) numerically, a number below a word, words case-insensitively
//   (ordinal, upper-cased), and with equal prefixes the shorter list first;
// - "+metadata" is ignored, and so is case everywhere ("1.0.0-BETA" = "1.0.0-beta").
// Refused: a "v" prefix, more than four parts, empty parts or labels, characters outside
// [0-9A-Za-z-] in labels: NuGet.Versioning's parser refuses them too.
// No oracle runs here (Debian ships no .NET SDK): the tests use osv-scalibr's nuget vectors and
// cases taken from NuGet's documented ordering.
import { accepts, checkPlain, InvalidVersionError, sign } from './errors.js';
import type { Comparator } from './types.js';

const SHAPE = /^(\d+(?:\.\d+){0,3})(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
const INT_MAX = 2n ** 31n - 1n;

interface Parsed {
  parts: bigint[];
  labels: string[] | undefined;
}

function parse(v: string): Parsed {
  checkPlain('nuget', v);
  const m = SHAPE.exec(v);
  if (!m) throw new InvalidVersionError('nuget', v, 'not a NuGet version');
  const parts = (m[1] as string).split('.').map((p) => BigInt(p));
  if (parts.some((p) => p > INT_MAX)) throw new InvalidVersionError('nuget', v, 'a version part above 2^31-1');
  while (parts.length < 4) parts.push(0n);
  return { parts, labels: m[2]?.split('.') };
}

/** A release label's integer value when .NET's int.TryParse would accept it. */
function labelNumber(label: string): bigint | undefined {
  if (!/^\d+$/.test(label)) return undefined;
  const n = BigInt(label);
  return n <= INT_MAX ? n : undefined;
}

function compareLabel(a: string, b: string): number {
  const x = labelNumber(a);
  const y = labelNumber(b);
  if (x !== undefined && y !== undefined) return sign(x - y);
  if (x !== undefined) return -1;
  if (y !== undefined) return 1;
  const ua = a.toUpperCase();
  const ub = b.toUpperCase();
  return ua === ub ? 0 : ua < ub ? -1 : 1;
}

function compare(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 4; i++) {
    const d = sign((x.parts[i] as bigint) - (y.parts[i] as bigint));
    if (d !== 0) return d;
  }
  if (!x.labels || !y.labels) return x.labels ? -1 : y.labels ? 1 : 0;
  const n = Math.min(x.labels.length, y.labels.length);
  for (let i = 0; i < n; i++) {
    const d = compareLabel(x.labels[i] as string, y.labels[i] as string);
    if (d !== 0) return d;
  }
  return sign(x.labels.length - y.labels.length);
}

export const nuget: Comparator = {
  scheme: 'nuget',
  compare,
  isValid: (v) => accepts(() => parse(v)),
};
