// conda-meta records: conda is out of reach here, so the record is written in conda's layout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeEntries, namesAt } from '../testing/index.js';

test('conda-meta: one package per record (type conda, result Type conda-pkg); history and other files ignored', async () => {
  const record = {
    build: 'h5eee18b_0',
    build_number: 0,
    channel: 'https://repo.anaconda.com/pkgs/main/linux-64',
    name: 'zlib',
    version: '1.2.13',
    license: 'Zlib',
    files: ['lib/libz.so'],
    depends: ['libgcc-ng >=11.2.0'],
  };
  const r = await analyzeEntries([
    { name: 'opt/conda/conda-meta/zlib-1.2.13-h5eee18b_0.json', content: JSON.stringify(record) },
    { name: 'opt/conda/conda-meta/history', content: '==> 2024-01-01 <==\n+defaults::zlib-1.2.13-h5eee18b_0\n' },
    { name: 'opt/conda/conda-meta/broken-1.0-0.json', content: '{"name": "broken"' },
  ]);
  assert.deepEqual(namesAt(r, 'opt/conda/conda-meta/zlib-1.2.13-h5eee18b_0.json'), ['zlib@1.2.13']);
  const set = r.applications.find((s) => s.path.endsWith('zlib-1.2.13-h5eee18b_0.json'))!;
  assert.equal(set.analyzer, 'conda-pkg');
  assert.deepEqual(set.packages[0]?.licenses, ['Zlib']);
  assert.equal(set.packages[0]?.purl, 'pkg:conda/zlib@1.2.13');
  assert.deepEqual(
    r.warnings.map((w) => w.path),
    ['opt/conda/conda-meta/broken-1.0-0.json'],
  );
  assert.match(r.warnings[0]!.message, /^invalid JSON/);
});
