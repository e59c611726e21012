import type { Package } from '@strata/model';
import { purl } from '../purl.js';
import { contentBuffer } from '../util/stream.js';
import type { Analyzer, AnalyzerOutput } from '../types.js';

/** PEP 503: runs of "-", "_" and "." become one "-", lower-cased. */
export function normalizePythonName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

const METADATA = /(?:^|\/)[^/]+\.dist-info\/METADATA$/;
const PKG_INFO = /(?:^|\/)[^/]+\.egg-info\/PKG-INFO$/;
const EGG_INFO_FILE = /(?:^|\/)[^/]+\.egg-info$/;
const EGG_PKG_INFO = /(?:^|\/)[^/]+\.egg\/EGG-INFO\/PKG-INFO$/;

/** The header block of core metadata (RFC 822 style, ends at the first blank line). */
export function parseCoreMetadata(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let last: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '') break;
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      const values = fields.get(last);
      if (values && values.length > 0) values[values.length - 1] += `\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      last = undefined;
      continue;
    }
    last = line.slice(0, colon).trim().toLowerCase();
    const list = fields.get(last) ?? [];
    list.push(line.slice(colon + 1).trim());
    fields.set(last, list);
  }
  return fields;
}

function pythonLicenses(fields: Map<string, string[]>): string[] | undefined {
  const expr = fields.get('license-expression')?.[0];
  if (expr) return [expr];
  const lic = fields.get('license')?.[0];
  if (lic && lic !== 'UNKNOWN' && !lic.includes('\n') && lic.length <= 100) return [lic];
  const classifiers = (fields.get('classifier') ?? [])
    .filter((c) => c.startsWith('License :: '))
    .map((c) => c.split(' :: ').pop() ?? c);
  return classifiers.length > 0 ? classifiers : undefined;
}

export const pythonAnalyzer: Analyzer = {
  type: 'python-pkg',
  version: 1,
  required: (path) => METADATA.test(path) || PKG_INFO.test(path) || EGG_INFO_FILE.test(path) || EGG_PKG_INFO.test(path),
  maxSize: () => 16 * 1024 * 1024,
  produces: { kind: 'application', type: 'pypi' },
  async analyze(file, ctx): Promise<AnalyzerOutput | undefined> {
    const buf = await contentBuffer(file.content, ctx.limits.maxBufferedFile, file.path);
    const fields = parseCoreMetadata(buf.toString('utf8'));
    const rawName = fields.get('name')?.[0];
    const version = fields.get('version')?.[0];
    if (!rawName || !version) {
      return {
        warnings: [{ path: file.path, message: `Python metadata without ${!rawName ? 'Name' : 'Version'}` }],
        applications: [{ path: file.path, analyzer: 'python-pkg', type: 'pypi', packages: [] }],
      };
    }
    const name = normalizePythonName(rawName);
    const pkg: Package = { type: 'pypi', name, version, purl: purl('pypi', undefined, name, version), filePath: file.path };
    const lic = pythonLicenses(fields);
    if (lic) pkg.licenses = lic;
    return { applications: [{ path: file.path, analyzer: 'python-pkg', type: 'pypi', packages: [pkg] }] };
  },
};
