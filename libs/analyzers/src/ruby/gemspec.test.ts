// Installed gemspecs, read as text, against Ruby's own Gem::Specification.load: every spec of this
// machine's Ruby (default gems included) and a gem built and installed with `gem` here.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { analyzeEntries, namesAt, run, tempDir } from '../testing/index.js';
import { parseGemspec } from './gemspec.js';

const noRuby = skipUnless('tool:ruby', 'tool:gem');

/** name@version|licenses of each spec file, as RubyGems loads it. */
function rubyOracle(files: string[]): string[] {
  const script = 'ARGV.each { |f| s = Gem::Specification.load(f); puts "#{s.name}@#{s.version}|#{s.licenses.join(",")}" }';
  return run('ruby', ['-e', script, ...files])
    .split('\n')
    .filter(Boolean);
}

const line = (p: { name: string; version: string; licenses?: string[] | undefined }): string => `${p.name}@${p.version}|${(p.licenses ?? []).join(',')}`;

test('gemspec: every spec of the installed Ruby (default gems too) reads as Gem::Specification.load reads it', { skip: noRuby }, () => {
  const dirs = run('ruby', ['-e', 'puts Gem::Specification.dirs']).split('\n').filter(Boolean);
  const files = dirs
    .flatMap((d) => [d, join(d, 'default')])
    .filter(existsSync)
    .flatMap((d) =>
      readdirSync(d)
        .filter((f) => f.endsWith('.gemspec'))
        .map((f) => join(d, f)),
    );
  assert.ok(files.length >= 10, `found ${files.length} specs in ${dirs.join(', ')}`);
  const ours = files.map((f) => {
    const g = parseGemspec(readFileSync(f, 'utf8'));
    return line({ name: g.name ?? g.stub?.name ?? '', version: g.version ?? g.stub?.version ?? '', licenses: g.licenses });
  });
  assert.deepEqual(ours, rubyOracle(files));
});

test('gemspec: a gem built and installed with `gem` (stub line, platform, licenses) is one package at its spec path', { skip: noRuby }, async () => {
  const t = tempDir('gem');
  try {
    const src = join(t.dir, 'src');
    mkdirSync(join(src, 'lib'), { recursive: true });
    writeFileSync(join(src, 'lib/strata_demo.rb'), 'module StrataDemo; end\n');
    writeFileSync(
      join(src, 'strata_demo.gemspec'),
      `Gem::Specification.new do |s|
  s.name = "strata_demo"
  s.version = "1.2.0.pre.3"
  s.summary = "demo"
  s.authors = ["strata"]
  s.files = ["lib/strata_demo.rb"]
  s.licenses = ["MIT", "Ruby"]
  s.platform = "x86_64-linux"
end
`,
    );
    run('gem', ['build', 'strata_demo.gemspec', '--quiet'], { cwd: src, env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
    const gemFile = readdirSync(src).find((f) => f.endsWith('.gem'))!;
    const home = join(t.dir, 'home');
    run('gem', ['install', '--local', '--no-document', '--install-dir', home, join(src, gemFile)], { cwd: src });
    const specDir = join(home, 'specifications');
    const specName = readdirSync(specDir)[0]!;
    const text = readFileSync(join(specDir, specName));
    assert.match(text.toString(), /^# stub: strata_demo 1\.2\.0\.pre\.3 x86_64-linux lib$/m, 'RubyGems wrote the stub line');
    const path = `usr/local/bundle/specifications/${specName}`;
    const r = await analyzeEntries([{ name: path, content: text }]);
    assert.deepEqual(r.warnings, []);
    const expected = rubyOracle([join(specDir, specName)]);
    const set = r.applications.find((s) => s.path === path)!;
    assert.equal(set.analyzer, 'gemspec');
    assert.deepEqual(set.packages.map(line), expected);
    assert.equal(set.packages[0]?.purl, 'pkg:gem/strata_demo@1.2.0.pre.3');
  } finally {
    t.cleanup();
  }
});

test('gemspec: the stub line names a spec whose body does not; a spec with neither gives one warning', async () => {
  const r = await analyzeEntries([
    { name: 'gems/specifications/default/stubbed-0.1.gemspec', content: '# -*- encoding: utf-8 -*-\n# stub: stubbed 0.1 ruby lib\n' },
    { name: 'gems/specifications/empty.gemspec', content: '# nothing here\n' },
    { name: 'gems/specifications/evil.gemspec', content: 's.name = "../../../etc/passwd"\ns.version = "1"\n' },
    { name: 'gems/other/x.gemspec', content: 's.name = "ignored"\ns.version = "1"\n' },
  ]);
  assert.deepEqual(namesAt(r, 'gems/specifications/default/stubbed-0.1.gemspec'), ['stubbed@0.1']);
  assert.deepEqual(r.warnings.map((w) => w.path).sort(), ['gems/specifications/empty.gemspec', 'gems/specifications/evil.gemspec']);
  assert.equal(
    r.applications.some((s) => s.path === 'gems/other/x.gemspec'),
    false,
    'only specifications/ directories are read',
  );
});
