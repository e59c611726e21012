// The hostile suite's runner: each case builds its inputs from code in a fresh work folder, runs the
// real `strata` CLI (bundled as it ships) as a child process and checks what a scanner must guarantee whatever it reads:
// an exit code of 0 or 1, one clear message and no stack trace, done within 10 s (the child is
// killed at 10 s), a peak RSS of at most 300 MB (GNU time's %M on the child), nothing written outside
// the cache dir and the output file, and — for inputs that try to hide packages — the findings of
// the honest twin image.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from '@strata/testing';

export const TIME_LIMIT_MS = 10_000;

/** The children's TMPDIR (see CaseContext). */
export const SUITE_TMP = mkdtempSync(join(tmpdir(), 'strata-hostile-tmp-'));
export const RSS_LIMIT_KB = 300 * 1024;

/**
 * The CLI as it ships: `npm run build` bundles apps/cli/src/main.ts with tools/bundle.mjs and
 * bin/strata.mjs runs that bundle. The suite bundles the sources once into apps/cli/dist (beside
 * node_modules, which the bundle's third-party imports resolve from), so the RSS measured is
 * Strata's own, not the TypeScript loader's (tsx adds ~80 MB and a second of start-up).
 */
const BUNDLE_DIR = join(repoRoot, 'apps/cli/dist', `hostile-${process.pid}`);
let bundled: string | undefined;
export function cliBundle(): string {
  if (bundled) return bundled;
  const out = join(BUNDLE_DIR, 'strata.mjs');
  execFileSync(process.execPath, [join(repoRoot, 'tools/bundle.mjs'), '--deps', join(repoRoot, 'apps/cli/src/main.ts'), out], { stdio: 'pipe' });
  bundled = out;
  return out;
}
export const removeCliBundle = (): void => rmSync(BUNDLE_DIR, { recursive: true, force: true });

export interface Run {
  args: string[];
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** peak resident set of the child, KiB (undefined when it was killed before GNU time wrote it) */
  peakRssKb: number | undefined;
  timedOut: boolean;
}

/** Signs of a crash rather than a refusal: these never belong in what a user reads. */
const CRASH = /node:internal|FATAL ERROR|Maximum call stack|heap out of memory|is not a function|Cannot read properties|Assertion failed|Aborted|Segmentation/;
/** A stack frame line, anywhere on stderr. */
const STACK_FRAME = /^\s+at .+[(:]/m;

/** stderr without the WARN lines: a warning may quote a parser's message about one skipped record. */
const nonWarnings = (stderr: string): string =>
  stderr
    .split('\n')
    .filter((l) => !l.startsWith('WARN '))
    .join('\n');

/** Runs the CLI under GNU time; kills the whole process group at the time limit. */
export function runCli(cwd: string, args: string[], env: Record<string, string>): Promise<Run> {
  const rssFile = join(cwd, `.rss-${process.hrtime.bigint()}`);
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, cliBundle(), ...args], {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...scrubbedEnv(), ...env },
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let outBytes = 0;
  // Keep at most 64 MiB of a report in the test process; the rest is drained, not stored.
  child.stdout.on('data', (c: Buffer) => {
    if (outBytes < 64 << 20) out.push(c);
    outBytes += c.length;
  });
  child.stderr.on('data', (c: Buffer) => err.push(c));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, TIME_LIMIT_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      let peakRssKb: number | undefined;
      if (existsSync(rssFile)) {
        // GNU time writes "Command exited with non-zero status N" before the figure.
        const figure = readFileSync(rssFile, 'utf8').trim().split('\n').pop();
        if (figure && /^\d+$/.test(figure)) peakRssKb = Number(figure);
        rmSync(rssFile, { force: true });
      }
      // GNU time passes the child's status through; a child killed by a signal exits 128+n through it.
      resolve({ args, status, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms, peakRssKb, timedOut });
    });
  });
}

function scrubbedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('STRATA_DB') || k === 'STRATA_SERVER' || k === 'STRATA_CACHE_DIR' || k === 'STRATA_DEBUG' || k === 'NODE_OPTIONS')
      continue;
    env[k] = v;
  }
  return env;
}

