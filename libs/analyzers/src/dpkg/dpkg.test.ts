import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { DPKG_INSTALLED_STATES, parseDpkgStatus } from './dpkg.js';
import { dpkgLine, run, sortLines, tempDir, tsvLines } from '../testing/index.js';

const FORMAT = '${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\t${db:Status-Status}\n';

/** dpkg-query's own view of an admin dir, restricted to the states whose files are on disk. */
function dpkgQuery(admindir: string): string[] {
  const out = run('dpkg-query', [`--admindir=${admindir}`, '-W', `-f=${FORMAT}`]);
  return tsvLines(out)
    .map((l) => l.split('\t'))
    .filter((cols) => DPKG_INSTALLED_STATES.has(cols[5] ?? ''))
    .map((cols) => cols.slice(0, 5).join('\t'));
}

function adminDirWith(status: string | Buffer): { dir: string; cleanup: () => void } {
  const t = tempDir('dpkg');
  mkdirSync(join(t.dir, 'updates'));
  writeFileSync(join(t.dir, 'status'), status);
  return t;
}

test("dpkg: this machine's status file equals dpkg-query", { skip: skipUnless('tool:dpkg-query') }, () => {
  const t = tempDir('dpkg-host');
  try {
    mkdirSync(join(t.dir, 'updates'));
    copyFileSync('/var/lib/dpkg/status', join(t.dir, 'status'));
    const expected = sortLines(dpkgQuery(t.dir));
    const parsed = parseDpkgStatus(readFileSync(join(t.dir, 'status'), 'utf8'), false);
    assert.deepEqual(parsed.warnings, []);
    assert.ok(expected.length > 50, `only ${expected.length} packages on this machine`);
    assert.deepEqual(sortLines(parsed.packages.map(dpkgLine)), expected);
  } finally {
    t.cleanup();
  }
});

// Stanzas dpkg accepts, covering the states, epochs and Source forms dpkg-query formats specially.
const TRICKY = `Package: alpha
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: alpha-src (1:2.0-1)
Version: 1:2.0-1+b1
Maintainer: A <a@example.org>
Description: first
 continuation line
 .
 more

Package: alpha
Status: install ok installed
Architecture: i386
Multi-Arch: same
Source: alpha-src (1:2.0-1)
Version: 1:2.0-1+b1
Maintainer: A <a@example.org>
Description: same package, other arch

Package: beta
Status: deinstall ok config-files
Architecture: all
Version: 0.5
Maintainer: B <b@example.org>
Conffiles:
 /etc/beta.conf 0123456789abcdef0123456789abcdef
Description: removed, config files left

Package: gamma
Status: install ok unpacked
Architecture: amd64
Version: 0:3.1-2
Maintainer: C <c@example.org>
Description: unpacked, zero epoch

Package: delta
Status: install reinstreq half-installed
Architecture: amd64
Version: 4.0
Maintainer: D <d@example.org>
Description: half installed

Package: epsilon
Status: install ok triggers-pending
Triggers-Pending: ldconfig
Architecture: amd64
Source: eps
Version: 2:1.0
Maintainer: E <e@example.org>
Description: triggers pending, source without version

Package: zeta
Status: deinstall ok installed
Architecture: amd64
Version: 1.0~rc1-3
Source: zeta-source (1.0~rc1-2)
Maintainer: Z <z@example.org>
Description: marked for removal, still installed

Package: eta
Status: purge ok not-installed
Architecture: amd64
Maintainer: H <h@example.org>
Description: purged
`;

test('dpkg: states, epochs, multi-arch and Source forms equal dpkg-query', { skip: skipUnless('tool:dpkg-query') }, () => {
  const t = adminDirWith(TRICKY);
  try {
    const expected = sortLines(dpkgQuery(t.dir));
    const parsed = parseDpkgStatus(TRICKY, false);
    assert.deepEqual(parsed.warnings, []);
    assert.deepEqual(sortLines(parsed.packages.map(dpkgLine)), expected);
    // epochs are kept as numbers too
    const alpha = parsed.packages.find((p) => p.name === 'alpha');
    assert.equal(alpha?.epoch, 1);
    assert.equal(alpha?.srcEpoch, 1);
  } finally {
    t.cleanup();
  }
});

test('dpkg: binary noise and a truncated stanza give warnings, the good stanzas still count', () => {
  const good = TRICKY.split('\n\n').slice(0, 2).join('\n\n');
  const noise = Buffer.alloc(4096);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + 13) % 256;
  const truncated = 'Package: theta\nStatus: install ok installed\nArchitecture: amd64\nVers';
  const text = `${good}\n\n${noise.toString('latin1')}\n\n${truncated}`;
  const parsed = parseDpkgStatus(text, false);
  assert.deepEqual(
    parsed.packages.map((p) => `${p.name}:${p.arch}`),
    ['alpha:amd64', 'alpha:i386'],
  );
  assert.ok(
    parsed.warnings.some((w) => /theta.*(Version|not a "Field: value")/.test(w)),
    parsed.warnings.join('\n'),
  );
  assert.ok(
    parsed.warnings.some((w) => /binary or non-UTF-8|not a "Field: value"/.test(w)),
    parsed.warnings.join('\n'),
  );
});

test('dpkg: a status.d entry without Status (distroless) counts as installed', { skip: skipUnless('tool:dpkg-query') }, () => {
  const entry = 'Package: libc6\nVersion: 2.36-9+deb12u7\nArchitecture: amd64\nSource: glibc\nMaintainer: x\nDescription: y\n';
  // dpkg-query sees the same stanza, marked installed, in a regular status file
  const t = adminDirWith(entry.replace('Version:', 'Status: install ok installed\nVersion:'));
  try {
    const parsed = parseDpkgStatus(entry, true);
    assert.deepEqual(parsed.packages.map(dpkgLine), dpkgQuery(t.dir));
    assert.equal(parsed.packages.length, 1);
    // in the main status file, a stanza without Status is not an installed package
    assert.equal(parseDpkgStatus(entry, false).packages.length, 0);
  } finally {
    t.cleanup();
  }
});
