// Python versions (PEP 440 / the packaging specification), parsed and ordered by
// @renovatebot/pep440, which follows Python's `packaging.version`. Legacy (non-PEP 440) versions
// are refused, as packaging ≥ 22 does. So are numbers of 16 digits or more: the library holds
// them as JavaScript numbers and would compare them inexactly.
import { compare as pepCompare, valid as pepValid } from '@renovatebot/pep440';
import { accepts, checkPlain, InvalidVersionError, sign } from './errors.js';
import type { Comparator } from './types.js';

function check(v: string): void {
  checkPlain('pep440', v);
  if (pepValid(v) === null) throw new InvalidVersionError('pep440', v, 'not a PEP 440 version');
  if (/\d{16,}/.test(v.replace(/(^|\D)0+(?=\d)/g, '$1'))) {
    throw new InvalidVersionError('pep440', v, 'number too large to compare exactly');
  }
}

export const pep440: Comparator = {
  scheme: 'pep440',
  compare(a, b) {
    check(a);
    check(b);
    return sign(pepCompare(a, b));
  },
  isValid: (v) => accepts(() => check(v)),
};
