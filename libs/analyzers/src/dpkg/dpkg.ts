import type { Package, PackageSet } from '@strata/model';
import { osPackagePurl } from '../purl.js';
import { contentBuffer } from '../util/stream.js';
import type { Analyzer, AnalyzerOutput, AnalyzerWarningOut } from '../types.js';
import { parseControl } from './control.js';

const STATUS = 'var/lib/dpkg/status';
const STATUS_D = /^var\/lib\/dpkg\/status\.d\/[^/]+$/;
const MAX_WARNINGS_PER_FILE = 20;

/**
 * dpkg package states whose files are on disk. `config-files`, `half-installed` and `not-installed`
 * packages are not reported (dpkg-query -W would still list the first two).
 */
export const DPKG_INSTALLED_STATES: ReadonlySet<string> = new Set([
  'installed',
  'half-configured',
  'unpacked',
  'triggers-awaited',
  'triggers-pending',
]);

/** A dpkg version as dpkg-query prints it: a zero epoch is dropped unless the rest has a colon. */
export function dpkgDisplayVersion(raw: string): { version: string; epoch?: number } {
  const v = raw.trim();
  const m = /^(\d+):(.*)$/.exec(v);
  if (!m) return { version: v };
  const epoch = Number(m[1]);
  const rest = m[2] ?? '';
  if (epoch === 0 && !rest.includes(':')) return { version: rest };
  return epoch === 0 ? { version: v } : { version: v, epoch };
}

/** `Source: name (version)` → name and optional version, cut the way dpkg-query cuts them. */
export function parseSourceField(value: string): { name: string; version?: string } {
  const v = value.trim();
  const name = v.split(' ')[0] ?? '';
  const open = v.indexOf('(');
  if (open < 0) return { name };
  const rest = v.slice(open + 1);
  const close = rest.indexOf(')');
  return { name, version: close < 0 ? rest : rest.slice(0, close) };
}

export interface DpkgParseResult {
  packages: Package[];
  warnings: string[];
}

/**
 * Parses a dpkg status file (or one status.d entry). `defaultInstalled`: status.d entries written by
 * distroless have no Status field and are installed by construction.
 */
export function parseDpkgStatus(text: string, defaultInstalled: boolean): DpkgParseResult {
  const packages: Package[] = [];
  const warnings: string[] = [];
  for (const stanza of parseControl(text)) {
    const f = stanza.fields;
    const name = f.get('package');
    const where = name ? `package ${JSON.stringify(name)} (line ${stanza.line})` : `stanza at line ${stanza.line}`;
    if (stanza.problems.length > 0) warnings.push(`${where}: ${stanza.problems.slice(0, 3).join('; ')}`);
    if (/[\u0000\ufffd]/.test([...f.values()].join('') + [...f.keys()].join(''))) {
      warnings.push(`${where}: binary or non-UTF-8 data; stanza skipped`);
      continue;
    }
    if (!name) {
      warnings.push(`${where}: no Package field; stanza skipped`);
      continue;
    }
    const status = f.get('status');
    if (status === undefined) {
      if (!defaultInstalled) {
        warnings.push(`${where}: no Status field (truncated stanza?); skipped`);
        continue;
      }
    } else {
      const words = status.split(/\s+/);
      if (words.length !== 3) {
        warnings.push(`${where}: malformed Status ${JSON.stringify(status)}; skipped`);
        continue;
      }
      if (!DPKG_INSTALLED_STATES.has(words[2] ?? '')) continue;
    }
    const rawVersion = f.get('version');
    if (!rawVersion) {
      warnings.push(`${where}: no Version field (truncated stanza?); skipped`);
      continue;
    }
    const { version, epoch } = dpkgDisplayVersion(rawVersion);
    const pkg: Package = { type: 'dpkg', name, version, purl: '' };
    if (epoch !== undefined) pkg.epoch = epoch;
    const arch = f.get('architecture');
    if (arch) pkg.arch = arch;
    const source = f.get('source');
    const src = source ? parseSourceField(source) : { name };
    pkg.srcName = src.name || name;
    if (src.version !== undefined) {
      pkg.srcVersion = src.version;
      const srcEpoch = dpkgDisplayVersion(src.version).epoch;
      if (srcEpoch !== undefined) pkg.srcEpoch = srcEpoch;
    } else {
      pkg.srcVersion = version;
      if (epoch !== undefined) pkg.srcEpoch = epoch;
    }
    pkg.purl = osPackagePurl(pkg);
    packages.push(pkg);
  }
  return { packages, warnings };
}

export const dpkgAnalyzer: Analyzer = {
  type: 'dpkg',
  version: 1,
  required: (path) => path === STATUS || (STATUS_D.test(path) && !path.endsWith('.md5sums')),
  produces: { kind: 'os', type: 'dpkg' },
  locations: [STATUS, 'var/lib/dpkg/status.d'],
  async analyze(file, ctx): Promise<AnalyzerOutput> {
    const buf = await contentBuffer(file.content, ctx.limits.maxBufferedFile, file.path);
    const { packages, warnings } = parseDpkgStatus(buf.toString('utf8'), file.path !== STATUS);
    const set: PackageSet = { path: file.path, analyzer: 'dpkg', type: 'dpkg', packages };
    const out: AnalyzerWarningOut[] = warnings.slice(0, MAX_WARNINGS_PER_FILE).map((message) => ({ path: file.path, message }));
    if (warnings.length > MAX_WARNINGS_PER_FILE) {
      out.push({ path: file.path, message: `${warnings.length - MAX_WARNINGS_PER_FILE} more problems in this file not shown` });
    }
    return { packageSets: [set], warnings: out };
  },
};
