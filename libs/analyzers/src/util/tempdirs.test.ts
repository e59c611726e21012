import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { analyzeLayer } from '../layer.js';
import { tarStream, tempDir, withTempDir } from '../testing/index.js';
import { LAYER_TEMP_PREFIX, removeStaleLayerTempDirs } from './tempdirs.js';

const DIFF_ID = 'sha256:' + '0'.repeat(64);
const jarBytes = (): Buffer => {
  // a stored (uncompressed) zip with one file: enough for the jar analyzer to spool it
  const t = tempDir('tmpdirs-jar');
  try {
    execFileSync('python3', [
      '-c',
      'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z: z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\\n")',
      join(t.dir, 'a.jar'),
    ]);
    return execFileSync('cat', [join(t.dir, 'a.jar')]);
  } finally {
    t.cleanup();
  }
};

test('temp dirs: spooled files go under tmpRoot and nothing is left, after success and after a broken layer', async () => {
  const t = tempDir('tmpdirs');
  try {
    const root = join(t.dir, 'cache', 'tmp');
    await analyzeLayer(tarStream([{ name: 'app/a.jar', content: jarBytes() }]), { diffId: DIFF_ID, tmpRoot: root });
    assert.deepEqual(readdirSync(root), []);
    const broken = tarStream([{ name: 'app/a.jar', content: jarBytes() }]);
    const cut = (async function* () {
      let n = 0;
      for await (const chunk of broken) {
        n++;
        yield n === 1 ? (chunk as Buffer).subarray(0, 700) : Buffer.alloc(0);
        if (n === 1) break;
      }
    })();
    await assert.rejects(analyzeLayer((await import('node:stream')).Readable.from(cut), { diffId: DIFF_ID, tmpRoot: root }));
    assert.deepEqual(readdirSync(root), []);
  } finally {
    t.cleanup();
  }
});

test("temp dirs: process.exit removes live ones; the next start removes a killed process's, never a live one's", async () => {
  await withTempDir('tmpdirs-exit', async (dir) => {
    const root = join(dir, 'tmp');
    const module = fileURLToPath(new URL('./tempdirs.ts', import.meta.url));
    const script = `import { makeLayerTempDir } from ${JSON.stringify(module)}; const d = await makeLayerTempDir(${JSON.stringify(root)}); console.log(d); process.exit(3);`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 3, child.stderr);
    assert.equal(existsSync(child.stdout.trim()), false, 'removed at exit');

    // a kill -9 leaves its directory behind: simulate with a finished process's pid
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = join(root, `${LAYER_TEMP_PREFIX}${dead}-abc123`);
    const mine = join(root, `${LAYER_TEMP_PREFIX}${process.pid}-def456`);
    mkdirSync(join(stale, 'x'), { recursive: true });
    mkdirSync(mine, { recursive: true });
    const removed = await removeStaleLayerTempDirs(root);
    assert.deepEqual(removed, [`${LAYER_TEMP_PREFIX}${dead}-abc123`]);
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(mine), true);
  });
});
