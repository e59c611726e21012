// Class 2: names from outside that are Object.prototype members, and bad OSV records.
import assert from 'node:assert/strict';
import { assertSameFindings, findingKeys, readReport, scanJson, type HostileCase } from './harness.js';
import { dpkgStatus, honestAppEntries, honestRecords, HONEST_DPKG, writeAdvisoryDir, writeOciImage, DEBIAN_OS_RELEASE } from './images.js';
import { tar } from './tar.js';

const PROTO_NAMES = ['constructor', '__proto__', 'hasOwnProperty', 'toString', 'valueOf'];

const record = (id: string, ecosystem: string, name: string, fixed = '2.0.0') => ({
  id,
  modified: '2026-01-01T00:00:00Z',
  affected: [{ package: { ecosystem, name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }],
});

const extraRecords = (records: object[]): Record<string, string> => Object.fromEntries(records.map((r, i) => [`hostile/${i}.json`, JSON.stringify(r)]));

export const nameCases: HostileCase[] = [
  {
    name: 'OSV records for npm packages named constructor, __proto__, hasOwnProperty, toString, valueOf',
    kind: '2 prototype names',
    run: async (ctx, honest) => {
      const db = writeAdvisoryDir(ctx.path('db'), extraRecords(PROTO_NAMES.map((n, i) => record(`HOSTILE-PROTO-${i}`, 'npm', n))));
      assertSameFindings(await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] })], db), honest.debian);
    },
  },
  {
    name: 'OSV records whose id, alias and ecosystem are prototype names',
    kind: '2 prototype names',
    run: async (ctx, honest) => {
      const records = [
        ...PROTO_NAMES.map((n) => record(n, 'npm', `other-${n.length}`)),
        { ...record('HOSTILE-ALIAS', 'npm', 'other'), aliases: ['constructor', '__proto__'] },
        ...PROTO_NAMES.map((n, i) => record(`HOSTILE-ECO-${i}`, n, 'lodash')),
      ];
      const db = writeAdvisoryDir(ctx.path('db'), extraRecords(records));
      assertSameFindings(await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] })], db), honest.debian);
    },
  },
  {
    name: 'an image with npm packages and dpkg packages named constructor and __proto__',
    kind: '2 prototype names',
    run: async (ctx, honest) => {
      const base = tar([
        { name: 'etc/os-release', content: DEBIAN_OS_RELEASE },
        {
          name: 'var/lib/dpkg/status',
          content: dpkgStatus([...HONEST_DPKG, { name: 'constructor', version: '1.0-1' }, { name: 'proto', version: '1.0-1', source: '__proto__' }]),
        },
      ]);
      const app = tar([
        ...honestAppEntries(),
        ...PROTO_NAMES.map((n) => ({ name: `srv/app/node_modules/${n}/package.json`, content: JSON.stringify({ name: n, version: '1.0.0' }) })),
      ]);
      const records = [
        ...PROTO_NAMES.map((n, i) => record(`HOSTILE-NPMP-${i}`, 'npm', n)),
        record('HOSTILE-DEBP-1', 'Debian:12', 'constructor', '2.0-1'),
        record('HOSTILE-DEBP-2', 'Debian:12', '__proto__', '2.0-1'),
      ];
      const db = writeAdvisoryDir(ctx.path('db'), extraRecords(records));
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [base, app] })], db);
      assert.equal(run.status, 0, run.stderr);
      const ids = readReport(run.stdout).findings.map((f) => f.id);
      for (const id of [...honest.debian.findings.map((f) => f.id), ...records.map((r) => r.id)])
        assert.ok(ids.includes(id), `missing ${id}; got ${ids.join(', ')}`);
    },
  },
  {
    name: 'os-release with ID=constructor and VERSION_ID=__proto__',
    kind: '2 prototype names',
    run: async (ctx, honest) => {
      const base = tar([
        { name: 'etc/os-release', content: 'ID=constructor\nVERSION_ID=__proto__\n' },
        { name: 'var/lib/dpkg/status', content: dpkgStatus(HONEST_DPKG) },
      ]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [base, honest.app] })], honest.db);
      assert.equal(run.status, 0, run.stderr);
      const report = readReport(run.stdout);
      assert.ok(
        report.findings.some((f) => f.id === 'HOSTILE-NPM-0001'),
        'the application packages still match',
      );
      assert.doesNotMatch(run.stdout, /function Object|\[native code\]/);
    },
  },
  {
    name: 'bad OSV records (invalid JSON, wrong types, not objects, huge fields, 200k-deep nesting) are warnings',
    kind: '2 bad OSV records',
    run: async (ctx, honest) => {
      const good = honestRecords()[0]!;
      const bad: Record<string, string> = {
        'bad/invalid.json': '{"id": "GHSA-x", "modified": ',
        'bad/id-number.json': JSON.stringify({ ...good, id: 42 }),
        'bad/affected-object.json': JSON.stringify({ ...good, id: 'B4', affected: { x: 1 } }),
        'bad/events-null.json': JSON.stringify({
          ...record('B5', 'npm', 'lodash'),
          affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'ECOSYSTEM', events: null }] }],
        }),
        'bad/not-object.json': '[1, true, null, "x"]',
        'bad/id-huge.json': JSON.stringify({ ...good, id: 'X'.repeat(10_000) }),
        'bad/name-huge.json': JSON.stringify(record('B12', 'npm', 'n'.repeat(100_000))),
        'bad/garbage-versions.json': JSON.stringify({
          ...record('B17', 'npm', 'lodash'),
          affected: [
            {
              package: { ecosystem: 'npm', name: 'lodash' },
              ranges: [{ type: 'SEMVER', events: [{ introduced: 'not a version' }, { fixed: '\u0000\u0001' }] }],
            },
          ],
        }),
        'bad/deep.json': `{"id":"B15","modified":"2026-01-01T00:00:00Z","database_specific":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
        'bad/huge.json': ' '.repeat(17 * 1024 * 1024),
      };
      const db = writeAdvisoryDir(ctx.path('db'), bad);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] })], db);
      assertSameFindings(run, honest.debian);
      for (const file of ['invalid', 'id-number', 'not-object', 'deep', 'huge'])
        assert.match(run.stderr, new RegExp(`WARN.*bad/${file}\\.json`), `a warning names bad/${file}.json`);
    },
  },
  {
    name: 'a second scan with the cached advisory index built from hostile names gives the same findings',
    kind: '2 prototype names',
    run: async (ctx, honest) => {
      const db = writeAdvisoryDir(ctx.path('db'), extraRecords(PROTO_NAMES.map((n, i) => record(`HOSTILE-PROTO-${i}`, n, n))));
      const image = writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] });
      const first = assertSameFindings(await scanJson(ctx, [image], db), honest.debian);
      const second = assertSameFindings(await scanJson(ctx, [image], db), honest.debian);
      assert.deepEqual(findingKeys(second), findingKeys(first));
    },
  },
];