/** Every file and folder below dir, relative, sorted. */
export function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(relative(dir, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

const strataInTmp = (): Set<string> => new Set(readdirSync('/tmp').filter((n) => n.startsWith('strata-')));

export interface Finding {
  pkg: string;
  version: string;
  id: string;
  status: string;
}

export interface ScanReport {
  os: string | undefined;
  findings: Finding[];
  packages: string[];
}

interface TrivyJson {
  Metadata?: { OS?: { Family: string; Name: string } };
  Results?: Array<{
    Packages?: Array<{ Name: string; Version: string }>;
    Vulnerabilities?: Array<{ PkgName: string; InstalledVersion: string; VulnerabilityID: string; Status: string }>;
  }>;
}

/** The parts of a JSON report a hiding attempt could change, order-free. */
export function readReport(json: string): ScanReport {
  const report = JSON.parse(json) as TrivyJson;
  const results = report.Results ?? [];
  return {
    os: report.Metadata?.OS ? `${report.Metadata.OS.Family} ${report.Metadata.OS.Name}` : undefined,
    findings: results
      .flatMap((r) => r.Vulnerabilities ?? [])
      .map((v) => ({ pkg: v.PkgName, version: v.InstalledVersion, id: v.VulnerabilityID, status: v.Status }))
      .sort((a, b) => `${a.id} ${a.pkg}`.localeCompare(`${b.id} ${b.pkg}`)),
    packages: results.flatMap((r) => (r.Packages ?? []).map((p) => `${p.Name}@${p.Version}`)).sort(),
  };
}

export const findingKeys = (r: ScanReport): string[] => r.findings.map((f) => `${f.id} ${f.pkg}@${f.version} ${f.status}`);

/** What one case gets: its own work folder, cache dir, TMPDIR and HOME, and the CLI. */
export class CaseContext {
  readonly work: string;
  readonly cacheDir: string;
  readonly tmp: string;
  readonly home: string;
  /** paths (relative to work) a case wrote itself, or may be written by --output */
  private readonly inputs = new Set<string>();
  readonly runs: Run[] = [];

  constructor(name: string) {
    this.work = mkdtempSync(join(tmpdir(), `strata-hostile-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}-`));
    this.cacheDir = join(this.work, 'cache');
    // One TMPDIR for the whole suite; what a run leaves in it is checked per run.
    this.tmp = SUITE_TMP;
    this.home = join(this.work, 'home');
    mkdirSync(this.home);
  }

  path(...parts: string[]): string {
    return join(this.work, ...parts);
  }

  /** Runs `strata <args>` with this case's cache dir and checks the guarantees every run must keep. */
  async strata(args: string[], options: { cacheDir?: string; env?: Record<string, string>; outputs?: string[] } = {}): Promise<Run> {
    for (const output of options.outputs ?? []) this.allow(output);
    const before = listTree(this.work).filter((p) => !this.isAllowed(p, options.cacheDir ?? this.cacheDir));
    const tmpBefore = strataInTmp();
    const suiteTmpBefore = listTree(SUITE_TMP).filter((p) => !p.startsWith('tsx-'));
    const withCache = args[0] === 'image' || args[0] === 'db' || args[0] === 'registry' ? [...args, '--cache-dir', options.cacheDir ?? this.cacheDir] : args;
    const run = await runCli(this.work, withCache, { ...options.env, TMPDIR: this.tmp, HOME: this.home });
    this.runs.push(run);
    const what = `strata ${withCache.map((a) => (a.length > 80 ? `${a.slice(0, 77)}...` : a)).join(' ')}`;
    assert.ok(!run.timedOut, `${what}: still running after ${TIME_LIMIT_MS / 1000} s (killed)\n${tail(run.stderr)}`);
    assert.ok(run.status === 0 || run.status === 1, `${what}: exit ${run.status ?? run.signal} (want 0 or 1)\n${tail(run.stderr)}`);
    assert.doesNotMatch(run.stderr, STACK_FRAME, `${what}: stderr shows a stack trace:\n${tail(run.stderr)}`);
    assert.doesNotMatch(nonWarnings(run.stderr), CRASH, `${what}: stderr shows a crash:\n${tail(run.stderr)}`);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('strata: '));
    assert.ok(errors.length <= 1, `${what}: more than one "strata: " error line:\n${tail(run.stderr)}`);
    if (run.status === 1) assert.ok(run.stderr.trim() !== '', `${what}: exit 1 without a message`);
    assert.ok(run.peakRssKb !== undefined, `${what}: no peak RSS measured`);
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, `${what}: peak RSS ${Math.round(run.peakRssKb / 1024)} MB > ${RSS_LIMIT_KB / 1024} MB`);
    const after = listTree(this.work).filter((p) => !this.isAllowed(p, options.cacheDir ?? this.cacheDir));
    const created = after.filter((p) => !before.includes(p));
    assert.deepEqual(created, [], `${what}: created files outside the cache dir: ${created.join(', ')}`);
    const suiteTmpNew = listTree(SUITE_TMP).filter((p) => !p.startsWith('tsx-') && !suiteTmpBefore.includes(p));
    assert.deepEqual(suiteTmpNew, [], `${what}: left files in TMPDIR: ${suiteTmpNew.slice(0, 10).join(', ')}`);
    const strayTmp = [...strataInTmp()].filter((n) => !tmpBefore.has(n) && !n.startsWith('strata-hostile-'));
    // Other test processes share /tmp, so a new strata-* there is reported, not failed on; the
    // child's own TMPDIR (checked above as part of the work folder) is the hard check.
    if (strayTmp.length > 0) process.stderr.write(`# note: new /tmp entries during ${what}: ${strayTmp.join(', ')}\n`);
    return run;
  }

  /** Marks a path (relative to work, or absolute inside it) as written by the case or the --output target. */
  allow(path: string): string {
    const rel = path.startsWith(this.work) ? relative(this.work, path) : path;
    this.inputs.add(rel);
    return join(this.work, rel);
  }

  private isAllowed(rel: string, cacheDir: string): boolean {
    const cacheRel = relative(this.work, cacheDir);
    if (rel === cacheRel || rel.startsWith(`${cacheRel}/`)) return true;
    if (rel === 'home') return true;
    for (const input of this.inputs) if (rel === input || rel.startsWith(`${input}/`)) return true;
    return false;
  }

  cleanup(): void {
    rmSync(this.work, { recursive: true, force: true });
  }
}

