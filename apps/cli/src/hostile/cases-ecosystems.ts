// The analyzers of issue 14 (Rust binaries and Cargo.lock, Composer, gemspecs, .NET, conda): each
// hostile input (bombs, deep JSON, huge fields, bad UTF-8, `../` names, unclosed XML) must give one
// clear warning naming its file, keep every honest package of the same file and of the image, and
// leave the honest findings as they are.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { assertSameFindings, readReport, scanJson, type CaseContext, type HonestScans, type HostileCase, type Run } from './harness.js';
import { writeOciImage } from './images.js';
import { tar, type Entry } from './tar.js';

/** The honest image plus one layer of ecosystem files; returns the run after checking the honest findings. */
async function scanWith(ctx: CaseContext, honest: HonestScans, entries: Entry[]): Promise<{ run: Run; packages: string[] }> {
  const image = writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app, tar(entries)] });
  const run = await scanJson(ctx, [image], honest.db);
  assertSameFindings(run, honest.debian);
  return { run, packages: readReport(run.stdout).packages };
}

/** Exactly one WARN line names `path`, and it matches `what`. */
function oneWarning(run: Run, path: string, what: RegExp): void {
  const lines = run.stderr.split('\n').filter((l) => l.startsWith('WARN ') && l.includes(path));
  assert.equal(lines.length, 1, `want one warning about ${path}, got:\n${lines.join('\n') || run.stderr.slice(-2000)}`);
  assert.match(lines[0]!, what);
}

const hasAll = (packages: string[], wanted: string[]): void => {
  for (const w of wanted) assert.ok(packages.includes(w), `${w} missing from the report; it has ${packages.filter((p) => !p.startsWith('lib')).join(', ')}`);
};

const composerPackage = (name: string, version: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  version,
  type: 'library',
  ...extra,
});

