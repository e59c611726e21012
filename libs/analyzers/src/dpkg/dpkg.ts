import type { Package, PackageSet } from '@strata/model';
import { osPackagePurl } from '../purl.js';
import { forEachLine, forEachLineOfText, MAX_LINE_BYTES } from '../util/lines.js';
import type { Analyzer, AnalyzerOutput, AnalyzerWarningOut } from '../types.js';
import { ControlParser } from './control.js';
import type { Stanza } from './control.js';

const STATUS = 'var/lib/dpkg/status';
const STATUS_D = /^var\/lib\/dpkg\/status\.d\/[^/]+$/;
const MAX_WARNINGS_PER_FILE = 20;

/**
 * dpkg package states whose files are on disk. `config-files`, `half-installed` and `not-installed`
 * packages are not reported (dpkg-query -W would still list the first two).
 */
export const DPKG_INSTALLED_STATES: ReadonlySet<string> = new Set(['installed', 'half-configured', 'unpacked', 'triggers-awaited', 'triggers-pending']);

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

/** Names a stanza in a warning (built only for one: most stanzas have none). */
const where = (name: string | undefined, stanza: Stanza): string =>
  name ? `package ${JSON.stringify(name)} (line ${stanza.line})` : `stanza at line ${stanza.line}`;

/** The Status of nearly every package, split once. */
const INSTALLED_WORDS: readonly string[] = ['install', 'ok', 'installed'];

const hasBinary = (fields: ReadonlyMap<string, string>): boolean => {
  for (const value of fields.values()) if (value.includes('\u0000') || value.includes('\ufffd')) return true;
  return false;
};

export interface DpkgParseResult {
  packages: Package[];
  /** the first problems found (MAX_WARNINGS_PER_FILE); `moreWarnings` counts the rest */
  warnings: string[];
  moreWarnings: number;
}

/** The only fields the parser stores; every other field is checked for form, then dropped. */
const KEPT_FIELDS: ReadonlySet<string> = new Set(['package', 'status', 'version', 'architecture', 'source']);

/**
 * Parses a dpkg status file (or one status.d entry) fed line by line, keeping one stanza's few
 * fields in memory. `defaultInstalled`: status.d entries written by distroless have no Status field
 * and are installed by construction. Past `maxPackages` packages, the rest are counted, not kept.
 */
export class DpkgStatusParser {
  private readonly packages: Package[] = [];
  private readonly warnings: string[] = [];
  private moreWarnings = 0;
  private dropped = 0;
  private readonly control: ControlParser;

  constructor(
    private readonly defaultInstalled: boolean,
    private readonly maxPackages = Number.MAX_SAFE_INTEGER,
  ) {
    this.control = new ControlParser((stanza) => this.stanza(stanza), KEPT_FIELDS);
  }

  line(line: string, cut: boolean): void {
    this.control.line(line, cut);
  }

  /** A whole line still in its buffer (see ByteLineSink): most are taken without decoding. */
  lineBytes(buf: Buffer, start: number, end: number): void {
    this.control.lineBytes(buf, start, end);
  }

  finish(): DpkgParseResult {
    this.control.end();
    if (this.dropped > 0) {
      this.warnings.unshift(`more than ${this.maxPackages} installed packages (maxPackagesPerDatabase); ${this.dropped} more are NOT in this report`);
    }
    return { packages: this.packages, warnings: this.warnings, moreWarnings: this.moreWarnings };
  }

  private warn(message: string): void {
    if (this.warnings.length < MAX_WARNINGS_PER_FILE) this.warnings.push(message);
    else this.moreWarnings++;
  }

  private stanza(stanza: Stanza): void {
    const f = stanza.fields;
    const name = f.get('package');
    if (stanza.problemCount > 0) {
      const more = stanza.problemCount > stanza.problems.length ? ` (${stanza.problemCount - stanza.problems.length} more)` : '';
      this.warn(`${where(name, stanza)}: ${stanza.problems.join('; ')}${more}`);
    }
    // (field names are printable ASCII: only the values can hold these)
    if (hasBinary(f)) {
      this.warn(`${where(name, stanza)}: binary or non-UTF-8 data; stanza skipped`);
      return;
    }
    if (!name) {
      this.warn(`${where(name, stanza)}: no Package field; stanza skipped`);
      return;
    }
    const status = f.get('status');
    if (status === undefined) {
      if (!this.defaultInstalled) {
        this.warn(`${where(name, stanza)}: no Status field (truncated stanza?); skipped`);
        return;
      }
    } else {
      const words = status === 'install ok installed' ? INSTALLED_WORDS : status.split(/\s+/);
      if (words.length !== 3) {
        this.warn(`${where(name, stanza)}: malformed Status ${JSON.stringify(status)}; skipped`);
        return;
      }
      if (!DPKG_INSTALLED_STATES.has(words[2] ?? '')) return;
    }
    const rawVersion = f.get('version');
    if (!rawVersion) {
      this.warn(`${where(name, stanza)}: no Version field (truncated stanza?); skipped`);
      return;
    }
    if (this.packages.length >= this.maxPackages) {
      this.dropped++;
      return;
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
    this.packages.push(pkg);
  }
}

/** Parses a whole dpkg status text (see DpkgStatusParser). */
export function parseDpkgStatus(text: string, defaultInstalled: boolean, maxPackages?: number): DpkgParseResult {
  const parser = new DpkgStatusParser(defaultInstalled, maxPackages);
  forEachLineOfText(text, (line, cut) => parser.line(line, cut));
  return parser.finish();
}

export const dpkgAnalyzer: Analyzer = {
  type: 'dpkg',
  version: 2,
  required: (path) => path === STATUS || (STATUS_D.test(path) && !path.endsWith('.md5sums')),
  produces: { kind: 'os', type: 'dpkg' },
  locations: [STATUS, 'var/lib/dpkg/status.d'],
  // parsed as a stream, one bounded line and one stanza's few fields at a time
  input: 'stream',
  async analyze(file, ctx): Promise<AnalyzerOutput> {
    const parser = new DpkgStatusParser(file.path !== STATUS, ctx.limits.maxPackagesPerDatabase);
    await forEachLine(
      file.content,
      (line, cut) => parser.line(line, cut),
      MAX_LINE_BYTES,
      (buf, start, end) => parser.lineBytes(buf, start, end),
    );
    const { packages, warnings, moreWarnings } = parser.finish();
    const set: PackageSet = { path: file.path, analyzer: 'dpkg', type: 'dpkg', packages };
    const out: AnalyzerWarningOut[] = warnings.map((message) => ({ path: file.path, message }));
    if (moreWarnings > 0) out.push({ path: file.path, message: `${moreWarnings} more problems in this file not shown` });
    return { packageSets: [set], warnings: out };
  },
};
