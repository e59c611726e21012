import assert from 'node:assert/strict';
import test from 'node:test';
import { globToRegExp, repositoryMatcher } from './glob.js';

const matches = (glob: string, name: string) => globToRegExp(glob).test(name);

test('* stays within one path segment', () => {
  assert.ok(matches('team/*', 'team/app'));
  assert.ok(!matches('team/*', 'team/a/b'));
  assert.ok(!matches('team/*', 'team'));
  assert.ok(matches('team/app-*', 'team/app-1'));
  assert.ok(!matches('team/app-*', 'team/web-1'));
  assert.ok(matches('*/base', 'library/base'));
  assert.ok(!matches('*/base', 'a/library/base'));
});

test('** crosses segments, also none', () => {
  assert.ok(matches('team/**', 'team/app'));
  assert.ok(matches('team/**', 'team/a/b/c'));
  assert.ok(!matches('team/**', 'other/app'));
  assert.ok(matches('**/app', 'app'));
  assert.ok(matches('**/app', 'x/y/app'));
  assert.ok(!matches('**/app', 'x/y/app2'));
  assert.ok(matches('a/**/z', 'a/z'));
  assert.ok(matches('a/**/z', 'a/b/c/z'));
  assert.ok(matches('**', 'anything/at/all'));
  assert.ok(matches('team-**', 'team-x/y'));
});

test('? is one character; regex metacharacters are literal', () => {
  assert.ok(matches('app?', 'app1'));
  assert.ok(!matches('app?', 'app12'));
  assert.ok(!matches('app?', 'app/'));
  assert.ok(matches('a.b+c', 'a.b+c'));
  assert.ok(!matches('a.b+c', 'axbbc'));
  assert.ok(matches('(x)[y]', '(x)[y]'));
});

test('include and exclude', () => {
  const keep = repositoryMatcher({ include: ['team/**', 'base'], exclude: ['team/tmp-*', '**/scratch'] });
  assert.deepEqual(['team/app', 'team/tmp-1', 'team/a/scratch', 'base', 'other/app', 'team/a/b'].filter(keep), ['team/app', 'base', 'team/a/b']);
  const all = repositoryMatcher({});
  assert.ok(all('anything/here'));
  const allBut = repositoryMatcher({ exclude: ['private/**'] });
  assert.ok(allBut('public/x') && !allBut('private/x/y'));
});
