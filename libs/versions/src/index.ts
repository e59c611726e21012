// Version comparators, one per package ecosystem. Each module's header says exactly which
// tool's ordering it reproduces and which inputs it refuses.
import { apk } from './apk.js';
import { dpkg } from './dpkg.js';
import { go } from './go.js';
import { maven } from './maven.js';
import { nuget } from './nuget.js';
import { packagist } from './packagist.js';
import { pep440 } from './pep440.js';
import { rpm } from './rpm.js';
import { rubygems } from './rubygems.js';
import { semver } from './semver.js';
import type { Comparator, VersionScheme } from './types.js';

export type { Comparator, VersionScheme } from './types.js';
export { InvalidVersionError } from './errors.js';
export { schemeForEcosystem } from './ecosystem.js';
export { normalizeComposerVersion } from './packagist.js';

const COMPARATORS: Record<VersionScheme, Comparator> = { dpkg, apk, rpm, semver, go, pep440, maven, rubygems, packagist, nuget };

export function comparator(scheme: VersionScheme): Comparator {
  const c = COMPARATORS[scheme];
  if (!c) throw new Error(`unknown version scheme ${JSON.stringify(scheme)}`);
  return c;
}
