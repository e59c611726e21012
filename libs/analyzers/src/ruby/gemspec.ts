import type { Package } from '@strata/model';
import { purl } from '../purl.js';
import { checkPackage, licenseOf, manifestText, Problems } from '../util/json.js';
import { forEachLineOfText } from '../util/lines.js';
import { manifestOutput, PackageList } from '../util/manifest.js';
import { contentBuffer } from '../util/stream.js';
import type { Analyzer, AnalyzerOutput } from '../types.js';

/** Specs RubyGems and Bundler install: `…/specifications/<name>-<version>.gemspec`, default gems under `specifications/default/`. */
const GEMSPEC = /(?:^|\/)specifications\/(?:default\/)?[^/]+\.gemspec$/;
/** RubyGems' name rule: letters, digits, "_", "-", "." */
const GEM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Installed specs are a few KB; a bigger one is not a spec RubyGems wrote. */
export const MAX_GEMSPEC_BYTES = 1024 * 1024;
const MAX_LINE = 64 * 1024;

const STUB = /^#\s*stub:\s+(\S+)\s+(\S+)/;
const QUOTED = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'/g;
const unquote = (m: RegExpExecArray): string => (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1');

function firstQuoted(text: string): string | undefined {
  QUOTED.lastIndex = 0;
  const m = QUOTED.exec(text);
  return m ? unquote(m) : undefined;
}

function allQuoted(text: string): string[] {
  const out: string[] = [];
  QUOTED.lastIndex = 0;
  for (let m = QUOTED.exec(text); m !== null && out.length < 32; m = QUOTED.exec(text)) out.push(unquote(m));
  return out;
}

export interface GemspecFields {
  name?: string;
  version?: string;
  licenses?: string[];
  /** name and version of the `# stub:` line RubyGems writes first */
  stub?: { name: string; version: string };
}

/**
 * The fields of an installed gemspec, read as text (Ruby is never run): `s.name = "x".freeze`,
 * `s.version = "1.2.3"` (or `Gem::Version.new("…")`), `s.licenses = [...]` / `s.license = "…"`, and
 * the `# stub: name version platform` line. The first assignment of each field wins.
 */
export function parseGemspec(text: string): GemspecFields {
  const out: GemspecFields = {};
  forEachLineOfText(
    text,
    (line) => {
      if (out.stub === undefined) {
        const stub = STUB.exec(line);
        if (stub) {
          out.stub = { name: stub[1]!, version: stub[2]! };
          return;
        }
      }
      const m = /^\s*[A-Za-z_]\w*\.(name|version|licenses|license)\s*=\s*(.*)$/.exec(line);
      if (!m) return;
      const field = m[1]!;
      const value = m[2]!;
      if (field === 'name' || field === 'version') {
        const v = out[field] === undefined ? firstQuoted(value) : undefined;
        if (v !== undefined) out[field] = v;
      } else if ((field === 'licenses' || field === 'license') && out.licenses === undefined) {
        const list = allQuoted(value)
          .map(licenseOf)
          .filter((l): l is string => l !== undefined);
        if (list.length > 0) out.licenses = list;
      }
    },
    MAX_LINE,
  );
  return out;
}

export const gemspecAnalyzer: Analyzer = {
  type: 'gemspec',
  version: 1,
  required: (path) => GEMSPEC.test(path),
  maxSize: () => MAX_GEMSPEC_BYTES,
  produces: { kind: 'application', type: 'gem' },
  async analyze(file): Promise<AnalyzerOutput> {
    const problems = new Problems();
    const text = manifestText(await contentBuffer(file.content, MAX_GEMSPEC_BYTES, file.path), problems);
    const fields = parseGemspec(text);
    const list = new PackageList(1);
    const rawName = fields.name ?? fields.stub?.name;
    const checked = checkPackage(rawName, fields.version ?? fields.stub?.version, GEM_NAME, 'gem');
    if ('why' in checked) {
      const shown = checked.bad === 'name' && rawName !== undefined ? ` (${JSON.stringify(rawName.slice(0, 80))})` : '';
      return manifestOutput('gemspec', 'gem', file.path, list, problems, `${checked.why}${shown}; not read`);
    }
    const pkg: Package = { type: 'gem', ...checked, purl: purl('gem', undefined, checked.name, checked.version), filePath: file.path };
    if (fields.licenses) pkg.licenses = fields.licenses;
    list.add(pkg);
    return manifestOutput('gemspec', 'gem', file.path, list, problems);
  },
};
