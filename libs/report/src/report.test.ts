import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { before, test } from 'node:test';
import { Ajv } from 'ajv';
import { SEVERITIES } from '@strata/model';
import { skipUnless, sharedDataDir } from '@strata/testing';
import { openAdvisoryIndex } from '@strata/advisories';
import {
  countSeverities,
  describeAdvisoryDb,
  renderCycloneDx,
  renderJsonChunks,
  renderReport,
  renderSpdx,
  renderTable,
  toSarif,
  toTrivyJson,
  validateCycloneDx,
  type ScanReport,
  type TrivyReport,
} from './index.js';
import { pythonPackageFile, realReport } from './testing/index.js';

// CommonJS packages whose default export TypeScript (NodeNext) types as a namespace.
const require = createRequire(import.meta.url);
const AjvDraft04 = require('ajv-draft-04') as typeof Ajv;
const addFormats = require('ajv-formats') as (ajv: Ajv) => Ajv;

let report: ScanReport;
const data = skipUnless('data');

before(async () => {
  if (!data) report = await realReport();
});

test('the report under test has OS and language findings from real data', { skip: data }, () => {
  assert.ok(report.findings.some((f) => f.targetClass === 'os-pkgs'));
  assert.ok(report.findings.some((f) => f.targetClass === 'lang-pkgs' && f.severitySource === 'cvss'));
  assert.ok(report.findings.some((f) => f.pkgName === 'stdlib'));
  assert.equal(report.eol?.endOfLife, true);
});

