// The generated code in src/gen is committed. This test regenerates it with the pinned buf and
// protoc-gen-es from node_modules (offline) into a temp dir and requires byte equality, so a
// .proto edit without `npm run generate` (or a plugin upgrade) fails here. It also lints and
// format-checks the protos with buf.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const buf = join(repoRoot, 'node_modules/.bin/buf');
const committedGen = join(repoRoot, 'libs/contracts/src/gen');

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

async function runBuf(args: string[], cacheDir: string) {
  return run(buf, args, {
    cwd: repoRoot,
    // protoc-gen-es is a node script: make sure the node running the tests is the one found.
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, BUF_CACHE_DIR: cacheDir },
    maxBuffer: 16 * 1024 * 1024,
  });
}

test('committed src/gen equals a fresh buf generate (drift check)', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'strata-contracts-gen-'));
  try {
    await runBuf(['generate', '--template', 'proto/buf.gen.yaml', '--output', join(tmp, 'out')], join(tmp, 'cache'));
    const freshGen = join(tmp, 'out/libs/contracts/src/gen');
    const fresh = await listFiles(freshGen);
    const committed = await listFiles(committedGen);
    assert.ok(fresh.length >= 3, `buf generated only ${fresh.join(', ')}`);
    assert.deepEqual(committed, fresh, 'generated file set differs: run `npm run generate` in libs/contracts');
    for (const file of fresh) {
      const [a, b] = await Promise.all([readFile(join(committedGen, file)), readFile(join(freshGen, file))]);
      assert.ok(a.equals(b), `src/gen/${file} differs from buf generate output: run \`npm run generate\` in libs/contracts`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test('protos pass buf lint and buf format', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'strata-contracts-buf-'));
  try {
    await runBuf(['lint', 'proto'], tmp);
    await runBuf(['format', '--diff', '--exit-code', 'proto'], tmp);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
