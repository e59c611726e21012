// Rust: binaries built here with `cargo auditable` (their .dep-v0 section) and with plain `cargo`
// (the warning), and Cargo.lock, with cargo's own `cargo tree` / `cargo metadata` as the oracles.
// The crates are local path crates, so nothing is fetched: the app, a runtime dependency, a build
// dependency (not in the program) and a dev dependency.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { analyzeEntries, namesAt, run, tempDir } from '../testing/index.js';

/** cargo-auditable: on PATH, or where infra/local/install.sh puts it (skipped visibly when absent). */
function cargoAuditable(): string | undefined {
  const cache = process.env.STRATA_INFRA_CACHE ?? join(homedir(), '.cache/strata-infra');
  const root = join(cache, 'cargo-auditable');
  const cached = existsSync(root)
    ? readdirSync(root)
        .map((v) => join(root, v, 'bin/cargo-auditable'))
        .find(existsSync)
    : undefined;
  if (cached) return cached;
  try {
    return run('sh', ['-c', 'command -v cargo-auditable']).trim() || undefined;
  } catch {
    return undefined;
  }
}

const noCargo = skipUnless('tool:cargo');
const auditable = noCargo ? undefined : cargoAuditable();

interface Built {
  dir: string;
  audited?: Buffer;
  plain: Buffer;
  lock: Buffer;
  /** `cargo tree -e normal`: the crates compiled into the program */
  runtime: string[];
  /** `cargo metadata`: every package of the lock file */
  all: string[];
}

let built: Built | undefined;
let buildDir: { dir: string; cleanup: () => void } | undefined;

function build(): Built {
  if (built) return built;
  buildDir = tempDir('cargo');
  const dir = buildDir.dir;
  const crate = (name: string, version: string, extra = '', lib = 'pub fn value() -> u32 { 7 }\n'): void => {
    mkdirSync(join(dir, name, 'src'), { recursive: true });
    writeFileSync(join(dir, name, 'Cargo.toml'), `[package]\nname = "${name}"\nversion = "${version}"\nedition = "2021"\n${extra}`);
    writeFileSync(join(dir, name, 'src/lib.rs'), lib);
  };
  crate('runtime-dep', '0.3.1');
  crate('build-helper', '1.0.0');
  crate('dev-only', '2.0.0');
  mkdirSync(join(dir, 'demo-app/src'), { recursive: true });
  writeFileSync(
    join(dir, 'demo-app/Cargo.toml'),
    `[package]\nname = "demo-app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nruntime-dep = { path = "../runtime-dep" }\n\n[build-dependencies]\nbuild-helper = { path = "../build-helper" }\n\n[dev-dependencies]\ndev-only = { path = "../dev-only" }\n`,
  );
  writeFileSync(join(dir, 'demo-app/build.rs'), 'fn main() { let _ = build_helper::value(); }\n');
  writeFileSync(join(dir, 'demo-app/src/main.rs'), 'fn main() { println!("{}", runtime_dep::value()); }\n');
  const app = join(dir, 'demo-app');
  const env = { ...process.env, CARGO_TARGET_DIR: join(dir, 'target'), CARGO_TERM_COLOR: 'never' };
  run('cargo', ['build', '--release', '--offline', '--quiet'], { cwd: app, env });
  const plain = readFileSync(join(dir, 'target/release/demo-app'));
  let audited: Buffer | undefined;
  if (auditable) {
    run('cargo', ['auditable', 'build', '--release', '--offline', '--quiet'], {
      cwd: app,
      env: { ...env, CARGO_TARGET_DIR: join(dir, 'target-aud'), PATH: `${join(auditable, '..')}:${process.env.PATH ?? ''}` },
    });
    audited = readFileSync(join(dir, 'target-aud/release/demo-app'));
  }
  const runtime = [
    ...new Set(
      run('cargo', ['tree', '--offline', '-e', 'normal', '--prefix', 'none', '--format', '{p}'], { cwd: app, env })
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/^(\S+) v(\S+).*$/, '$1@$2')),
    ),
  ].sort();
  const meta = JSON.parse(run('cargo', ['metadata', '--offline', '--format-version', '1'], { cwd: app, env })) as {
    packages: { name: string; version: string }[];
  };
  built = { dir, plain, lock: readFileSync(join(app, 'Cargo.lock')), runtime, all: meta.packages.map((p) => `${p.name}@${p.version}`).sort() };
  if (audited) built.audited = audited;
  return built;
}

test.after(() => buildDir?.cleanup());

