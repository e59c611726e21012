// Composer's installed.json (both forms) and composer.lock, against the real `composer`: a project
// installed offline from path repositories, with `composer show` as the oracle of what is installed.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { analyzeEntries, namesAt, run, tempDir } from '../testing/index.js';

const noComposer = skipUnless('tool:composer');

/** A real Composer 2 install: alpha (required, version "v5.4.0"), beta (require-dev), gamma (a dependency of alpha). */
function composerProject(dir: string): { installed: Buffer; lock: Buffer; shown: string[]; dev: string[] } {
  const pkg = (name: string, version: string, extra: Record<string, unknown> = {}): void => {
    const d = join(dir, 'pkgs', name.split('/')[1]!);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'composer.json'), JSON.stringify({ name, version, license: 'MIT', ...extra }));
  };
  pkg('acme/alpha', 'v5.4.0', { require: { 'acme/gamma': '*' } });
  pkg('acme/beta', '1.2.3', { license: ['MIT', 'Apache-2.0'] });
  pkg('acme/gamma', '2.0.0-beta1');
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'composer.json'),
    JSON.stringify({
      name: 'acme/app',
      'minimum-stability': 'beta',
      require: { 'acme/alpha': '*' },
      'require-dev': { 'acme/beta': '*' },
      repositories: [{ type: 'path', url: '../pkgs/*', options: { symlink: false } }, { 'packagist.org': false }],
    }),
  );
  const env = { ...process.env, COMPOSER_HOME: join(dir, 'home'), COMPOSER_NO_INTERACTION: '1' };
  run('composer', ['install', '--no-progress', '--quiet'], { cwd: app, env });
  const shown = (JSON.parse(run('composer', ['show', '--format=json'], { cwd: app, env })) as { installed: { name: string; version: string }[] }).installed
    .map((p) => `${p.name}@${p.version}`)
    .sort();
  const dev = (
    JSON.parse(run('composer', ['show', '--format=json', '--no-dev'], { cwd: app, env })) as { installed: { name: string; version: string }[] }
  ).installed
    .map((p) => `${p.name}@${p.version}`)
    .sort();
  return { installed: readFileSync(join(app, 'vendor/composer/installed.json')), lock: readFileSync(join(app, 'composer.lock')), shown, dev };
}

test('composer: installed.json (Composer 2 and the Composer 1 array form) lists what `composer show` lists; composer.lock its non-dev packages', {
  skip: noComposer,
}, async () => {
  const t = tempDir('composer');
  try {
    const p = composerProject(t.dir);
    assert.ok(p.shown.includes('acme/alpha@v5.4.0') && p.shown.length === 3, p.shown.join(' '));
    // Composer 1 wrote the same package objects as a bare array
    const v1 = JSON.stringify((JSON.parse(p.installed.toString()) as { packages: unknown[] }).packages);
    const r = await analyzeEntries([
      { name: 'srv/app/vendor/composer/installed.json', content: p.installed },
      { name: 'old/vendor/composer/installed.json', content: v1 },
      { name: 'srv/app/composer.lock', content: p.lock },
    ]);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(namesAt(r, 'srv/app/vendor/composer/installed.json'), p.shown);
    assert.deepEqual(namesAt(r, 'old/vendor/composer/installed.json'), p.shown);
    assert.deepEqual(namesAt(r, 'srv/app/composer.lock'), p.dev, 'composer.lock: packages, not packages-dev');
    const set = r.applications.find((s) => s.path === 'srv/app/vendor/composer/installed.json')!;
    assert.equal(set.analyzer, 'composer-vendor');
    assert.equal(r.applications.find((s) => s.path === 'srv/app/composer.lock')?.analyzer, 'composer');
    const alpha = set.packages.find((x) => x.name === 'acme/alpha')!;
    assert.equal(alpha.purl, 'pkg:composer/acme/alpha@v5.4.0', 'the version is kept as written');
    assert.deepEqual(set.packages.find((x) => x.name === 'acme/beta')?.licenses, ['MIT', 'Apache-2.0']);
  } finally {
    t.cleanup();
  }
});

test('composer: bad records are skipped with one warning per kind; the others stay', async () => {
  const packages = [
    { name: 'acme/good', version: '1.0.0' },
    { name: '../../etc/passwd', version: '1.0.0' },
    { name: 'acme/noversion' },
    { name: 'acme/huge', version: 'x'.repeat(5000) },
    'not an object',
    { name: 'acme/also-good', version: 'v2.0.0', license: 'BSD-3-Clause' },
    { name: '..', version: '1' },
  ];
  const r = await analyzeEntries([{ name: 'vendor/composer/installed.json', content: JSON.stringify({ packages }) }]);
  assert.deepEqual(namesAt(r, 'vendor/composer/installed.json'), ['acme/also-good@v2.0.0', 'acme/good@1.0.0']);
  const messages = r.warnings.map((w) => w.message);
  assert.equal(messages.length, 4, messages.join('\n'));
  assert.ok(messages.some((m) => /^2 records: name is not a valid Composer name; skipped/.test(m)));
  const deep = await analyzeEntries([{ name: 'vendor/composer/installed.json', content: '['.repeat(100) + ']'.repeat(100) }]);
  assert.match(deep.warnings[0]?.message ?? '', /nested deeper than 64 levels/);
  assert.deepEqual(
    deep.applications.map((s) => s.packages.length),
    [0],
    'an unreadable file still records an empty set',
  );
});
