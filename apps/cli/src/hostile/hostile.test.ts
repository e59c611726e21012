// The hostile suite (issue 12): crafted images, archives and advisory data, each scanned by the
// real CLI in a child process. See harness.ts for what every run must guarantee.
// Run alone: cd apps/cli && node --import tsx --test src/hostile/hostile.test.ts
// (HOSTILE_ONLY=<substring>[,<substring>…] runs the cases whose name contains it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { archiveCases } from './cases-archives.js';
import { ecosystemCases } from './cases-ecosystems.js';
import { hangCases } from './cases-hangs.js';
import { integrityCases } from './cases-integrity.js';
import { linkCases } from './cases-links.js';
import { memoryCases } from './cases-memory.js';
import { nameCases } from './cases-names.js';
import { registryCases } from './cases-registry.js';
import { sourceCases } from './cases-sources.js';
import { SUITE_TMP, CaseContext, removeCliBundle, findingKeys, readReport, scanJson, type HonestScans, type HostileCase } from './harness.js';
import { honestAlpineEntries, honestApp, honestBase, writeAdvisoryDir, writeOciImage } from './images.js';
import { tar } from './tar.js';

export const allCases: HostileCase[] = [
  ...integrityCases,
  ...linkCases,
  ...archiveCases,
  ...nameCases,
  ...hangCases,
  ...memoryCases,
  ...sourceCases,
  ...registryCases,
  ...ecosystemCases,
];

const shared = mkdtempSync(join(tmpdir(), 'strata-hostile-shared-'));
test.after(() => {
  rmSync(shared, { recursive: true, force: true });
  rmSync(SUITE_TMP, { recursive: true, force: true });
  removeCliBundle();
});

let honest: HonestScans | undefined;

test('the honest twins: every advisory of the honest db hits the honest images', async () => {
  const ctx = new CaseContext('honest');
  try {
    const db = writeAdvisoryDir(join(shared, 'db'));
    const base = honestBase();
    const app = honestApp();
    const debianRun = await scanJson(ctx, [writeOciImage(ctx.path('debian'), { layers: [base, app] })], db);
    assert.equal(debianRun.status, 0, debianRun.stderr);
    const alpineRun = await scanJson(ctx, [writeOciImage(ctx.path('alpine'), { layers: [tar(honestAlpineEntries())] })], db);
    assert.equal(alpineRun.status, 0, alpineRun.stderr);
    const debian = readReport(debianRun.stdout);
    const alpine = readReport(alpineRun.stdout);
    // The honest db's records were written to hit these packages: a miss here is a scanner bug.
    assert.deepEqual(debian.findings.map((f) => f.id).sort(), [
      'HOSTILE-DEB-0001',
      'HOSTILE-DEB-0002',
      'HOSTILE-MVN-0001',
      'HOSTILE-NPM-0001',
      'HOSTILE-PYPI-0001',
    ]);
    assert.equal(debian.os, 'debian 12');
    assert.deepEqual(
      alpine.findings.map((f) => f.id),
      ['HOSTILE-APK-0001'],
    );
    assert.equal(alpine.os, 'alpine 3.20.3');
    honest = { debian, alpine, db, base, app };
    process.stderr.write(`# honest debian findings: ${findingKeys(debian).join('; ')}\n`);
  } finally {
    ctx.cleanup();
  }
});

const only = process.env.HOSTILE_ONLY?.split(',').filter(Boolean);
for (const c of allCases) {
  if (only && !only.some((o) => c.name.includes(o) || c.kind.includes(o))) continue;
  test(`[${c.kind}] ${c.name}`, { skip: c.skip?.() ?? false, todo: c.knownGap ?? false }, async () => {
    assert.ok(honest, 'the honest twins were scanned');
    const ctx = new CaseContext(c.name);
    try {
      await c.run(ctx, honest);
    } finally {
      ctx.cleanup();
    }
  });
}
