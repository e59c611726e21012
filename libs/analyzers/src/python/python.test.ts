import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { normalizePythonName, pythonAnalyzer } from './python.js';
import { run } from '../testing/index.js';
import { DEFAULT_ANALYZER_LIMITS } from '../types.js';

const ctx = { limits: DEFAULT_ANALYZER_LIMITS, tmpDir: '/nonexistent' };
const NAMES = [
  'Jinja2',
  'jinja2',
  'zope.interface',
  'Zope_Interface',
  'ruamel.yaml.clib',
  'A--B__C..D',
  'typing-extensions',
  'typing_extensions',
  'PyYAML',
  'backports.ssl_match_hostname',
  'x-_.y',
  'ABC',
];

test('python: PEP 503 normalisation equals packaging.utils.canonicalize_name', { skip: skipUnless('tool:python3') }, () => {
  const script =
    'import json,sys\nfrom packaging.utils import canonicalize_name\nprint(json.dumps([canonicalize_name(n) for n in json.loads(sys.stdin.read())]))';
  const expected = JSON.parse(run('python3', ['-c', script], { input: JSON.stringify(NAMES) })) as string[];
  assert.deepEqual(NAMES.map(normalizePythonName), expected);
});

test("python: every installed distribution of this machine's Python equals importlib.metadata", { skip: skipUnless('tool:python3') }, async () => {
  // importlib.metadata is Python's own reader of the same files: (metadata file, canonical name, version)
  const script = [
    'import json, importlib.metadata as m, os',
    'from packaging.utils import canonicalize_name',
    'out = []',
    'for d in m.distributions():',
    '    p = str(d._path)',
    '    f = os.path.join(p, "METADATA") if p.endswith(".dist-info") else os.path.join(p, "PKG-INFO") if os.path.isdir(p) else p',
    '    out.append([f, canonicalize_name(d.metadata["Name"]), d.version])',
    'print(json.dumps(out))',
  ].join('\n');
  const expected = JSON.parse(run('python3', ['-c', script])) as Array<[string, string, string]>;
  assert.ok(expected.length > 5, `only ${expected.length} distributions`);
  for (const [file, name, version] of expected) {
    const path = file.replace(/^\//, '');
    assert.ok(pythonAnalyzer.required(path, { size: 1, mode: 0o644 }), `${path} not required`);
    const content = readFileSync(file);
    const out = await pythonAnalyzer.analyze({ path, content, size: content.length, mode: 0o644 }, ctx);
    const pkg = out?.applications?.[0]?.packages[0];
    assert.equal(`${pkg?.name}@${pkg?.version}`, `${name}@${version}`, file);
    assert.equal(pkg?.purl, `pkg:pypi/${name}@${version}`.replace(/\+/g, '%2B'));
  }
});

test('python: metadata without a version gives a warning naming the file', async () => {
  const content = Buffer.from('Metadata-Version: 2.1\nName: broken\n\nbody\n');
  const out = await pythonAnalyzer.analyze(
    { path: 'usr/lib/python3/dist-packages/broken-1.0.dist-info/METADATA', content, size: content.length, mode: 0o644 },
    ctx,
  );
  assert.equal(out?.warnings?.[0]?.path, 'usr/lib/python3/dist-packages/broken-1.0.dist-info/METADATA');
  assert.equal(out?.applications?.[0]?.packages.length, 0);
});

test('python: 2M continuation lines and 100k Classifier lines are bounded with a warning; the package still counts', async () => {
  const text = `Metadata-Version: 2.1\nName: Hostile_Pkg\nSummary: x\n${' more\n'.repeat(2_000_000)}${'Classifier: Topic :: X\n'.repeat(100_000)}Version: 1.0\n\nbody\n`;
  const rssBefore = process.memoryUsage().rss;
  const out = await pythonAnalyzer.analyze(
    { path: 'usr/lib/python3/site-packages/hostile_pkg-1.0.dist-info/METADATA', content: Buffer.from(text), size: text.length, mode: 0o644 },
    { limits: DEFAULT_ANALYZER_LIMITS, tmpDir: '/nonexistent' },
  );
  console.log(`METADATA of ${Math.round(text.length / 1024 / 1024)} MB: RSS grew ${Math.round((process.memoryUsage().rss - rssBefore) / 1024 / 1024)} MB`);
  assert.deepEqual(
    out?.applications?.[0]?.packages.map((p) => `${p.name}@${p.version}`),
    ['hostile-pkg@1.0'],
  );
  const messages = (out?.warnings ?? []).map((w) => w.message);
  assert.ok(
    messages.some((m) => /field summary: longer than/.test(m)),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => /field classifier: more than/.test(m)),
    messages.join('\n'),
  );
});
