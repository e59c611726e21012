import type { Package } from '@strata/model';
import { osPackagePurl } from '../purl.js';
import { forEachLine, forEachLineOfText } from '../util/lines.js';
import type { Analyzer, AnalyzerOutput } from '../types.js';

const INSTALLED = 'lib/apk/db/installed';
const MAX_WARNINGS_PER_FILE = 20;

export interface ApkParseResult {
  packages: Package[];
  /** the first problems found (MAX_WARNINGS_PER_FILE); `moreWarnings` counts the rest */
  warnings: string[];
  moreWarnings: number;
}

/**
 * Parses apk's installed database fed line by line: blank-line-separated records of `X:value`
 * lines. Only the first value of each key is kept (F:/R:/Z: repeat per file), so one record costs at
 * most ~60 bounded lines. Past `maxPackages` packages, the rest are counted, not kept.
 */
export class ApkInstalledParser {
  private readonly packages: Package[] = [];
  private readonly warnings: string[] = [];
  private moreWarnings = 0;
  private dropped = 0;
  private record = new Map<string, string>();
  private recordLine = 1;
  private lineNo = 0;
  private badLines = 0;

  constructor(private readonly maxPackages = Number.MAX_SAFE_INTEGER) {}

  line(raw: string, cut: boolean): void {
    const i = this.lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') {
      this.flush();
      this.recordLine = i + 2;
      return;
    }
    if (line.length < 2 || line[1] !== ':' || cut) {
      this.badLines++;
      return;
    }
    const key = line[0] ?? '';
    // F:/R:/Z:/a:/M: lines repeat per file; only the first of the package-level keys matters.
    if (!this.record.has(key)) this.record.set(key, line.slice(2));
  }

  finish(): ApkParseResult {
    this.flush();
    if (this.dropped > 0) this.warnings.unshift(`more than ${this.maxPackages} packages (maxPackagesPerDatabase); ${this.dropped} more are NOT in this report`);
    return { packages: this.packages, warnings: this.warnings, moreWarnings: this.moreWarnings };
  }

  private warn(message: string): void {
    if (this.warnings.length < MAX_WARNINGS_PER_FILE) this.warnings.push(message);
    else this.moreWarnings++;
  }

  private flush(): void {
    const record = this.record;
    const recordLine = this.recordLine;
    if (record.size === 0) {
      if (this.badLines > 0) this.warn(`record at line ${recordLine}: ${this.badLines} malformed line(s), no fields; ignored`);
      this.badLines = 0;
      return;
    }
    const name = record.get('P');
    const version = record.get('V');
    const where = name ? `package ${JSON.stringify(name)} (line ${recordLine})` : `record at line ${recordLine}`;
    if (this.badLines > 0) this.warn(`${where}: ${this.badLines} malformed or overlong line(s) ignored`);
    if (!name || !version) {
      this.warn(`${where}: missing ${!name ? 'P: (name)' : 'V: (version)'}; record skipped`);
    } else if (this.packages.length >= this.maxPackages) {
      this.dropped++;
    } else {
      const pkg: Package = { type: 'apk', name, version, purl: '' };
      const arch = record.get('A');
      if (arch) pkg.arch = arch;
      const origin = record.get('o');
      if (!origin) this.warn(`${where}: missing o: (origin); using the package name`);
      pkg.srcName = origin || name;
      pkg.srcVersion = version;
      const license = record.get('L');
      if (license) pkg.licenses = [license];
      pkg.purl = osPackagePurl(pkg);
      this.packages.push(pkg);
    }
    this.record = new Map();
    this.badLines = 0;
  }
}

/** Parses a whole apk installed database text (see ApkInstalledParser). */
export function parseApkInstalled(text: string, maxPackages?: number): ApkParseResult {
  const parser = new ApkInstalledParser(maxPackages);
  forEachLineOfText(text, (line, cut) => parser.line(line, cut));
  return parser.finish();
}

export const apkAnalyzer: Analyzer = {
  type: 'apk',
  version: 2,
  required: (path) => path === INSTALLED,
  produces: { kind: 'os', type: 'apk' },
  locations: [INSTALLED],
  // parsed as a stream, one bounded line and one record's first values at a time
  input: 'stream',
  async analyze(file, ctx): Promise<AnalyzerOutput> {
    const parser = new ApkInstalledParser(ctx.limits.maxPackagesPerDatabase);
    await forEachLine(file.content, (line, cut) => parser.line(line, cut));
    const { packages, warnings, moreWarnings } = parser.finish();
    const shown = warnings.map((message) => ({ path: file.path, message }));
    if (moreWarnings > 0) shown.push({ path: file.path, message: `${moreWarnings} more problems in this file not shown` });
    return { packageSets: [{ path: file.path, analyzer: 'apk', type: 'apk', packages }], warnings: shown };
  },
};
