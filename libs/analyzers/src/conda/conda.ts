import type { Package } from '@strata/model';
import { purl } from '../purl.js';
import { checkPackage, isRecord, licenseOf, ownString } from '../util/json.js';
import { manifestAnalyzer } from '../util/manifest.js';

/** One installed package's record: `<env>/conda-meta/<name>-<version>-<build>.json`. */
const CONDA_META = /(?:^|\/)conda-meta\/[^/]+\.json$/;
/** conda package names: lower-case letters, digits and "_.-+" (conda's MatchSpec allows no more). */
const CONDA_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

/**
 * conda's installed-package records. Reported (type conda, result Type conda-pkg) so an inventory
 * shows them; OSV publishes no conda ecosystem, so they are not matched against advisories.
 */
export const condaAnalyzer = manifestAnalyzer({
  type: 'conda-pkg',
  version: 1,
  path: CONDA_META,
  produces: 'conda',
  json(value, filePath, list) {
    if (!isRecord(value)) return 'conda-meta record is not a JSON object';
    const checked = checkPackage(ownString(value, 'name'), ownString(value, 'version'), CONDA_NAME, 'conda');
    if ('why' in checked) return `${checked.why}; not read`;
    const pkg: Package = { type: 'conda', ...checked, purl: purl('conda', undefined, checked.name, checked.version), filePath };
    const lic = licenseOf(Object.hasOwn(value, 'license') ? value.license : undefined);
    if (lic) pkg.licenses = [lic];
    list.add(pkg);
    return undefined;
  },
});
