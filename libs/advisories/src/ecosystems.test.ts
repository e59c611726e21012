import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ecosystemKey, inventoryEcosystemKeys, normalizeName, normalizePackageName, osEcosystems, packageEcosystem, parseEcosystem } from './ecosystems.js';

test('ecosystem strings are taken apart with their release suffixes', () => {
  assert.deepEqual(parseEcosystem('Debian:12'), { base: 'Debian', release: '12' });
  assert.deepEqual(parseEcosystem('Alpine:v3.20'), { base: 'Alpine', release: '3.20' });
  assert.deepEqual(parseEcosystem('Ubuntu:22.04:LTS'), { base: 'Ubuntu', release: '22.04' });
  assert.deepEqual(parseEcosystem('Ubuntu:Pro:18.04:LTS'), { base: 'Ubuntu', stream: 'Pro', release: '18.04' });
  assert.deepEqual(parseEcosystem('Red Hat:enterprise_linux:9::appstream'), { base: 'Red Hat', stream: 'enterprise_linux', release: '9' });
  assert.deepEqual(parseEcosystem('Maven:https://maven.google.com'), { base: 'Maven' });
  assert.deepEqual(parseEcosystem('npm'), { base: 'npm' });
});

test('spellings of one package universe share a key; different streams do not', () => {
  assert.equal(ecosystemKey('Ubuntu:22.04:LTS'), ecosystemKey('Ubuntu:22.04'));
  assert.notEqual(ecosystemKey('Ubuntu:Pro:18.04:LTS'), ecosystemKey('Ubuntu:18.04:LTS'));
  assert.equal(ecosystemKey('Red Hat:enterprise_linux:9::appstream'), ecosystemKey('Red Hat:enterprise_linux:9::baseos'));
  assert.notEqual(ecosystemKey('Red Hat:rhel_eus:9.2::appstream'), ecosystemKey('Red Hat:enterprise_linux:9::appstream'));
  assert.notEqual(ecosystemKey('Debian:11'), ecosystemKey('Debian:12'));
  assert.equal(ecosystemKey('PyPI'), 'pypi');
});

test('OS facts map to the OSV ecosystems that hold their advisories', () => {
  const key = (family: Parameters<typeof osEcosystems>[0]['family'], name: string): string[] => osEcosystems({ family, name }).map(ecosystemKey);
  assert.deepEqual(key('debian', '12.7'), [ecosystemKey('Debian:12')]);
  assert.deepEqual(key('ubuntu', '22.04'), [ecosystemKey('Ubuntu:22.04:LTS')]);
  assert.deepEqual(key('ubuntu', '24.10'), [ecosystemKey('Ubuntu:24.10')]);
  assert.deepEqual(key('alpine', '3.20.3'), [ecosystemKey('Alpine:v3.20')]);
  assert.deepEqual(key('rocky', '9.4'), [ecosystemKey('Rocky Linux:9')]);
  assert.deepEqual(key('alma', '8.10'), [ecosystemKey('AlmaLinux:8')]);
  assert.deepEqual(key('redhat', '9.4'), [ecosystemKey('Red Hat:enterprise_linux:9::baseos')]);
  assert.deepEqual(key('wolfi', '20230201'), [ecosystemKey('Wolfi')]);
  assert.deepEqual(key('chainguard', '20230214'), [ecosystemKey('Chainguard'), ecosystemKey('Wolfi')]);
  assert.deepEqual(key('azurelinux', '3.0'), [ecosystemKey('Azure Linux:3')]);
  assert.deepEqual(key('amazon', '2023'), []);
});

test('package names are normalised per ecosystem', () => {
  assert.equal(normalizePackageName('PyPI', 'Jinja2'), 'jinja2');
  assert.equal(normalizePackageName('PyPI', 'Zope.Interface__x'), 'zope-interface-x');
  assert.equal(normalizePackageName('Maven', 'org.apache.logging.log4j:log4j-core'), 'org.apache.logging.log4j:log4j-core');
  assert.equal(normalizePackageName('Go', 'github.com/BurntSushi/toml'), 'github.com/BurntSushi/toml');
  assert.equal(normalizePackageName('npm', '@types/node'), '@types/node');
  // NuGet ids and Packagist names are case-insensitive; RubyGems and crates.io names are not.
  assert.equal(normalizePackageName('NuGet', 'Newtonsoft.Json'), 'newtonsoft.json');
  assert.equal(normalizePackageName('Packagist', 'Symfony/Http-Kernel'), 'symfony/http-kernel');
  assert.equal(normalizePackageName('RubyGems', 'Nokogiri'), 'Nokogiri');
  assert.equal(normalizePackageName('crates.io', 'Inflector'), 'Inflector');
  // by index key, as the matcher and the affected-images query look names up
  assert.equal(normalizeName('nuget', 'Newtonsoft.Json'), 'newtonsoft.json');
  assert.equal(normalizeName('pypi', 'Jinja2'), 'jinja2');
  assert.equal(normalizeName('debian:12', 'OpenSSL'), 'OpenSSL');
});

test('language package types map to their OSV ecosystems; conda has none', () => {
  assert.deepEqual((['npm', 'pypi', 'gobinary', 'jar', 'cargo', 'composer', 'gem', 'nuget', 'conda'] as const).map(packageEcosystem), [
    'npm',
    'PyPI',
    'Go',
    'Maven',
    'crates.io',
    'Packagist',
    'RubyGems',
    'NuGet',
    undefined,
  ]);
});

test('an inventory needs its OS ecosystem and one per language package type', () => {
  const keys = inventoryEcosystemKeys({
    os: { family: 'debian', name: '12' },
    applications: [{ type: 'npm' }, { type: 'pypi' }, { type: 'npm' }, { type: 'gobinary' }, { type: 'nuget' }, { type: 'gem' }, { type: 'conda' }],
  });
  assert.deepEqual(keys, ['debian:12', 'go', 'npm', 'nuget', 'pypi', 'rubygems']);
});
