import assert from 'node:assert/strict';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { normalizeLayerPath, resolveLinkTarget } from './paths.js';
import { pythonNormalize } from './testing/index.js';

const TABLE = [
  'etc/passwd',
  './etc/passwd',
  '/etc/passwd',
  '//etc//passwd',
  'usr/lib/',
  './',
  '.',
  '/',
  '',
  'a/./b/./c',
  'a/b/../c',
  'a/../../etc/passwd',
  '../etc/passwd',
  './../etc/passwd',
  '/../etc/passwd',
  '..',
  'a/..',
  'a/b/../../..',
  '...',
  '..foo/bar',
  'foo../bar',
  'a/.wh..wh..opq',
  'a\\..\\..\\b', // backslash is an ordinary filename character on Linux
  'nul\0byte',
  'ünïcødé/файл',
];

test('normalizeLayerPath agrees with posixpath.normpath (escapes → undefined, root → "")', { skip: skipUnless('tool:python3') }, () => {
  const expected = pythonNormalize(TABLE);
  for (const [i, raw] of TABLE.entries()) {
    assert.equal(normalizeLayerPath(raw), expected[i] ?? undefined, `normalizing ${JSON.stringify(raw)}`);
  }
});

test('normalized paths never start with / or ./, never end with /, never hold a .. segment', () => {
  for (const raw of TABLE) {
    const path = normalizeLayerPath(raw);
    if (path === undefined) continue;
    assert.ok(!path.startsWith('/') && !path.startsWith('./') && !path.endsWith('/'), raw);
    assert.ok(!path.split('/').includes('..'), raw);
    assert.ok(!path.split('/').includes('.'), raw);
  }
});

test('link targets resolve like posixpath.join against the link directory, escapes flagged raw', { skip: skipUnless('tool:python3') }, () => {
  const links: [link: string, target: string, kind: 'symlink' | 'hardlink'][] = [
    ['etc/os-release', '../usr/lib/os-release', 'symlink'],
    ['usr/bin/python3', 'python3.11', 'symlink'],
    ['bin', 'usr/bin', 'symlink'],
    ['etc/localtime', '/usr/share/zoneinfo/UTC', 'symlink'],
    ['a/b/evil', '../../../../etc/shadow', 'symlink'],
    ['evil', '/../../etc/shadow', 'symlink'],
    ['usr/bin/perl5', 'usr/bin/perl', 'hardlink'],
    ['x/hl', './usr/bin/perl', 'hardlink'],
    ['hl', '../outside', 'hardlink'],
  ];
  // the oracle: join with the link's directory for relative symlinks, then normalize
  const joined = links.map(([link, target, kind]) =>
    kind === 'symlink' && !target.startsWith('/') && link.includes('/') ? `${link.slice(0, link.lastIndexOf('/'))}/${target}` : target,
  );
  const expected = pythonNormalize(joined);
  for (const [i, [link, target, kind]] of links.entries()) {
    const resolved = resolveLinkTarget(link, target, kind);
    const want = expected[i];
    if (want === null || want === undefined) assert.deepEqual(resolved, { target, escapes: true }, `${link} → ${target}`);
    else assert.deepEqual(resolved, { target: want, escapes: false }, `${link} → ${target}`);
  }
});
