import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedDataDir, skipUnless } from '@strata/testing';
import { detectOs, osReleaseAnalyzer, parseOsRelease } from './os-release.js';
import { run, tempDir } from '../testing/index.js';
import { DEFAULT_ANALYZER_LIMITS } from '../types.js';

const KEYS = ['ID', 'VERSION_ID', 'PRETTY_NAME', 'VERSION_CODENAME', 'HOME_URL'];

/** The shell is the reference for os-release syntax (the spec says it must be shell-compatible). */
function shellView(file: string): Record<string, string> {
  const script = `. "$1"; ${KEYS.map((k) => `printf '%s\\0' "\${${k}-}"`).join('; ')}`;
  const values = run('sh', ['-c', script, 'sh', file]).split('\0');
  return Object.fromEntries(KEYS.map((k, i) => [k, values[i] ?? '']));
}
const ours = (text: string): Record<string, string> => {
  const f = parseOsRelease(text);
  return Object.fromEntries(KEYS.map((k) => [k, f[k] ?? '']));
};

test('os-release: parsing agrees with the shell on real files and tricky quoting', () => {
  const files = ['/etc/os-release', '/usr/lib/os-release'];
  const data = sharedDataDir();
  if (data) files.push(join(data, 'alpine/3.20.3/etc/os-release'));
  const t = tempDir('os');
  try {
    const tricky = join(t.dir, 'tricky');
    writeFileSync(
      tricky,
      `# comment\nID="rocky"\nVERSION_ID='9.4'\nPRETTY_NAME="Rocky \\"Blue Onyx\\" \\$HOME \\\\ end"\nVERSION_CODENAME=\nHOME_URL="https://rockylinux.org/"\n`,
    );
    files.push(tricky);
    for (const f of files) assert.deepEqual(ours(readFileSync(f, 'utf8')), shellView(f), f);
  } finally {
    t.cleanup();
  }
});

test('os detection: this Debian machine, by os-release and by debian_version alone', { skip: skipUnless('tool:dpkg-query') }, () => {
  const osRelease = readFileSync('/usr/lib/os-release', 'utf8');
  const debianVersion = readFileSync('/etc/debian_version', 'utf8');
  const shell = shellView('/usr/lib/os-release');
  const found = detectOs([
    { path: 'usr/lib/os-release', text: osRelease },
    { path: 'etc/debian_version', text: debianVersion },
  ]);
  assert.equal(found?.path, 'usr/lib/os-release');
  assert.equal(found?.os.family, shell.ID);
  assert.equal(found?.os.name, shell.VERSION_ID);
  assert.equal(found?.os.codename, shell.VERSION_CODENAME);
  // Without os-release, debian_version's major number (what VERSION_ID holds on a stable release)
  const alone = detectOs([{ path: 'etc/debian_version', text: debianVersion }]);
  assert.equal(alone?.os.family, 'debian');
  assert.equal(alone?.os.name, shell.VERSION_ID);
  // Ubuntu-like layers carry a debian_version that says nothing about Debian
  assert.equal(
    detectOs([
      { path: 'etc/debian_version', text: debianVersion },
      { path: 'etc/lsb-release', text: 'DISTRIB_ID=LinuxMint\n' },
    ]),
    undefined,
  );
});

test('os detection: Alpine 3.20.3 from the real minirootfs files', { skip: skipUnless('data') }, async () => {
  const dir = join(sharedDataDir() ?? '', 'alpine/3.20.3/etc');
  const files = ['os-release', 'alpine-release'].map((name) => {
    const content = readFileSync(join(dir, name));
    return { path: `etc/${name}`, content, size: content.length, mode: 0o644 };
  });
  const out = await osReleaseAnalyzer.postAnalyze(files, { limits: DEFAULT_ANALYZER_LIMITS, tmpDir: '/nonexistent' });
  const shell = shellView(join(dir, 'os-release'));
  assert.equal(out?.os?.family, shell.ID);
  assert.equal(out?.os?.name, shell.VERSION_ID);
  assert.equal(out?.os?.name, readFileSync(join(dir, 'alpine-release'), 'utf8').trim());
  assert.equal(out?.osPath, 'etc/os-release');
});

test('os-release: an ID that names an Object.prototype member is an unknown OS, not a function', () => {
  for (const id of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    assert.equal(detectOs([{ path: 'etc/os-release', text: `ID=${id}\nVERSION_ID=1\n` }]), undefined, id);
  }
  assert.equal(detectOs([{ path: 'etc/os-release', text: 'ID=debian\nVERSION_ID=__proto__\n' }])?.os.family, 'debian');
});
