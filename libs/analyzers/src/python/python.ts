import type { Package } from '@strata/model';
import { purl } from '../purl.js';
import { forEachLineOfText, headerField } from '../util/lines.js';
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

/** Longest value kept for one metadata field (continuation lines included); the rest is dropped with a problem noted. */
export const MAX_METADATA_FIELD_CHARS = 64 * 1024;
/** Values kept per repeated field (Classifier, Requires-Dist, …); the rest are dropped with a problem noted. */
export const MAX_METADATA_FIELD_VALUES = 4096;

/**
 * The header block of core metadata (RFC 822 style, ends at the first blank line), bounded: each
 * value and each field's number of values has a limit; what goes past it is dropped and noted in `problems`.
 */
export function parseCoreMetadata(text: string, problems: string[] = []): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let last: string | undefined;
  let ended = false;
  const cutFields = new Set<string>();
  const note = (field: string, what: string): void => {
    if (cutFields.has(field)) return;
    cutFields.add(field);
    problems.push(`field ${field}: ${what}; the rest was dropped`);
  };
  forEachLineOfText(
    text,
    (line, cut) => {
      if (ended) return;
      if (line === '') {
        ended = true;
        return;
      }
      if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
        const values = fields.get(last);
        if (!values || values.length === 0) return;
        const value = values[values.length - 1]!;
        if (cut || value.length + line.length > MAX_METADATA_FIELD_CHARS) note(last, `longer than ${MAX_METADATA_FIELD_CHARS} characters`);
        else values[values.length - 1] = `${value}\n${line.trim()}`;
        return;
      }
      const field = headerField(line);
      last = field?.name;
      if (!field) return;
      const list = fields.get(field.name) ?? [];
      if (list.length >= MAX_METADATA_FIELD_VALUES) {
        note(field.name, `more than ${MAX_METADATA_FIELD_VALUES} values`);
        return;
      }
      if (cut) note(field.name, `longer than ${MAX_METADATA_FIELD_CHARS} characters`);
      list.push(field.value);
      fields.set(field.name, list);
    },
    MAX_METADATA_FIELD_CHARS,
  );
  return fields;
}

function pythonLicenses(fields: Map<string, string[]>): string[] | undefined {
  const expr = fields.get('license-expression')?.[0];
  if (expr) return [expr];
  const lic = fields.get('license')?.[0];
  if (lic && lic !== 'UNKNOWN' && !lic.includes('\n') && lic.length <= 100) return [lic];
  const classifiers = (fields.get('classifier') ?? []).filter((c) => c.startsWith('License :: ')).map((c) => c.split(' :: ').pop() ?? c);
  return classifiers.length > 0 ? classifiers : undefined;
}

export const pythonAnalyzer: Analyzer = {
  type: 'python-pkg',
  version: 2,
  required: (path) => METADATA.test(path) || PKG_INFO.test(path) || EGG_INFO_FILE.test(path) || EGG_PKG_INFO.test(path),
  maxSize: () => 16 * 1024 * 1024,
  produces: { kind: 'application', type: 'pypi' },
  async analyze(file, ctx): Promise<AnalyzerOutput | undefined> {
    const buf = await contentBuffer(file.content, ctx.limits.maxBufferedFile, file.path);
    const problems: string[] = [];
    const fields = parseCoreMetadata(buf.toString('utf8'), problems);
    const warnings = problems.slice(0, 5).map((message) => ({ path: file.path, message }));
    const rawName = fields.get('name')?.[0];
    const version = fields.get('version')?.[0];
    if (!rawName || !version) {
      return {
        warnings: [...warnings, { path: file.path, message: `Python metadata without ${!rawName ? 'Name' : 'Version'}` }],
        applications: [{ path: file.path, analyzer: 'python-pkg', type: 'pypi', packages: [] }],
      };
    }
    const name = normalizePythonName(rawName);
    const pkg: Package = { type: 'pypi', name, version, purl: purl('pypi', undefined, name, version), filePath: file.path };
    const lic = pythonLicenses(fields);
    if (lic) pkg.licenses = lic;
    return { applications: [{ path: file.path, analyzer: 'python-pkg', type: 'pypi', packages: [pkg] }], warnings };
  },
};
