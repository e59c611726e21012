import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endOfLifeDate, eolStatus, eolWarning, isEndOfLife } from './index.js';

test('end of life: the day after the table date, per release; rolling and unknown releases are never EOL', () => {
  const buster = { family: 'debian' as const, name: '10.13' };
  const date = endOfLifeDate(buster);
  assert.match(date ?? '', /^\d{4}-\d{2}-\d{2}$/);
  const eol = Date.parse(`${date}T00:00:00Z`);
  assert.equal(isEndOfLife(buster, new Date(eol + 12 * 3600e3)), false, 'still supported on its last day');
  assert.equal(isEndOfLife(buster, new Date(eol + 24 * 3600e3)), true);
  assert.deepEqual(eolStatus(buster, new Date(eol + 48 * 3600e3)), { endOfLife: true, date });
  assert.match(eolWarning(buster, new Date(eol + 48 * 3600e3)) ?? '', /^debian 10\.13 reached end of life on \d{4}-\d{2}-\d{2}/);
  assert.equal(eolWarning(buster, new Date(eol - 48 * 3600e3)), undefined);
  // Keys: Debian by major, Ubuntu and Alpine by major.minor, Amazon Linux 1 by its YYYY.MM version.
  assert.equal(endOfLifeDate({ family: 'debian', name: '12' }), endOfLifeDate({ family: 'debian', name: '12.7' }));
  assert.equal(endOfLifeDate({ family: 'alpine', name: '3.20.3' }), endOfLifeDate({ family: 'alpine', name: '3.20.0' }));
  assert.notEqual(endOfLifeDate({ family: 'ubuntu', name: '22.04' }), endOfLifeDate({ family: 'ubuntu', name: '22.10' }));
  assert.equal(endOfLifeDate({ family: 'amazon', name: '2018.03' }), endOfLifeDate({ family: 'amazon', name: '1' }));
  const far = new Date('2100-01-01T00:00:00Z');
  assert.equal(isEndOfLife({ family: 'wolfi', name: '20230201' }, far), false);
  assert.equal(isEndOfLife({ family: 'debian', name: '99' }, far), false);
  assert.deepEqual(eolStatus({ family: 'wolfi', name: '20230201' }, far), { endOfLife: false });
});
