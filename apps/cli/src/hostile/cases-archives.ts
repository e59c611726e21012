// Class 1f and 4 (zip): one `../` entry in a jar or an OSV all.zip must drop that entry only, and
// zip bombs in all.zip must be bounded.
import assert from 'node:assert/strict';
import { assertSameFindings, scanJson, type HostileCase } from './harness.js';
import { honestAppEntries, honestJar, honestRecords, writeAdvisoryDir, writeFile, writeOciImage, POM_PROPERTIES } from './images.js';
import { tar } from './tar.js';
import { zeroBomb, zip, type ZipEntry } from '@strata/testing';

/** A db folder whose records all come from one all.zip (the honest ones) plus hostile entries. */
function zipDb(dir: string, hostile: ZipEntry[], at: 'first' | 'middle' = 'middle'): string {
  const good = honestRecords().map((r) => ({ name: `${String(r.id)}.json`, content: JSON.stringify(r) }));
  const entries = at === 'first' ? [...hostile, ...good] : [...good.slice(0, 2), ...hostile, ...good.slice(2)];
  writeFile(`${dir}/osv/all.zip`, zip(entries));
  return dir;
}

let bomb: ReturnType<typeof zeroBomb> | undefined;
const threeGiB = (): ReturnType<typeof zeroBomb> => (bomb ??= zeroBomb(3 * 1024));

export const archiveCases: HostileCase[] = [
  {
    name: 'jar with a ../ entry before its pom.properties still yields the package',
    kind: '1 ../ in a jar',
    run: async (ctx, honest) => {
      const jar = honestJar([{ name: '../../../../tmp/strata-jar-escape', content: 'x' }]);
      const image = writeOciImage(ctx.path('image'), { layers: [honest.base, tar(honestAppEntries(jar))] });
      assertSameFindings(await scanJson(ctx, [image], honest.db), honest.debian);
    },
  },
  {
    name: 'jar with an absolute-path entry and a nested jar whose name climbs out',
    kind: '1 ../ in a jar',
    run: async (ctx, honest) => {
      const inner = zip([{ name: 'META-INF/maven/org.other/inner/pom.properties', content: 'groupId=org.other\nartifactId=inner\nversion=1\n' }]);
      const jar = zip([
        { name: '/etc/evil', content: 'x' },
        { name: '../lib/inner.jar', content: inner },
        { name: 'META-INF/maven/org.example/vulnlib/pom.properties', content: POM_PROPERTIES },
      ]);
      const image = writeOciImage(ctx.path('image'), { layers: [honest.base, tar(honestAppEntries(jar))] });
      assertSameFindings(await scanJson(ctx, [image], honest.db), honest.debian);
    },
  },
  {
    name: 'all.zip with ../ , absolute and backslash entries among the records loads the rest',
    kind: '1 ../ in an OSV all.zip',
    run: async (ctx, honest) => {
      const db = zipDb(ctx.path('db'), [
        { name: '../escape.json', content: '{}' },
        { name: '/abs.json', content: '{}' },
        { name: '..\\..\\back.json', content: '{}' },
      ]);
      const image = writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] });
      const run = await scanJson(ctx, [image], db);
      assertSameFindings(run, honest.debian);
      assert.match(run.stderr, /WARN.*escape\.json/, 'the unsafe entry is named in a warning');
    },
  },
  {
    name: 'all.zip whose first entry is ../ loads every record after it',
    kind: '1 ../ in an OSV all.zip',
    run: async (ctx, honest) => {
      const db = zipDb(ctx.path('db'), [{ name: '../../first.json', content: '{}' }], 'first');
      assertSameFindings(await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] })], db), honest.debian);
    },
  },
  {
    name: 'all.zip bomb: one entry inflating to 3 GiB, honest sizes in the headers',
    kind: '4 all.zip bombs',
    slowBuild: true,
    run: async (ctx, honest) => {
      const db = zipDb(ctx.path('db'), [{ name: 'bomb.json', deflated: threeGiB() }]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] })], db);
      assertSameFindings(run, honest.debian);
      assert.match(run.stderr, /WARN.*bomb\.json/);
    },
  },
  {
    name: 'all.zip bomb: the 3 GiB entry claims 1 KiB in its headers',
    kind: '4 all.zip bombs',
    slowBuild: true,
    run: async (ctx, honest) => {
      const db = zipDb(ctx.path('db'), [{ name: 'liar.json', deflated: threeGiB(), claimedSize: 1024 }]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] })], db);
      assertSameFindings(run, honest.debian);
      assert.match(run.stderr, /WARN.*liar\.json/);
    },
  },
  {
    name: 'all.zip that is not a zip at all beside loose honest records',
    kind: '4 all.zip bombs',
    run: async (ctx, honest) => {
      const db = writeAdvisoryDir(ctx.path('db'), { 'npm/all.zip': '<html>not a zip</html>' });
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] })], db);
      assertSameFindings(run, honest.debian);
      assert.match(run.stderr, /WARN.*all\.zip/);
    },
  },
  {
    name: 'jar bomb: a nested jar entry inflating to 3 GiB',
    kind: '4 zip bombs in jars',
    slowBuild: true,
    run: async (ctx, honest) => {
      const jar = zip([
        { name: 'lib/huge.jar', deflated: threeGiB() },
        { name: 'META-INF/maven/org.example/vulnlib/pom.properties', content: POM_PROPERTIES },
      ]);
      const image = writeOciImage(ctx.path('image'), { layers: [honest.base, tar(honestAppEntries(jar))] });
      assertSameFindings(await scanJson(ctx, [image], honest.db), honest.debian);
    },
  },
];