test('json: Trivy schema v2 structure, every package listed, every finding as a vulnerability', { skip: data }, () => {
  const out = JSON.parse(renderReport(report, 'json')) as TrivyReport;
  assert.equal(out.SchemaVersion, 2);
  assert.equal(out.ArtifactName, report.artifactName);
  assert.equal(out.ArtifactType, 'container_image');
  assert.equal(out.CreatedAt, report.createdAt);
  const os = report.inventory.os;
  assert.deepEqual(out.Metadata.OS, { Family: os?.family, Name: os?.name, EOSL: true });
  assert.equal(out.Metadata.ImageID, report.metadata.configDigest);
  assert.deepEqual(out.Metadata.DiffIDs, report.metadata.diffIds);
  assert.deepEqual(out.Metadata.RepoTags, report.metadata.repoTags);
  assert.deepEqual(out.Metadata.RepoDigests, report.metadata.repoDigests);
  assert.deepEqual(out.Metadata.ImageConfig, report.metadata.config);
  assert.deepEqual(
    out.Metadata.Layers,
    report.metadata.layers.map((l) => ({ Digest: l.digest, DiffID: l.diffId, Size: l.size, CreatedBy: l.createdBy })),
  );

  const [osResult, ...langResults] = out.Results;
  assert.ok(osResult);
  assert.equal(osResult.Target, `${report.artifactName} (${os?.family} ${os?.name})`);
  assert.equal(osResult.Class, 'os-pkgs');
  assert.equal(osResult.Type, os?.family);
  assert.equal(osResult.Packages.length, report.inventory.osPackages.length);
  for (const p of osResult.Packages) {
    for (const key of ['ID', 'Name', 'Version', 'SrcName', 'SrcVersion', 'Arch'] as const) assert.ok(p[key], `${p.Name}: ${key}`);
    assert.match(p.Identifier.PURL, /^pkg:apk\/alpine\//);
    assert.deepEqual(p.Layer, { Digest: report.inventory.osPackages[0]?.layer.digest, DiffID: report.inventory.osPackages[0]?.layer.diffId });
    assert.equal(p.FilePath, undefined);
  }
  // The OS vulnerabilities are exactly the Alpine EXPECTED.tsv pairs (the apk-tools oracle).
  const tsv = readFileSync(join(sharedDataDir() as string, 'osv/alpine/EXPECTED.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  assert.deepEqual(
    new Set(osResult.Vulnerabilities.map((v) => `${v.PkgName} ${v.InstalledVersion} ${v.FixedVersion} ${v.VendorIDs.join(',')} ${v.VulnerabilityID}`)),
    new Set(
      tsv.map((l) => {
        const [p, , i, f, id, cve] = l.split('\t');
        return `${p} ${i} ${f} ${id} ${cve}`;
      }),
    ),
  );

  const langSets = report.inventory.applications.filter((s) => s.packages.length > 0);
  assert.deepEqual(
    langResults.map((r) => r.Target),
    langSets.map((s) => s.path).sort(),
  );
  const fields = [
    'VulnerabilityID',
    'VendorIDs',
    'PkgID',
    'PkgName',
    'InstalledVersion',
    'FixedVersion',
    'Status',
    'Severity',
    'SeveritySource',
    'Layer',
    'PrimaryURL',
    'Title',
    'Description',
    'CVSS',
    'References',
    'DataSource',
  ];
  let total = osResult.Vulnerabilities.length;
  for (const r of langResults) {
    assert.equal(r.Class, 'lang-pkgs');
    const s = langSets.find((x) => x.path === r.Target);
    assert.equal(r.Packages.length, s?.packages.length);
    for (const p of r.Packages) assert.equal(p.FilePath, s?.packages.find((x) => x.name === p.Name)?.filePath ?? s?.path);
    total += r.Vulnerabilities.length;
    for (const v of r.Vulnerabilities) {
      for (const key of fields) assert.ok(key in v, `${v.VulnerabilityID}: ${key}`);
      assert.equal(v.PkgID, `${v.PkgName}@${v.InstalledVersion}`);
    }
  }
  assert.equal(total, report.findings.length);
  const lodash = langResults.find((r) => r.Type === 'node-pkg')?.Vulnerabilities.find((v) => v.VulnerabilityID === 'CVE-2020-8203');
  assert.ok(lodash?.CVSS.ghsa?.V3Vector && typeof lodash.CVSS.ghsa.V3Score === 'number');
  assert.equal(lodash?.SeveritySource, 'cvss');
  assert.ok(lodash?.PublishedDate && lodash.LastModifiedDate);
  assert.deepEqual(lodash?.Layer, {
    Digest: report.inventory.applications[0]?.packages[0]?.layer.digest,
    DiffID: report.inventory.applications[0]?.packages[0]?.layer.diffId,
  });
  // Deterministic: rendering twice gives the same bytes.
  assert.equal(renderReport(report, 'json'), renderReport(report, 'json'));
});

test('json in chunks: exactly JSON.stringify of the whole report, in chunks of at most 64 packages or findings', { skip: data }, () => {
  const whole = `${JSON.stringify(toTrivyJson(report), null, 2)}\n`;
  const chunks = [...renderJsonChunks(report)];
  assert.equal(chunks.join(''), whole);
  // a big inventory: 2,000 copies of the first OS package, under other names
  const first = report.inventory.osPackages[0]!;
  const osPackages = Array.from({ length: 2000 }, (_, i) => ({ ...first, name: `${first.name}-${i}` }));
  const big: ScanReport = { ...report, inventory: { ...report.inventory, osPackages } };
  const bigWhole = `${JSON.stringify(toTrivyJson(big), null, 2)}\n`;
  const bigChunks = [...renderJsonChunks(big)];
  assert.equal(bigChunks.join(''), bigWhole);
  const longest = Math.max(...bigChunks.map((c) => c.length));
  assert.ok(longest < bigWhole.length / 3, `the longest chunk holds ${longest} of ${bigWhole.length} characters`);
  const { os: _os, ...withoutOs } = report.inventory;
  const empty: ScanReport = { ...report, inventory: { ...withoutOs, osPackages: [], applications: [] }, findings: [] };
  assert.equal([...renderJsonChunks(empty)].join(''), `${JSON.stringify(toTrivyJson(empty), null, 2)}\n`);
});

test('table: per-target title, totals by severity, one row per finding, aligned box, colour only when asked', { skip: data }, () => {
  const text = renderTable(report);
  assert.ok(!text.includes('\x1b['), 'no ANSI codes without color');
  const json = toTrivyJson(report);
  const lines = text.split('\n');
  for (const r of json.Results.filter((x) => x.Class === 'os-pkgs' || x.Vulnerabilities.length > 0)) {
    const title = r.Class === 'os-pkgs' ? r.Target : `${r.Target} (${r.Type})`;
    const at = lines.indexOf(title);
    assert.ok(at >= 0, `title ${title}`);
    assert.equal(lines[at + 1], '='.repeat(title.length));
    // Totals computed from the JSON output, independently of the table code.
    const counts = Object.fromEntries(SEVERITIES.map((s) => [s, r.Vulnerabilities.filter((v) => v.Severity === s).length]));
    const totals = `Total: ${r.Vulnerabilities.length} (${SEVERITIES.map((s) => `${s}: ${counts[s]}`).join(', ')})`;
    assert.ok(lines.slice(at, at + 4).includes(totals), `totals for ${title}: ${totals}`);
  }
  assert.ok(lines.some((l) => l.startsWith('WARNING: this OS version reached end of life on ')));
  // Every finding is a row: its id, installed and fixed versions on one line.
  for (const f of report.findings) {
    assert.ok(
      lines.some(
        (l) => l.includes(` ${f.vulnerabilityId} `) && l.includes(` ${f.installedVersion} `) && (f.fixedVersion === '' || l.includes(` ${f.fixedVersion} `)),
      ),
      `${f.pkgName} ${f.vulnerabilityId}`,
    );
  }
  const rows = lines.filter((l) => l.startsWith('│') && !l.includes('Vulnerability'));
  const ids = rows.map((l) => l.split('│')[2]?.trim()).filter((x) => x);
  assert.equal(ids.length, report.findings.length);
  // Every line of one box has the same width.
  const boxes = text
    .split(/\n(?=┌)/)
    .slice(1)
    .map((b) => b.split('\n').filter((l) => /^[┌├│└]/.test(l)));
  for (const box of boxes) assert.equal(new Set(box.map((l) => [...l].length)).size, 1);
  const headers = lines
    .find((l) => l.includes('Vulnerability'))
    ?.split('│')
    .map((s) => s.trim())
    .filter(Boolean);
  assert.deepEqual(headers, ['Library', 'Vulnerability', 'Severity', 'Status', 'Installed Version', 'Fixed Version', 'Title']);

  const colored = renderTable(report, { color: true });
  assert.ok(colored.includes('\x1b['));
  assert.equal(colored.replace(/\x1b\[[0-9;]*m/g, ''), text);
  assert.deepEqual(countSeverities(report.findings).UNKNOWN > 0, true);
});

test('sarif: valid against the SARIF 2.1.0 JSON schema; one result per finding, one rule per id', { skip: data }, () => {
  const schemaPath = join(dirname(require.resolve('@microsoft/jest-sarif/package.json')), 'lib/schemas/sarif-2.1.0-rtm.5.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  // The schema's `language` pattern is not valid with the u flag (a stray ']'); compile it without.
  const ajv = new AjvDraft04({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  const sarif = JSON.parse(renderReport(report, 'sarif')) as ReturnType<typeof toSarif> & {
    runs: { results: { ruleId: string; ruleIndex: number }[]; tool: { driver: { rules: { id: string }[] } } }[];
  };
  assert.ok(validate(sarif), JSON.stringify(validate.errors?.slice(0, 5), null, 2));
  const run = sarif.runs[0];
  assert.ok(run);
  assert.equal(run.results.length, report.findings.length);
  const ruleIds = run.tool.driver.rules.map((r) => r.id);
  assert.deepEqual(
    ruleIds,
    [...new Set(report.findings.map((f) => f.vulnerabilityId))].sort((a, b) => ruleIds.indexOf(a) - ruleIds.indexOf(b)),
  );
  assert.equal(new Set(ruleIds).size, ruleIds.length);
  for (const r of run.results) assert.equal(ruleIds[r.ruleIndex], r.ruleId);
  // The validator does reject a broken log.
  assert.equal(validate({ ...sarif, version: '9.9' }), false);
});

test('cyclonedx: 1.6 JSON valid per the CycloneDX library validator, with components and vulnerabilities', { skip: data }, async () => {
  const json = renderCycloneDx(report, { serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79', now: new Date('2026-11-26T12:00:00Z') });
  assert.equal(await validateCycloneDx(json), null);
  const bom = JSON.parse(json) as {
    specVersion: string;
    metadata: { component: { type: string; name: string } };
    components: { 'bom-ref': string; purl?: string }[];
    vulnerabilities: { id: string; affects: { ref: string }[]; ratings: { method?: string; score?: number }[] }[];
  };
  assert.equal(bom.specVersion, '1.6');
  assert.deepEqual([bom.metadata.component.type, bom.metadata.component.name], ['container', report.artifactName]);
  const packages = report.inventory.osPackages.length + report.inventory.applications.reduce((n, s) => n + s.packages.length, 0);
  assert.equal(bom.components.length, packages);
  const refs = new Set(bom.components.map((c) => c['bom-ref']));
  assert.equal(refs.size, packages);
  assert.deepEqual(bom.vulnerabilities.map((v) => v.id).sort(), [...new Set(report.findings.map((f) => f.vulnerabilityId))].sort());
  for (const v of bom.vulnerabilities) {
    assert.ok(v.affects.length > 0 && v.affects.every((a) => refs.has(a.ref)), v.id);
    assert.equal(v.affects.length, report.findings.filter((f) => f.vulnerabilityId === v.id).length, v.id);
  }
  const lodash = bom.vulnerabilities.find((v) => v.id === 'CVE-2020-8203');
  assert.ok(lodash?.ratings.some((r) => r.method === 'CVSSv31' && typeof r.score === 'number'));
  const broken = JSON.stringify({ ...JSON.parse(json), components: [{ type: 'not-a-type', name: 'x' }] });
  assert.notEqual(await validateCycloneDx(broken), null);
});

test('spdx-json: valid against the SPDX 2.3 JSON schema; packages, relationships and purls', { skip: data || skipUnless('python:lib4sbom') }, () => {
  const schema = JSON.parse(readFileSync(pythonPackageFile('lib4sbom', 'schemas/spdx/2.3-schema.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(schema.title, 'SPDX 2.3');
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  const doc = JSON.parse(renderSpdx(report, { uuid: 'd6a770ba-38f6-4ff0-8a2d-6e0a8e0b2e6b' })) as {
    spdxVersion: string;
    documentNamespace: string;
    packages: { SPDXID: string; name: string; externalRefs?: { referenceType: string; referenceLocator: string }[] }[];
    relationships: { spdxElementId: string; relatedSpdxElement: string; relationshipType: string }[];
    documentDescribes: string[];
  };
  assert.ok(validate(doc), JSON.stringify(validate.errors?.slice(0, 5), null, 2));
  assert.equal(doc.spdxVersion, 'SPDX-2.3');
  const packages = report.inventory.osPackages.length + report.inventory.applications.reduce((n, s) => n + s.packages.length, 0);
  assert.equal(doc.packages.length, packages + 2, 'every package, plus the image and its OS');
  const ids = new Set(doc.packages.map((p) => p.SPDXID));
  assert.equal(ids.size, doc.packages.length);
  for (const r of doc.relationships) {
    assert.ok(r.spdxElementId === 'SPDXRef-DOCUMENT' || ids.has(r.spdxElementId));
    assert.ok(ids.has(r.relatedSpdxElement));
  }
  assert.equal(doc.relationships.filter((r) => r.relationshipType === 'CONTAINS').length, packages + 1);
  const purls = doc.packages.flatMap((p) => (p.externalRefs ?? []).filter((e) => e.referenceType === 'purl').map((e) => e.referenceLocator));
  for (const p of report.inventory.osPackages) assert.ok(purls.includes(p.purl), p.purl);
  assert.ok(doc.packages.some((p) => p.externalRefs?.some((e) => e.referenceType === 'advisory')));
  assert.equal(validate({ ...doc, dataLicense: undefined }), false, 'the schema does reject a document without dataLicense');
});

test('every format names the advisory DB the findings were matched with; without one, none is invented', { skip: data }, async () => {
  const db = report.advisoryDb;
  assert.ok(db, 'the real report carries its advisory DB');
  const { index } = await openAdvisoryIndex({ dbDir: join(sharedDataDir() as string, 'osv') });
  assert.deepEqual([db.path, db.version, db.records], [index.manifest.dbDir, index.version, index.manifest.counts.records]);
  assert.equal(db.dumps.length + db.jsonFiles, index.manifest.sources.length);
  const line = `Advisory DB: ${describeAdvisoryDb(db)}`;
  assert.ok(line.includes(db.path) && line.includes(db.version.slice(0, 19)) && line.includes(`${db.records} records`), line);

  assert.equal(renderTable(report).split('\n')[1], line, 'the table header');
  assert.deepEqual(toTrivyJson(report).Metadata.AdvisoryDB, {
    Path: db.path,
    Kind: db.kind,
    Version: db.version,
    Records: db.records,
    Dumps: db.dumps,
    JsonFiles: db.jsonFiles,
  });
  const run = (toSarif(report).runs as Array<{ properties: Record<string, unknown> }>)[0]!;
  assert.deepEqual([run.properties.advisoryDbVersion, run.properties.advisoryDb], [db.version, db]);
  const cdx = JSON.parse(renderCycloneDx(report)) as { metadata: { properties: Array<{ name: string; value: string }> } };
  assert.ok(cdx.metadata.properties.some((p) => p.name === 'strata:AdvisoryDB' && p.value === describeAdvisoryDb(db)));
  const spdx = JSON.parse(renderSpdx(report)) as { creationInfo: { comment?: string } };
  assert.equal(spdx.creationInfo.comment, `${line}; version ${db.version}`);

  const { advisoryDb: _none, ...without } = report;
  assert.equal(toTrivyJson(without).Metadata.AdvisoryDB, undefined);
  assert.doesNotMatch(renderTable(without), /Advisory DB/);
  assert.equal((JSON.parse(renderSpdx(without)) as { creationInfo: { comment?: string } }).creationInfo.comment, undefined);
});
