import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedDataDir, skipUnless } from '@strata/testing';
import { parseApkInstalled } from './apk.js';
import { sortLines, tsvLines } from '../testing/index.js';

test('apk: Alpine 3.20.3 installed DB equals the apk-tools oracle list', { skip: skipUnless('data') }, () => {
  const dir = join(sharedDataDir() ?? '', 'alpine/3.20.3');
  const expected = tsvLines(readFileSync(join(dir, 'packages.tsv'), 'utf8')).slice(1);
  const parsed = parseApkInstalled(readFileSync(join(dir, 'lib/apk/db/installed'), 'utf8'));
  assert.deepEqual(parsed.warnings, []);
  assert.deepEqual(sortLines(parsed.packages.map((p) => `${p.name}\t${p.version}\t${p.srcName}`)), sortLines(expected));
  for (const p of parsed.packages) {
    assert.ok(p.arch, `${p.name} has no arch`);
    assert.match(p.purl, /^pkg:apk\/alpine\/[^@]+@[^?]+\?arch=/);
  }
});

test('apk: records with missing fields give warnings; complete records still count', { skip: skipUnless('data') }, () => {
  const dir = join(sharedDataDir() ?? '', 'alpine/3.20.3');
  const real = readFileSync(join(dir, 'lib/apk/db/installed'), 'utf8');
  const records = real.split('\n\n').filter((r) => r.trim() !== '');
  const [first, second, third, ...rest] = records;
  assert.ok(first && second && third);
  const noName = second
    .split('\n')
    .filter((l) => !l.startsWith('P:'))
    .join('\n');
  const noVersion = third
    .split('\n')
    .filter((l) => !l.startsWith('V:'))
    .join('\n');
  const noOrigin = first
    .split('\n')
    .filter((l) => !l.startsWith('o:'))
    .join('\n');
  const text = [noOrigin, noName, noVersion, 'garbage without colon', ...rest].join('\n\n') + '\n';
  const parsed = parseApkInstalled(text);
  const expected = parseApkInstalled([first, ...rest].join('\n\n') + '\n');
  // first stays (origin defaults to its name), second and third are skipped
  assert.deepEqual(
    parsed.packages.map((p) => p.name),
    expected.packages.map((p) => p.name),
  );
  assert.equal(parsed.packages[0]?.srcName, parsed.packages[0]?.name);
  assert.ok(
    parsed.warnings.some((w) => w.includes('missing P:')),
    parsed.warnings.join('\n'),
  );
  assert.ok(
    parsed.warnings.some((w) => w.includes('missing V:')),
    parsed.warnings.join('\n'),
  );
  assert.ok(
    parsed.warnings.some((w) => w.includes('missing o:')),
    parsed.warnings.join('\n'),
  );
  assert.ok(
    parsed.warnings.some((w) => w.includes('malformed')),
    parsed.warnings.join('\n'),
  );
});
