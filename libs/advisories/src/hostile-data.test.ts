// Hostile advisory data: records with wrong types and huge strings, zip bombs, zips whose sizes
// lie, and entries with unsafe names. Each costs at most what it holds (one record, one entry, the
// rest of one archive), with a warning naming it; the good records beside it always load.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openAdvisoryIndex, MAX_DETAILS_LENGTH, MAX_REFERENCES, MAX_SUMMARY_LENGTH, type OsvRecord } from './index.js';
import { eachZipJson, type ZipProblem } from './source.js';
import { tempDirs, zeroBomb, zip } from '@strata/testing';

const tempDir = tempDirs('strata-hostile-data');

const good = (id: string, name = 'left-pad'): OsvRecord => ({
  id,
  modified: '2024-01-01T00:00:00Z',
  affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.3.0' }] }] }],
});

const MiB = 1024 * 1024;

test('records with wrong field types or hostile sizes are skipped with a warning; good records load', async () => {
  const db = await tempDir();
  const bad: Record<string, unknown> = {
    'id-number': { ...good('x'), id: 42 },
    'id-huge': { ...good('x'), id: `GHSA-${'x'.repeat(10_000)}` },
    'aliases-string': { ...good('GHSA-aliases'), aliases: 'CVE-2099-1' },
    'aliases-huge': { ...good('GHSA-aliases-huge'), aliases: ['x'.repeat(100_000)] },
    'aliases-many': { ...good('GHSA-aliases-many'), aliases: Array.from({ length: 5000 }, (_, i) => `CVE-2099-${i}`) },
    'modified-huge': { ...good('GHSA-modified-huge'), modified: `2024-${'1'.repeat(10_000)}` },
    'affected-object': { ...good('GHSA-aff'), affected: { package: { ecosystem: 'npm', name: 'x' } } },
    'package-number': { ...good('GHSA-pkg'), affected: [{ package: { ecosystem: 'npm', name: 7 }, ranges: [] }] },
    'package-name-huge': { ...good('GHSA-name'), affected: [{ package: { ecosystem: 'npm', name: 'n'.repeat(100_000) }, ranges: [] }] },
    'events-null': { ...good('GHSA-ev'), affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'ECOSYSTEM', events: null }] }] },
    'event-number': {
      ...good('GHSA-ev2'),
      affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: 0 }] }] }],
    },
    'event-huge': {
      ...good('GHSA-ev3'),
      affected: [
        { package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `1.${'0'.repeat(100_000)}` }] }] },
      ],
    },
    'versions-mixed': { ...good('GHSA-vers'), affected: [{ package: { ecosystem: 'npm', name: 'x' }, versions: ['1.0.0', { v: 1 }] }] },
    'severity-string': { ...good('GHSA-sev'), severity: 'HIGH' },
    'references-strings': { ...good('GHSA-refs'), references: ['https://example.com'] },
    'summary-object': { ...good('GHSA-sum'), summary: { text: 'x' } },
    'not-an-object': 'just a string',
    'null-record': null,
    'array-of-junk': [1, true, null],
  };
  for (const [name, value] of Object.entries(bad)) await writeFile(join(db, `${name}.json`), JSON.stringify(value));
  await writeFile(join(db, 'truncated.json'), JSON.stringify(good('GHSA-trunc')).slice(0, 40));
  await writeFile(
    join(db, 'deeply-nested.json'),
    `{"id":"GHSA-deep","modified":"2024-01-01T00:00:00Z","database_specific":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
  );
  // Over maxRecordBytes: never read into memory.
  await writeFile(join(db, 'huge.json'), Buffer.alloc(17 * MiB, 0x20));
  // Loadable, but with fields of the wrong type where Strata only reads them softly, and garbage versions.
  const soft: OsvRecord = {
    ...good('GHSA-soft', 'soft-pkg'),
    summary: 's'.repeat(MAX_SUMMARY_LENGTH * 4),
    details: 'd'.repeat(MAX_DETAILS_LENGTH * 4),
    references: [
      { type: 7 as unknown as string, url: 'https://example.com/a' },
      { type: 'WEB', url: `https://example.com/${'u'.repeat(20_000)}` },
      ...Array.from({ length: 5000 }, (_, i) => ({ type: 'WEB', url: `https://example.com/r${i}` })),
    ],
    database_specific: 'not an object' as unknown as Record<string, unknown>,
    severity: [{ type: 'CVSS_V3', score: `CVSS:3.1/${'AV:N/'.repeat(10_000)}` }],
  };
  const garbage: OsvRecord = {
    ...good('GHSA-garbage-versions', 'garbage-pkg'),
    affected: [
      {
        package: { ecosystem: 'npm', name: 'garbage-pkg' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: 'not a version' }, { fixed: '\u0000\u0001' }] }],
        ecosystem_specific: null as unknown as Record<string, unknown>,
      },
    ],
  };
  for (const r of [good('GHSA-good-1'), good('GHSA-good-2', 'other'), soft, garbage]) await writeFile(join(db, `${r.id}.json`), JSON.stringify(r));

  const { index, warnings } = await openAdvisoryIndex({ dbDir: db });
  const warned = new Set(warnings.map((w) => w.path.replace(/\[\d+\]$/, '')));
  for (const name of [...Object.keys(bad), 'truncated', 'deeply-nested', 'huge'])
    assert.ok(warned.has(`${name}.json`), `warning for ${name}.json: ${JSON.stringify(warnings)}`);
  assert.ok(warnings.every((w) => w.analyzer === 'advisories' && w.message.length > 0 && w.message.length < 500));
  assert.match(warnings.find((w) => w.path === 'huge.json')?.message ?? '', /maxRecordBytes/);
  assert.deepEqual(
    index.lookup('npm', 'left-pad').map((a) => a.recordId),
    ['GHSA-good-1'],
  );
  assert.deepEqual(
    index.lookup('npm', 'other').map((a) => a.recordId),
    ['GHSA-good-2'],
  );
  const softRecord = index.record('GHSA-soft');
  assert.ok(softRecord);
  assert.ok((softRecord.summary?.length ?? 0) < MAX_SUMMARY_LENGTH + 100);
  assert.ok((softRecord.details?.length ?? 0) < MAX_DETAILS_LENGTH + 100);
  assert.match(softRecord.details ?? '', /cut: 262144 characters/);
  assert.equal(softRecord.references.length, MAX_REFERENCES);
  assert.deepEqual(softRecord.references.slice(0, 2), [
    { type: 'WEB', url: 'https://example.com/a' },
    { type: 'WEB', url: 'https://example.com/r0' },
  ]);
  assert.deepEqual(softRecord.severity, []);
  assert.ok(index.lookup('npm', 'garbage-pkg')[0]?.ranges[0]?.unsorted, 'a range of garbage versions is kept unsorted for the matcher to report');
});

