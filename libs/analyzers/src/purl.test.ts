import assert from 'node:assert/strict';
import test from 'node:test';
import { PackageURL } from 'packageurl-js';
import { plainPurl, purl } from './purl.js';

const library = (type: string, ns: string | undefined, name: string, version: string | undefined, q?: Record<string, string>): string =>
  new PackageURL(type, ns, name, version, q && Object.keys(q).length > 0 ? q : undefined, undefined).toString();

test('the plain PURL path builds exactly what packageurl-js builds, or steps aside', () => {
  const types = ['deb', 'apk', 'npm', 'alpm', 'rpm', 'pypi', 'maven', 'golang', 'gem'];
  const namespaces = [undefined, '', 'debian', 'ubuntu', 'alpine', 'redhat', 'Debian', '@babel', 'org.example', 'a/b', 'x y'];
  const names = ['libc6', 'p1', 'libstdc++6', 'Jinja2', 'python3.11', 'zlib1g', 'a_b', 'a~b', 'lodash', 'UPPER', 'é', ' pad ', 'a%b', 'a/b', '.hidden', '-x'];
  const versions = [undefined, '', '1.0', '2.36-9+deb12u4', '1:1.2.13.dfsg-1', '1.0~rc1', '1.0 beta', ' 1.0', 'v1.2.3', '1.0#x', '1.0?x', '1.0@x'];
  const qualifierSets: Array<Record<string, string> | undefined> = [
    undefined,
    {},
    { arch: 'amd64' },
    { arch: 'amd64', epoch: '1', distro: 'debian-12' },
    { distro: 'debian-12.4', arch: 'x86_64' },
    { arch: '' },
    { arch: 'a~b' },
    { arch: 'a+b' },
    { arch: 'a b' },
    { distro: 'alpine:3.20' },
    { Arch: 'amd64' },
  ];
  let plain = 0;
  let total = 0;
  for (const type of types)
    for (const ns of namespaces)
      for (const name of names)
        for (const version of versions)
          for (const q of qualifierSets) {
            total++;
            let expected: string | undefined;
            try {
              expected = library(type, ns, name, version, q);
            } catch {
              expected = undefined;
            }
            const got = plainPurl(type, ns, name, version, q && Object.keys(q).length > 0 ? q : undefined);
            if (got !== undefined) {
              plain++;
              assert.equal(got, expected, `${type} ${ns} ${name} ${version} ${JSON.stringify(q)}`);
            }
            if (expected !== undefined) assert.equal(purl(type, ns, name, version, q), expected);
          }
  // the fast path is taken for the common shapes, not only for a few
  assert.ok(plain > total / 20, `${plain} of ${total} inputs took the plain path`);
  assert.equal(
    plainPurl('deb', 'debian', 'libc6', '2.36-9+deb12u4', { arch: 'amd64', distro: 'debian-12' }),
    'pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12',
  );
});
