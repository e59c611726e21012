import type { Package } from '@strata/model';
import { osPackagePurl } from '../purl.js';
import { contentBuffer } from '../util/stream.js';
import type { Analyzer, AnalyzerOutput } from '../types.js';

const INSTALLED = 'lib/apk/db/installed';
const MAX_WARNINGS_PER_FILE = 20;

export interface ApkParseResult {
  packages: Package[];
  warnings: string[];
}

/** Parses apk's installed database: blank-line-separated records of `X:value` lines. */
export function parseApkInstalled(text: string): ApkParseResult {
  const packages: Package[] = [];
  const warnings: string[] = [];
  let record: Map<string, string> = new Map();
  let recordLine = 1;
  let badLines = 0;
  const flush = (): void => {
    if (record.size === 0) {
      if (badLines > 0) warnings.push(`record at line ${recordLine}: ${badLines} malformed line(s), no fields; ignored`);
      badLines = 0;
      return;
    }
    const name = record.get('P');
    const version = record.get('V');
    const where = name ? `package ${JSON.stringify(name)} (line ${recordLine})` : `record at line ${recordLine}`;
    if (badLines > 0) warnings.push(`${where}: ${badLines} malformed line(s) ignored`);
    if (!name || !version) {
      warnings.push(`${where}: missing ${!name ? 'P: (name)' : 'V: (version)'}; record skipped`);
    } else {
      const pkg: Package = { type: 'apk', name, version, purl: '' };
      const arch = record.get('A');
      if (arch) pkg.arch = arch;
      const origin = record.get('o');
      if (!origin) warnings.push(`${where}: missing o: (origin); using the package name`);
      pkg.srcName = origin || name;
      pkg.srcVersion = version;
      const license = record.get('L');
      if (license) pkg.licenses = [license];
      pkg.purl = osPackagePurl(pkg);
      packages.push(pkg);
    }
    record = new Map();
    badLines = 0;
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (line === '') {
      flush();
      recordLine = i + 2;
      continue;
    }
    if (line.length < 2 || line[1] !== ':') {
      badLines++;
      continue;
    }
    const key = line[0] ?? '';
    // F:/R:/Z:/a:/M: lines repeat per file; only the first of the package-level keys matters.
    if (!record.has(key)) record.set(key, line.slice(2));
  }
  flush();
  return { packages, warnings };
}

export const apkAnalyzer: Analyzer = {
  type: 'apk',
  version: 2,
  required: (path) => path === INSTALLED,
  produces: { kind: 'os', type: 'apk' },
  locations: [INSTALLED],
  async analyze(file, ctx): Promise<AnalyzerOutput> {
    const buf = await contentBuffer(file.content, ctx.limits.maxBufferedFile, file.path);
    const { packages, warnings } = parseApkInstalled(buf.toString('utf8'));
    const shown = warnings.slice(0, MAX_WARNINGS_PER_FILE).map((message) => ({ path: file.path, message }));
    if (warnings.length > MAX_WARNINGS_PER_FILE) {
      shown.push({ path: file.path, message: `${warnings.length - MAX_WARNINGS_PER_FILE} more problems in this file not shown` });
    }
    return { packageSets: [{ path: file.path, analyzer: 'apk', type: 'apk', packages }], warnings: shown };
  },
};