test('a zip entry named ../x, /x, C:/x or a\\x is dropped alone, with a warning; the other entries load', async () => {
  const db = await tempDir();
  await mkdir(join(db, 'npm'));
  // Backslashes are read as separators (as yauzl and Windows zip tools write them): "..\\" is "../".
  const names = ['../escape.json', '../../etc/passwd.json', '/abs.json', 'C:/win.json', '..\\..\\back.json', 'C:\\win2.json', 'ok/../../up.json'];
  await writeFile(
    join(db, 'npm/all.zip'),
    zip([
      { name: 'GHSA-first.json', content: JSON.stringify(good('GHSA-first')) },
      ...names.map((name, i) => ({ name, content: JSON.stringify(good(`GHSA-evil-${i}`, `evil-${i}`)) })),
      { name: 'GHSA-last.json', content: JSON.stringify(good('GHSA-last', 'last')) },
    ]),
  );
  const { index, warnings } = await openAdvisoryIndex({ dbDir: db });
  assert.deepEqual(
    index.lookup('npm', 'left-pad').map((a) => a.recordId),
    ['GHSA-first'],
  );
  assert.deepEqual(
    index.lookup('npm', 'last').map((a) => a.recordId),
    ['GHSA-last'],
  );
  assert.deepEqual(Object.keys(index.manifest.records).sort(), ['GHSA-first', 'GHSA-last']);
  assert.deepEqual(warnings.map((w) => w.path).sort(), names.map((n) => `npm/all.zip!${n.replaceAll('\\', '/')}`).sort());
  for (const w of warnings) assert.match(w.message, /entry skipped: unsafe name/);
});