export const tail = (text: string, lines = 15): string => text.split('\n').slice(-lines).join('\n');

export interface HostileCase {
  name: string;
  /** the class of issue 12 (or the added kind) the case belongs to */
  kind: string;
  run: (ctx: CaseContext, honest: HonestScans) => Promise<void>;
  /** set when the input needs many seconds of CPU to build (bombs); the suite still runs it */
  slowBuild?: boolean;
  /** a skip reason when the case needs infrastructure that is missing (throws under STRATA_REQUIRE_INFRA=1) */
  skip?: () => string | false;
  /**
   * Why Strata does not yet hold this case: it runs and is reported as a `todo` (a failure is shown,
   * not counted), so the gap stays visible until it is closed and the field removed.
   */
  knownGap?: string;
}

export interface HonestScans {
  debian: ScanReport;
  alpine: ScanReport;
  /** the honest advisory db folder (shared, read-only) */
  db: string;
  /** the honest Debian image's layers (uncompressed tars) */
  base: Buffer;
  app: Buffer;
}

/** Asserts a scan's JSON report has exactly the honest twin's findings and OS. */
export function assertSameFindings(run: Run, honest: ScanReport, what = 'the honest image'): ScanReport {
  assert.equal(run.status, 0, `the scan failed where ${what} is scanned fine:\n${tail(run.stderr)}`);
  const got = readReport(run.stdout);
  assert.deepEqual(findingKeys(got), findingKeys(honest), `findings differ from ${what}; stderr:\n${tail(run.stderr)}`);
  assert.equal(got.os, honest.os, `OS differs from ${what}`);
  return got;
}

/** Either a refusal with one clear message, or the honest findings: never fewer findings silently. */
export function assertRefusedOrSame(run: Run, honest: ScanReport, refusal: RegExp): void {
  if (run.status === 1) {
    assert.match(run.stderr, refusal);
    return;
  }
  assertSameFindings(run, honest);
}

/** Writes `ref`-less image inputs and scans them: `strata image <target> --db <db> --format json`. */
export function scanJson(ctx: CaseContext, target: string[], db: string, extra: string[] = []): Promise<Run> {
  return ctx.strata(['image', ...target, '--db', db, '--format', 'json', '--no-progress', ...extra]);
}
