import type { Package } from '@strata/model';
import { describeError } from '@strata/errors';
import { purl } from '../purl.js';
import { contentBuffer } from '../util/stream.js';
import type { Analyzer, AnalyzerOutput } from '../types.js';

/**
 * Every package.json: installed packages (…/node_modules/[@scope/]name/package.json) and the app's
 * own project file outside node_modules, as Trivy's image scan reads them. Files without a name
 * and a version (workspace stubs, `{"type": "module"}` markers) give no package.
 */
const PACKAGE_JSON = /(?:^|\/)package\.json$/;

function licenses(json: Record<string, unknown>): string[] | undefined {
  const l = json.license;
  if (typeof l === 'string' && l) return [l];
  if (l && typeof l === 'object' && typeof (l as { type?: unknown }).type === 'string') return [(l as { type: string }).type];
  if (Array.isArray(json.licenses)) {
    const out = json.licenses
      .map((x: unknown) => (typeof x === 'string' ? x : x && typeof x === 'object' ? (x as { type?: unknown }).type : undefined))
      .filter((x): x is string => typeof x === 'string' && x !== '');
    return out.length > 0 ? out : undefined;
  }
  return undefined;
}

export function npmPurl(name: string, version: string): string {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  return slash > 0 ? purl('npm', name.slice(0, slash), name.slice(slash + 1), version) : purl('npm', undefined, name, version);
}

export const nodeAnalyzer: Analyzer = {
  type: 'node-pkg',
  version: 2,
  required: (path) => PACKAGE_JSON.test(path),
  maxSize: () => 8 * 1024 * 1024,
  produces: { kind: 'application', type: 'npm' },
  async analyze(file, ctx): Promise<AnalyzerOutput | undefined> {
    const buf = await contentBuffer(file.content, ctx.limits.maxBufferedFile, file.path);
    let json: unknown;
    try {
      json = JSON.parse(buf.toString('utf8').replace(/^\ufeff/, ''));
    } catch (err) {
      return {
        warnings: [{ path: file.path, message: `invalid JSON: ${describeError(err)}` }],
        applications: [{ path: file.path, analyzer: 'node-pkg', type: 'npm', packages: [] }],
      };
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) {
      return {
        warnings: [{ path: file.path, message: 'package.json is not a JSON object' }],
        applications: [{ path: file.path, analyzer: 'node-pkg', type: 'npm', packages: [] }],
      };
    }
    const obj = json as Record<string, unknown>;
    const { name, version } = obj;
    // Without a name and version (workspace stubs, test fixtures) it is no installable package; the
    // empty set still records that this file replaced whatever a lower layer had at its path.
    if (typeof name !== 'string' || typeof version !== 'string' || !name || !version) {
      return { applications: [{ path: file.path, analyzer: 'node-pkg', type: 'npm', packages: [] }] };
    }
    const pkg: Package = { type: 'npm', name, version, purl: npmPurl(name, version), filePath: file.path };
    const lic = licenses(obj);
    if (lic) pkg.licenses = lic;
    return { applications: [{ path: file.path, analyzer: 'node-pkg', type: 'npm', packages: [pkg] }] };
  },
};