test('rustbinary: the .dep-v0 crates of a `cargo auditable` binary are the runtime crates `cargo tree -e normal` lists, the app included', {
  skip: noCargo || (auditable ? false : 'cargo-auditable not installed (infra/local/install.sh)'),
}, async () => {
  const b = build();
  assert.deepEqual(b.runtime, ['demo-app@0.1.0', 'runtime-dep@0.3.1']);
  const r = await analyzeEntries([{ name: 'usr/local/bin/demo-app', content: b.audited!, mode: 0o755 }]);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(namesAt(r, 'usr/local/bin/demo-app'), b.runtime);
  const set = r.applications.find((s) => s.path === 'usr/local/bin/demo-app')!;
  assert.equal(set.analyzer, 'rustbinary');
  assert.equal(set.type, 'cargo');
  assert.ok(set.packages.every((p) => p.purl === `pkg:cargo/${p.name}@${p.version}` && p.filePath === 'usr/local/bin/demo-app'));
});

test('rustbinary: a Rust binary without .dep-v0 gives one clear warning and no set; a non-Rust ELF gives nothing', { skip: noCargo }, async () => {
  const b = build();
  const r = await analyzeEntries([
    { name: 'usr/bin/plain-rust', content: b.plain, mode: 0o755 },
    { name: 'usr/bin/not-rust', content: readFileSync('/bin/true'), mode: 0o755 },
  ]);
  assert.deepEqual(r.applications, []);
  assert.deepEqual(
    r.warnings.map((w) => [w.analyzer, w.path]),
    [['rustbinary', 'usr/bin/plain-rust']],
  );
  assert.match(r.warnings[0]!.message, /without cargo-auditable data \(\.dep-v0 section\).*NOT in this report/);
});

test('Cargo.lock: every package cargo metadata lists (build and dev dependencies included, as Cargo.lock holds them)', { skip: noCargo }, async () => {
  const b = build();
  const r = await analyzeEntries([{ name: 'src/demo/Cargo.lock', content: b.lock }]);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(namesAt(r, 'src/demo/Cargo.lock'), b.all);
  assert.equal(r.applications[0]?.analyzer, 'cargo');
});

test('rustbinary: found across tar chunk boundaries anywhere past the loadable segments; bombs, deep JSON and bad crates give one warning each', {
  skip: noCargo,
}, async () => {
  const b = build();
  const doc = (packages: unknown[]): Buffer => deflateSync(Buffer.from(JSON.stringify({ packages, format: 1 })), { level: 9 });
  // appended after everything the loader maps, where a linker puts non-allocated sections
  const pad = Buffer.alloc(200_001, 0x78);
  const ok = Buffer.concat([
    b.plain,
    pad,
    doc([
      { name: 'appended', version: '1.0.0', source: 'crates.io' },
      { name: 'builder', version: '1', kind: 'build' },
      { name: '../x', version: '1' },
    ]),
  ]);
  const bomb = Buffer.concat([b.plain, deflateSync(Buffer.concat([Buffer.from('{"packages":['), Buffer.alloc(40 * 1024 * 1024, 0x20), Buffer.from(']}')]))]);
  const deep = Buffer.concat([b.plain, deflateSync(Buffer.from(`{"packages":[${'['.repeat(1000)}${']'.repeat(1000)}]}`))]);
  // a big document: compressed with dynamic Huffman tables, whose header comes before any character
  const crates = Array.from({ length: 3000 }, (_, i) => ({ name: `crate-${(i * 7919) % 100_003}`, version: `${i % 17}.${i % 5}.${i}`, source: 'crates.io' }));
  const many = Buffer.concat([b.plain, doc(crates)]);
  const r = await analyzeEntries([
    { name: 'bin/many', content: many, mode: 0o755 },
    { name: 'bin/ok', content: ok, mode: 0o755 },
    { name: 'bin/bomb', content: bomb, mode: 0o755 },
    { name: 'bin/deep', content: deep, mode: 0o755 },
  ]);
  assert.deepEqual(namesAt(r, 'bin/ok'), ['appended@1.0.0']);
  assert.deepEqual(namesAt(r, 'bin/many'), crates.map((c) => `${c.name}@${c.version}`).sort());
  const byPath = new Map(r.warnings.map((w) => [w.path, w.message]));
  assert.match(byPath.get('bin/ok') ?? '', /name is not a valid crate name/);
  assert.match(byPath.get('bin/bomb') ?? '', /inflates past \d+ bytes/);
  assert.match(byPath.get('bin/deep') ?? '', /nested deeper than 64 levels/);
  assert.equal(r.warnings.length, 3);
});