test('zip bombs: an entry claiming or inflating past maxRecordBytes is skipped; the archive is bounded in bytes, entries and ratio', async () => {
  const db = await tempDir();
  await mkdir(join(db, 'npm'));
  const GiB = 1024;
  // 3 GiB of zeros in about 3 MB: once with honest headers, once claiming 1 KiB, once claiming 15 MiB.
  const bomb = zeroBomb(3 * GiB);
  await writeFile(
    join(db, 'npm/all.zip'),
    zip([
      { name: 'GHSA-a.json', content: JSON.stringify(good('GHSA-a')) },
      { name: 'bomb-honest.json', deflated: bomb },
      { name: 'bomb-claims-1k.json', deflated: bomb, claimedSize: 1024 },
      { name: 'bomb-claims-15m.json', deflated: bomb, claimedSize: 15 * MiB },
      { name: 'GHSA-b.json', content: JSON.stringify(good('GHSA-b', 'b')) },
    ]),
  );
  const rssBefore = process.memoryUsage().rss;
  const { index, warnings } = await openAdvisoryIndex({ dbDir: db });
  assert.ok(process.memoryUsage().rss - rssBefore < 512 * MiB, 'nothing near the claimed size was allocated');
  assert.deepEqual(
    index.lookup('npm', 'left-pad').map((a) => a.recordId),
    ['GHSA-a'],
  );
  assert.deepEqual(
    index.lookup('npm', 'b').map((a) => a.recordId),
    ['GHSA-b'],
  );
  assert.deepEqual(warnings.map((w) => w.path).sort(), ['npm/all.zip!bomb-claims-15m.json', 'npm/all.zip!bomb-claims-1k.json', 'npm/all.zip!bomb-honest.json']);
  assert.match(warnings.find((w) => w.path.endsWith('honest.json'))?.message ?? '', /claims 3221225472 bytes inflated, more than maxRecordBytes/);

  // The archive's own bounds stop the rest of it, keeping what came before.
  const many = zip(
    Array.from({ length: 10 }, (_, i) => ({
      name: `GHSA-${i}.json`,
      content: JSON.stringify({ ...good(`GHSA-${i}`, `p${i}`), details: 'x'.repeat(200_000) }),
    })),
  );
  const path = join(await tempDir(), 'many.zip');
  await writeFile(path, many);
  const read = async (limits: Parameters<typeof eachZipJson>[3]) => {
    const names: string[] = [];
    const problems: string[] = [];
    await eachZipJson(
      path,
      (name) => void names.push(name),
      (p) => problems.push(`${p.entry ?? '(archive)'}: ${p.message}`),
      limits,
    );
    return { names, problems };
  };
  const bytes = await read({ maxArchiveBytes: 1024 * 1024 });
  assert.equal(bytes.names.length, 5);
  assert.equal(bytes.problems.length, 1);
  assert.match(
    bytes.problems[0] as string,
    /^\(archive\): inflates past maxArchiveBytes \(1048576\) at entry GHSA-5\.json: the rest of the archive is skipped/,
  );
  const entries = await read({ maxArchiveEntries: 3 });
  assert.deepEqual(entries.names, ['GHSA-0.json', 'GHSA-1.json', 'GHSA-2.json']);
  assert.match(entries.problems.join('\n'), /more than 3 entries \(maxArchiveEntries\)/);

  // Ratio: JSON padded with spaces inflates about 1000:1, far past what OSV records compress to.
  const padded = Array.from({ length: 10 }, (_, i) => {
    const text = JSON.stringify(good(`GHSA-pad-${i}`, `pad${i}`)) + ' '.repeat(10 * MiB);
    return { name: `GHSA-pad-${i}.json`, content: text };
  });
  const ratioPath = join(await tempDir(), 'ratio.zip');
  await writeFile(ratioPath, zip(padded));
  const names: string[] = [];
  const problems: string[] = [];
  await eachZipJson(
    ratioPath,
    (name) => void names.push(name),
    (p) => problems.push(p.message),
  );
  assert.ok(names.length >= 6 && names.length < 10, `read ${names.length} entries before the ratio check stopped the archive`);
  assert.match(problems.join('\n'), /maxArchiveRatio/);

  // Entries refused for lying about their size still count: their bytes were inflated all the same.
  const liars = zip(Array.from({ length: 12 }, (_, i) => ({ name: `liar-${i}.json`, deflated: zeroBomb(12), claimedSize: 10 * MiB })));
  const liarsPath = join(await tempDir(), 'liars.zip');
  await writeFile(liarsPath, liars);
  const liarProblems: ZipProblem[] = [];
  assert.equal(
    await eachZipJson(
      liarsPath,
      () => undefined,
      (p) => liarProblems.push(p),
    ),
    0,
  );
  assert.ok(liarProblems.length < 12, 'the archive was stopped before its last entry');
  assert.match(liarProblems.at(-1)?.message ?? '', /maxArchiveRatio/);
  assert.ok(liarProblems.slice(0, -1).every((p) => p.entry?.startsWith('liar-') && p.message.startsWith('entry skipped')));
});

