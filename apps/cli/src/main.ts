// strata: the command-line entry point. Embedded by default: the whole pipeline runs in this process.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { advisoryLimitsFromEnv, DEFAULT_OSV_BASE_URL, DEFAULT_UPDATE_ECOSYSTEMS, updateDatabase } from '@strata/advisories';
import { eolWarning, filterFindings } from '@strata/matcher';
import { scanImage, type ScanOptions } from '@strata/pipeline';
import { REPORT_FORMATS, renderReportChunks, type ReportFormat } from '@strata/report';
import { describeError } from '@strata/errors';
import { layerProgress } from './progress.js';
import { advisoryDir, findingFilter, scanAdvisoryDir } from './scan-flags.js';
import type { RegistryFlags } from './registry.js';

// A scan makes a few short-lived objects per package. Under that load V8 doubles its young generation
// up to 3 × 32 MiB, which then stays resident: a third of the 300 MB a scan of 150,000 packages may
// use (docs/security.md). Kept at its starting size, the young generation costs a few more (cheap)
// collections and about 100 MB less peak RSS. V8 reads this flag each time it would grow.
setFlagsFromString('--semi-space-growth-factor=1');

const defaultCacheDir = (): string => process.env.STRATA_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'strata');

/**
 * The version in the repository's package.json: the nearest package.json named "strata" above this
 * module (main.ts, bin/ and the bundles all sit below the repository root, at different depths).
 */
function strataVersion(): string {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'strata') return pkg.version ?? 'unknown';
    } catch {
      // no package.json at this level: keep climbing
    }
    if (new URL('../', dir).href === dir.href) return 'unknown';
  }
}

const integer = (value: string): number => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
};

interface ImageFlags {
  input?: string;
  format: ReportFormat;
  output?: string;
  severity?: string;
  ignoreUnfixed?: boolean;
  ignorefile?: string;
  exitCode: number;
  platform?: string;
  username?: string;
  password?: string;
  insecure?: boolean;
  cacheDir: string;
  db?: string;
  progress: boolean;
  debug?: boolean;
  server?: string;
  token?: string;
  serverCa?: string;
}

