import type { Package } from '@strata/model';
import { purl } from '../purl.js';
import { checkName, checkVersion, isRecord, licenseOf, ownString } from '../util/json.js';
import { analyzeJsonManifest, MAX_MANIFEST_BYTES } from '../util/manifest.js';
import type { Analyzer } from '../types.js';

/** One installed package's record: `<env>/conda-meta/<name>-<version>-<build>.json`. */
const CONDA_META = /(?:^|\/)conda-meta\/[^/]+\.json$/;
/** conda package names: lower-case letters, digits and "_.-+" (conda's MatchSpec allows no more). */
const CONDA_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

/**
 * conda's installed-package records. Reported (type conda, result Type conda-pkg) so an inventory
 * shows them; OSV publishes no conda ecosystem, so they are not matched against advisories.
 */
export const condaAnalyzer: Analyzer = {
  type: 'conda-pkg',
  version: 1,
  required: (path) => CONDA_META.test(path),
  maxSize: () => MAX_MANIFEST_BYTES,
  produces: { kind: 'application', type: 'conda' },
  analyze: (file, ctx) =>
    analyzeJsonManifest(file, ctx, 'conda-pkg', 'conda', (value, list) => {
      if (!isRecord(value)) return 'conda-meta record is not a JSON object';
      const rawName = ownString(value, 'name');
      const name = checkName(rawName, CONDA_NAME, 'conda');
      if ('why' in name) return `${name.why}; not read`;
      const version = checkVersion(ownString(value, 'version'));
      if ('why' in version) return `${version.why}; not read`;
      const pkg: Package = { type: 'conda', name: name.ok, version: version.ok, purl: purl('conda', undefined, name.ok, version.ok), filePath: file.path };
      const lic = licenseOf(Object.hasOwn(value, 'license') ? value.license : undefined);
      if (lic) pkg.licenses = [lic];
      list.add(pkg);
      return undefined;
    }),
};