test('a zip that is not a zip, or whose directory is cut, is a warning and the other sources load', async () => {
  const db = await tempDir();
  await mkdir(join(db, 'npm'));
  await mkdir(join(db, 'PyPI'));
  await writeFile(join(db, 'npm/all.zip'), '<html>not a zip</html>');
  const whole = zip([{ name: 'GHSA-z.json', content: JSON.stringify(good('GHSA-z')) }]);
  await writeFile(join(db, 'PyPI/all.zip'), whole.subarray(0, whole.length - 30));
  await writeFile(join(db, 'GHSA-folder.json'), JSON.stringify(good('GHSA-folder', 'folder')));
  const { index, warnings } = await openAdvisoryIndex({ dbDir: db });
  assert.deepEqual(
    index.lookup('npm', 'folder').map((a) => a.recordId),
    ['GHSA-folder'],
  );
  assert.deepEqual(warnings.map((w) => w.path).sort(), ['PyPI/all.zip', 'npm/all.zip']);
  for (const w of warnings) assert.match(w.message, /unreadable zip/);
});

test('the index cache is rebuilt when the reading limits change', async () => {
  const db = await tempDir();
  const cacheDir = await tempDir();
  await writeFile(join(db, 'GHSA-big.json'), JSON.stringify({ ...good('GHSA-big'), details: 'd'.repeat(2 * MiB) }));
  await writeFile(join(db, 'GHSA-small.json'), JSON.stringify(good('GHSA-small', 'small')));
  const strict = await openAdvisoryIndex({ dbDir: db, cacheDir, limits: { maxRecordBytes: MiB } });
  assert.deepEqual(Object.keys(strict.index.manifest.records), ['GHSA-small']);
  assert.match(strict.warnings[0]?.message ?? '', /more than maxRecordBytes \(1048576\)/);
  const again = await openAdvisoryIndex({ dbDir: db, cacheDir, limits: { maxRecordBytes: MiB } });
  assert.equal(again.rebuilt, false);
  const relaxed = await openAdvisoryIndex({ dbDir: db, cacheDir });
  assert.equal(relaxed.rebuilt, true);
  assert.deepEqual(Object.keys(relaxed.index.manifest.records).sort(), ['GHSA-big', 'GHSA-small']);
  assert.deepEqual(relaxed.warnings, []);
});