export const ecosystemCases: HostileCase[] = [
  {
    name: 'composer installed.json nested 200,000 levels deep beside an honest composer.lock',
    kind: '14 ecosystem parsers: deep JSON',
    run: async (ctx, honest) => {
      const deep = `{"packages":[${'['.repeat(200_000)}${']'.repeat(200_000)}]}`;
      const { run, packages } = await scanWith(ctx, honest, [
        { name: 'srv/php/vendor/composer/installed.json', content: deep },
        { name: 'srv/php/composer.lock', content: JSON.stringify({ packages: [composerPackage('acme/honest', 'v1.2.0')] }) },
      ]);
      oneWarning(run, 'srv/php/vendor/composer/installed.json', /nested deeper than 64 levels/);
      hasAll(packages, ['acme/honest@v1.2.0']);
    },
  },
  {
    name: 'composer installed.json with one 20 MB version among honest packages',
    kind: '14 ecosystem parsers: huge fields',
    run: async (ctx, honest) => {
      const packages = [
        composerPackage('acme/first', '1.0.0'),
        composerPackage('acme/huge', '9'.repeat(20 * 1024 * 1024)),
        composerPackage('acme/last', 'v2.0.0'),
      ];
      const { run, packages: got } = await scanWith(ctx, honest, [{ name: 'srv/php/vendor/composer/installed.json', content: JSON.stringify({ packages }) }]);
      oneWarning(run, 'srv/php/vendor/composer/installed.json', /version longer than \d+ characters; skipped/);
      hasAll(got, ['acme/first@1.0.0', 'acme/last@v2.0.0']);
    },
  },
  {
    name: '.deps.json with invalid UTF-8 bytes in a description keeps its packages',
    kind: '14 ecosystem parsers: bad UTF-8',
    run: async (ctx, honest) => {
      const json = Buffer.from(
        JSON.stringify({
          libraries: {
            'App/1.0.0': { type: 'project', description: 'BADBYTES' },
            'Newtonsoft.Json/12.0.1': { type: 'package' },
          },
        }),
      );
      const at = json.indexOf('BADBYTES');
      Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80, 0x80]).copy(json, at);
      const { run, packages } = await scanWith(ctx, honest, [{ name: 'app/App.deps.json', content: json }]);
      oneWarning(run, 'app/App.deps.json', /not valid UTF-8/);
      hasAll(packages, ['App@1.0.0', 'Newtonsoft.Json@12.0.1']);
    },
  },
  {
    name: 'Cargo.lock with 50,000 crates named ../../x among honest ones',
    kind: '14 ecosystem parsers: ../ names',
    run: async (ctx, honest) => {
      const record = (name: string, version: string): string => `[[package]]\nname = "${name}"\nversion = "${version}"\n\n`;
      const lock = [
        'version = 3\n\n',
        record('honest-first', '1.0.0'),
        ...Array.from({ length: 50_000 }, (_, i) => record(`../../x${i}`, '1.0.0')),
        record('honest-last', '0.2.0'),
      ].join('');
      const { run, packages } = await scanWith(ctx, honest, [{ name: 'src/app/Cargo.lock', content: lock }]);
      oneWarning(run, 'src/app/Cargo.lock', /50000 records: name is not a valid crate name; skipped/);
      hasAll(packages, ['honest-first@1.0.0', 'honest-last@0.2.0']);
      assert.ok(!packages.some((p) => p.includes('..')), 'no ../ name reached the report');
    },
  },
  {
    name: 'gemspecs named ../../etc/passwd and with a 600 KB comment line beside an honest one',
    kind: '14 ecosystem parsers: ../ names',
    run: async (ctx, honest) => {
      const spec = (name: string, version: string): string =>
        `# stub: ${name} ${version} ruby lib\nGem::Specification.new do |s|\n  s.name = "${name}".freeze\n  s.version = "${version}"\nend\n`;
      const { run, packages } = await scanWith(ctx, honest, [
        { name: 'usr/lib/ruby/gems/3.1.0/specifications/evil.gemspec', content: spec('../../etc/passwd', '1.0') },
        { name: 'usr/lib/ruby/gems/3.1.0/specifications/long-1.0.gemspec', content: `# ${'x'.repeat(600 * 1024)}\n${spec('long', '1.0')}` },
        { name: 'usr/lib/ruby/gems/3.1.0/specifications/default/rack-2.2.3.gemspec', content: spec('rack', '2.2.3') },
      ]);
      oneWarning(run, 'specifications/evil.gemspec', /name is not a valid gem name/);
      assert.ok(!run.stderr.includes('long-1.0.gemspec'), 'a long comment line is no problem');
      hasAll(packages, ['rack@2.2.3', 'long@1.0']);
    },
  },
  {
    name: 'Rust binary whose .dep-v0 is a zlib bomb (256 MiB of JSON whitespace), beside an honest cargo-auditable one',
    kind: '14 ecosystem parsers: bombs',
    slowBuild: true,
    run: async (ctx, honest) => {
      const elf = readFileSync('/bin/true');
      const doc = (body: Buffer): Buffer => deflateSync(Buffer.concat([Buffer.from('{"packages":['), body, Buffer.from(']}')]), { level: 9 });
      const honestDoc = doc(
        Buffer.from('{"name":"smallvec","version":"1.6.0","source":"crates.io"},{"name":"demo","version":"0.1.0","source":"local","root":true}'),
      );
      const { run, packages } = await scanWith(ctx, honest, [
        { name: 'usr/local/bin/bomb', content: Buffer.concat([elf, doc(Buffer.alloc(256 * 1024 * 1024, 0x20))]), mode: 0o755 },
        { name: 'usr/local/bin/demo', content: Buffer.concat([elf, honestDoc]), mode: 0o755 },
      ]);
      oneWarning(run, 'usr/local/bin/bomb', /inflates past \d+ bytes \(zlib bomb\?\)/);
      hasAll(packages, ['smallvec@1.6.0', 'demo@0.1.0']);
    },
  },
  {
    name: 'packages.config with a million unclosed <package tags, and a 40 MB conda-meta record',
    kind: '14 ecosystem parsers: huge fields',
    run: async (ctx, honest) => {
      const config = `<packages><package id="jQuery" version="3.4.0" />${'<package id="x'.repeat(1_000_000)}`;
      const { run, packages } = await scanWith(ctx, honest, [
        { name: 'site/packages.config', content: config },
        { name: 'opt/conda/conda-meta/big-1.0-0.json', content: JSON.stringify({ name: 'big', version: '1.0', files: ['x'.repeat(40 * 1024 * 1024)] }) },
        { name: 'opt/conda/conda-meta/zlib-1.2.13-0.json', content: JSON.stringify({ name: 'zlib', version: '1.2.13' }) },
      ]);
      oneWarning(run, 'site/packages.config', /<package> element not closed/);
      oneWarning(run, 'conda-meta/big-1.0-0.json', /over the conda-pkg analyzer's limit/);
      hasAll(packages, ['jQuery@3.4.0', 'zlib@1.2.13']);
    },
  },
];