function writeReport(text: string, output: string | undefined): void {
  if (output !== undefined) writeFileSync(output, text);
  else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Bytes gathered before one write: a report of any size is written without ever being one string. */
const WRITE_BATCH = 32 * 1024;

/** Writes report pieces in batches to the output file or stdout (waiting for stdout to drain); ends with a newline. */
async function writeReportChunks(chunks: Iterable<string>, output: string | undefined): Promise<void> {
  const file = output !== undefined ? await open(output, 'w') : undefined;
  const write = async (text: string): Promise<void> => {
    if (file) await file.write(text);
    else if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  };
  try {
    let batch = '';
    let last = '';
    for (const chunk of chunks) {
      if (chunk === '') continue;
      batch += chunk;
      last = chunk;
      if (batch.length >= WRITE_BATCH) {
        await write(batch);
        batch = '';
      }
    }
    if (file === undefined && !last.endsWith('\n')) batch += '\n';
    if (batch !== '') await write(batch);
  } finally {
    await file?.close();
  }
}

/** `--input dir:tag` where dir is an OCI layout: the tag belongs in an oci: reference. */
function checkInput(input: string): void {
  if (existsSync(input)) return;
  const tagged = /^(.+):([^/:]+)$/.exec(input);
  if (tagged && existsSync(tagged[1] as string)) {
    throw new InvalidArgumentError(
      `--input ${input} does not exist; to pick a tag from an OCI layout, give it as the reference: strata image oci:${tagged[1]}:${tagged[2]}`,
    );
  }
}

async function runImage(reference: string | undefined, flags: ImageFlags, command: Command): Promise<number> {
  const target = flags.input ?? reference;
  if (!target) throw new InvalidArgumentError('give an image reference, or --input <path>');
  const cacheDir = resolve(flags.cacheDir);
  const filter = findingFilter(flags);

  if (flags.server) {
    const server = command.getOptionValueSource('server') === 'env' ? 'STRATA_SERVER' : '--server';
    if (flags.db !== undefined) {
      throw new InvalidArgumentError(
        `--db cannot be used with ${server}: the gateway matches with its own advisory DB (each report names it); drop --db, or scan without ${server}`,
      );
    }
    if (flags.input) throw new InvalidArgumentError('--input reads local files: scan them without --server');
    const { scanThroughServer } = await import('./server-client.js');
    const scanned = await scanThroughServer({
      server: flags.server,
      reference: target,
      format: flags.format,
      filter,
      ...(flags.token ? { token: flags.token } : {}),
      ...(flags.serverCa ? { caFile: flags.serverCa } : {}),
      ...(flags.platform ? { platform: flags.platform } : {}),
      // The id on stderr lets a user whose client dies too fetch the result with `strata report`.
      ...(flags.progress ? { onSubmitted: (scanId: string) => process.stderr.write(`scan ${scanId} accepted by ${flags.server}\n`) } : {}),
      onNotice: (message: string) => process.stderr.write(`${message}\n`),
    });
    writeReport(scanned.text, flags.output);
    return scanned.findings > 0 ? flags.exitCode : 0;
  }

  if (flags.input) checkInput(flags.input);
  const dbDir = scanAdvisoryDir(flags);
  const progress = flags.progress ? layerProgress(process.stderr) : undefined;
  const options: ScanOptions = { cacheDir, dbDir, advisoryLimits: advisoryLimitsFromEnv(process.env) };
  if (flags.input) options.input = true;
  if (flags.platform) options.platform = flags.platform;
  if (flags.username !== undefined) options.username = flags.username;
  if (flags.password !== undefined) options.password = flags.password;
  if (flags.insecure) options.insecure = true;
  if (progress) options.onProgress = progress.onLayer;
  const peakMb = (): string => `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`;
  if (flags.debug) options.onPhase = (phase, ms) => process.stderr.write(`debug: ${phase} ${ms.toFixed(1)} ms, ${peakMb()}\n`);

  let result;
  try {
    result = await scanImage(target, options);
  } finally {
    progress?.finish();
  }
  for (const warning of result.warnings) {
    process.stderr.write(
      `WARN ${warning.analyzer}: ${warning.path ? `${warning.path}: ` : ''}${warning.message}${warning.layer ? ` (${warning.layer})` : ''}\n`,
    );
  }
  const eol = result.inventory.os ? eolWarning(result.inventory.os) : undefined;
  if (eol) process.stderr.write(`WARN ${eol}\n`);
  const findings = filterFindings(result.findings, filter);
  const toFile = flags.output !== undefined;
  const chunks = renderReportChunks({ ...result, findings }, flags.format, { color: !toFile && process.stdout.isTTY === true, toolVersion: strataVersion() });
  await writeReportChunks(chunks, flags.output);
  if (flags.debug) process.stderr.write(`debug: report written, ${peakMb()}\n`);
  return findings.length > 0 ? flags.exitCode : 0;
}

async function runDbUpdate(flags: { db?: string; cacheDir: string; ecosystem?: string; baseUrl: string }): Promise<number> {
  const dbDir = advisoryDir(flags);
  const ecosystems = flags.ecosystem
    ? flags.ecosystem
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)
    : DEFAULT_UPDATE_ECOSYSTEMS;
  const result = await updateDatabase({
    dbDir,
    cacheDir: resolve(flags.cacheDir),
    baseUrl: flags.baseUrl,
    ecosystems,
    limits: advisoryLimitsFromEnv(process.env),
    onProgress: (p) => {
      if (p.phase === 'done') process.stderr.write(`${p.ecosystem}: ${p.records ?? 0} records (${(p.receivedBytes / 1e6).toFixed(1)} MB)\n`);
      else if (p.phase === 'failed') process.stderr.write(`${p.ecosystem}: FAILED: ${p.error}\n`);
      else if (p.phase === 'download' && process.stderr.isTTY) {
        const total = p.totalBytes ? `/${(p.totalBytes / 1e6).toFixed(1)}` : '';
        process.stderr.write(`\r\x1b[2K${p.ecosystem}: ${(p.receivedBytes / 1e6).toFixed(1)}${total} MB`);
      }
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  for (const r of result.results) for (const warning of r.warnings ?? []) process.stderr.write(`WARN ${r.ecosystem}/all.zip: ${warning}\n`);
  if (result.unreachable) {
    const { host, reason } = result.unreachable;
    const notUpdated = result.updated.length === 0 ? 'nothing was downloaded' : `${result.failed.length} of ${result.results.length} ecosystems not updated`;
    process.stderr.write(`cannot reach ${host} (${reason}): ${notUpdated}\n`);
  }
  const kept = result.failed.length > 0 && result.previousDbVersion ? '; the failed ones keep their previous data' : '';
  process.stderr.write(`advisory db ${dbDir}: ${result.updated.length} updated, ${result.failed.length} failed${kept}\n`);
  if (result.dbVersion) {
    const { diff } = result;
    const changes = diff
      ? `: ${diff.added.length} added, ${diff.changed.length} changed, ${diff.withdrawn.length} withdrawn since ${diff.fromVersion}`
      : ' (first import)';
    process.stderr.write(`advisory db version ${result.dbVersion}${changes}\n`);
  } else {
    process.stderr.write(
      `advisory db ${dbDir} holds no advisory data yet: scans need some${result.unreachable ? `; run "strata db update" again once ${result.unreachable.host} can be reached` : ''}\n`,
    );
  }
  return result.failed.length > 0 ? 1 : 0;
}

/** Set once Commander printed a usage error itself. */
let usageErrorPrinted = false;
/** What Commander throws after it printed help or the version: nothing more to say. */
const QUIET_EXITS = new Set(['commander.help', 'commander.helpDisplayed', 'commander.version']);

export function buildProgram(): Command {
  // Usage errors are one line (no help dump) and exit 2; exitOverride lets main() pick the code.
  const program = new Command('strata')
    .description('Find known vulnerabilities in container images')
    .version(strataVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => {
        usageErrorPrinted = true;
        write(text.replace(/^error: /, 'strata: '));
      },
    });
  const cacheOption = () => new Option('--cache-dir <dir>', 'layer cache, blob folder and advisory index').default(defaultCacheDir());

  program
    .command('image')
    .description('scan a container image: registry reference, oci:<dir>[:tag], docker-archive:<file.tar>')
    .argument('[reference]', 'image reference')
    .option('--input <path>', 'an OCI layout folder or `docker save` tar (detected)')
    .addOption(new Option('-f, --format <format>', 'report format').choices(REPORT_FORMATS).default('table'))
    .option('-o, --output <file>', 'write the report to a file')
    .option('-s, --severity <list>', 'only these severities, e.g. HIGH,CRITICAL')
    .option('--ignore-unfixed', 'only vulnerabilities with a fix')
    .option('--ignorefile <file>', '.trivyignore-style file of IDs to ignore (default ./.trivyignore)')
    .option('--exit-code <n>', 'exit code when vulnerabilities remain after filtering', integer, 0)
    .option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform image (default linux/amd64)')
    .option('--username <user>', 'registry user (or STRATA_USERNAME)')
    .option('--password <password>', 'registry password (or STRATA_PASSWORD)')
    .option('--insecure', 'plain HTTP for a registry not on loopback')
    .addOption(cacheOption())
    .option('--db <dir>', 'OSV advisory folder (or STRATA_DB; default <cache-dir>/db)')
    .option('--no-progress', 'no progress display on stderr')
    .option('--debug', 'print phase timings on stderr')
    .addOption(new Option('--server <host:port>', 'scan through a Strata gateway (the distributed pipeline) instead of in this process').env('STRATA_SERVER'))
    .addOption(new Option('--token <token>', 'bearer token of the gateway').env('STRATA_TOKEN'))
    .addOption(new Option('--server-ca <file>', 'PEM CA certificate of a TLS gateway').env('STRATA_SERVER_CA'))
    .action(async (reference: string | undefined, flags: ImageFlags, command: Command) => {
      process.exitCode = await runImage(reference, flags, command);
    });

  const collect = (value: string, previous: string[]) => [...previous, value];
  program
    .command('registry')
    .description('scan every image of a registry (each platform of a multi-platform image), embedded: one summary row per image')
    .argument('<host>', 'registry host[:port]')
    .option('--repo <glob>', 'repositories to scan (repeatable; * within a path segment, ** across)', collect, [])
    .option('--exclude <glob>', 'repositories to leave out (repeatable)', collect, [])
    .addOption(new Option('-f, --format <format>', 'summary format').choices(['table', 'json']).default('table'))
    .option('-o, --output <file>', 'write the summary to a file')
    .option('-s, --severity <list>', 'only these severities, e.g. HIGH,CRITICAL')
    .option('--ignore-unfixed', 'only vulnerabilities with a fix')
    .option('--ignorefile <file>', '.trivyignore-style file of IDs to ignore (default ./.trivyignore)')
    .option('--exit-code <n>', 'exit code when vulnerabilities remain after filtering', integer, 0)
    .option('--username <user>', 'registry user (or STRATA_USERNAME)')
    .option('--password <password>', 'registry password (or STRATA_PASSWORD)')
    .option('--insecure', 'plain HTTP for a registry not on loopback')
    .option('--requests-per-second <n>', 'rate limit of registry requests (0: none)', integer, 10)
    .addOption(cacheOption())
    .option('--db <dir>', 'OSV advisory folder (or STRATA_DB; default <cache-dir>/db)')
    .action(async (host: string, flags: RegistryFlags) => {
      const { runRegistry } = await import('./registry.js');
      process.exitCode = await runRegistry(host, flags, (text) => writeReport(text, flags.output));
    });

  program
    .command('affected')
    .description('ask a Strata gateway which images an advisory hits now, or which hold a package (nothing is scanned)')
    .argument('[advisory-id]', 'CVE, GHSA or other OSV id')
    .option('--package <ecosystem/name>', 'images holding a package instead, e.g. npm/lodash, debian:12/openssl, pypi/jinja2')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .addOption(new Option('--server <host:port>', 'the Strata gateway').env('STRATA_SERVER').makeOptionMandatory())
    .addOption(new Option('--token <token>', 'bearer token of the gateway').env('STRATA_TOKEN'))
    .addOption(new Option('--server-ca <file>', 'PEM CA certificate of a TLS gateway').env('STRATA_SERVER_CA'))
    .action(
      async (advisoryId: string | undefined, flags: { package?: string; format: 'table' | 'json'; server: string; token?: string; serverCa?: string }) => {
        if ((advisoryId === undefined) === (flags.package === undefined))
          throw new InvalidArgumentError('give an advisory id, or --package <ecosystem>/<name>');
        const { listAffected, parsePackageQuery, renderAffected } = await import('./affected.js');
        const query = flags.package !== undefined ? parsePackageQuery(flags.package) : { advisoryId: advisoryId as string };
        const response = await listAffected(
          { server: flags.server, ...(flags.token ? { token: flags.token } : {}), ...(flags.serverCa ? { caFile: flags.serverCa } : {}) },
          query,
        );
        process.stdout.write(renderAffected(response, flags.format));
      },
    );

  program
    .command('report')
    .description('the report of a scan the gateway accepted (by scan id), or the newest report of an image (by manifest digest)')
    .argument('<scan-id|digest>', 'a scan id, or a manifest digest sha256:<64 hex>')
    .addOption(new Option('-f, --format <format>', 'report format').choices(REPORT_FORMATS).default('table'))
    .option('-o, --output <file>', 'write the report to a file')
    .option('--wait <seconds>', 'wait this long for a running scan to finish (0: print its state and exit 3)', integer, 0)
    .addOption(new Option('--server <host:port>', 'the Strata gateway').env('STRATA_SERVER').makeOptionMandatory())
    .addOption(new Option('--token <token>', 'bearer token of the gateway').env('STRATA_TOKEN'))
    .addOption(new Option('--server-ca <file>', 'PEM CA certificate of a TLS gateway').env('STRATA_SERVER_CA'))
    .action(async (target: string, flags: { format: ReportFormat; output?: string; wait: number; server: string; token?: string; serverCa?: string }) => {
      const { runReport } = await import('./report.js');
      const outcome = await runReport(target, {
        server: flags.server,
        format: flags.format,
        wait: flags.wait,
        ...(flags.token ? { token: flags.token } : {}),
        ...(flags.serverCa ? { caFile: flags.serverCa } : {}),
      });
      if (outcome.message) process.stderr.write(`strata: ${outcome.message}\n`);
      if (outcome.text !== undefined) writeReport(outcome.text, flags.output);
      process.exitCode = outcome.code;
    });

  const db = program.command('db').description('manage the advisory database');
  db.command('update')
    .description('download OSV all.zip dumps for the configured ecosystems into the db folder')
    .option('--db <dir>', 'OSV advisory folder (or STRATA_DB; default <cache-dir>/db)')
    .addOption(cacheOption())
    .option('--ecosystem <list>', `comma-separated OSV ecosystems (default ${DEFAULT_UPDATE_ECOSYSTEMS.join(',')})`)
    .option('--base-url <url>', 'where the dumps are served', process.env.STRATA_OSV_BASE_URL ?? DEFAULT_OSV_BASE_URL)
    .action(async (flags: { db?: string; cacheDir: string; ecosystem?: string; baseUrl: string }) => {
      process.exitCode = await runDbUpdate(flags);
    });
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // A usage error (bad flag, InvalidArgumentError from an action): one line, exit 2. Commander
    // printed its own already, and help or the version needs nothing more.
    if (!usageErrorPrinted && !QUIET_EXITS.has(error.code)) process.stderr.write(`strata: ${error.message}\n`);
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`strata: ${describeError(error)}\n`);
    if (process.env.STRATA_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  }
}
