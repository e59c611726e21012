// Vector lines (shared/data/versions) where the file disagrees with the real tool, with the
// reason. vectors.test.ts checks that each still gives the answer recorded here; the oracle tests
// confirm these answers with the real tools where one is available.
import type { VectorLine } from './index.js';

export interface Exception {
  /** "file:line" */
  at: string;
  reason: string;
  /** what we answer instead: 'E' when we refuse a version, else the real tool's operator */
  ours: '<' | '=' | '>' | 'E';
}

const APK_3X =
  'apk-tools 2.14.4 (the apk of Alpine 3.20, which we follow) disagrees with this line of an invalid version; ' +
  'the vector follows apk 3.x (shared/data/README.md lists these 8 lines)';
export const ALPINE: Exception[] = [
  { at: 'alpine-versions.txt:4', ours: '>', reason: APK_3X }, // 1-r-0 < 1-r0
  { at: 'alpine-versions.txt:5', ours: '>', reason: APK_3X }, // 1-r-1 < 1-r0
  { at: 'alpine-versions.txt:15', ours: '>', reason: APK_3X }, // 0.r1 < 0r2
  { at: 'alpine-versions.txt:24', ours: '>', reason: APK_3X }, // 0.8.21.r2 < 0.8.21r2
  { at: 'alpine-versions.txt:27', ours: '>', reason: APK_3X }, // 1.2.0A < 1.2.0d
  { at: 'alpine-versions.txt:28', ours: '>', reason: APK_3X }, // 1.2.0D < 1.2.0d
  { at: 'alpine-versions.txt:40', ours: '<', reason: APK_3X }, // 1 > 1-ruff
  { at: 'alpine-versions.txt:47', ours: '<', reason: APK_3X }, // 1-ruff2 = 1--ruff1
];

const NOT_NPM = 'npm semver refuses it (npm cannot publish such a version), so we throw InvalidVersionError';
export const SEMVER: Exception[] = [
  // 30-digit numbers: beyond npm semver's limit of 2^53 and 16 digits
  { at: 'semver-versions.txt:87', ours: 'E', reason: NOT_NPM },
  { at: 'semver-versions.txt:88', ours: 'E', reason: NOT_NPM },
  // five numeric components
  { at: 'semver-versions.txt:92', ours: 'E', reason: NOT_NPM },
];

// The generator of maven-versions-generated.txt sorted each package's versions with
// ComparableVersion and wrote '<' between neighbours without comparing them; ComparableVersion is
// not transitive for these mixes of '.'/'-' qualifiers, and comparing the pair itself gives '>'.
// maven.oracle.test.ts confirms each answer with the real maven-artifact jar.
const MAVEN_UNSORTED = 'neighbours of an inconsistent sort, not a comparison; real Maven 3.9 says >';
export const MAVEN: Exception[] = [
  ...[2781, 2786, 5776, 9949, 11435, 11450, 11476, 11526, 11557, 11578, 11582, 11594, 11602, 11612, 11621, 11687, 11748, 12642].map(
    (line): Exception => ({ at: `maven-versions-generated.txt:${line}`, ours: '>', reason: MAVEN_UNSORTED }),
  ),
  // 1-1 = 1-ga-1: in Maven 3.9 "ga" is dropped inside the nested list, leaving [[1]] < [1]
  { at: 'maven-versions.txt:100', ours: '>', reason: 'real Maven 3.9 says 1-1 > 1-ga-1' },
];

// Legacy (pre-PEP 440) versions: packaging < 22 ordered them as LegacyVersion; packaging ≥ 22 (the
// oracle, 26 here) refuses them, and so do we. pep440.oracle.test.ts checks each against Python.
export const LEGACY_PYPI = [
  '0.1-bulbasaur',
  '0.1-charmander',
  '0.9-doduo',
  '0.9-eevee',
  '0.9-fearow',
  '0.9-gyarados',
  '0.9-horsea',
  '0.9-ivysaur',
  '2.0.1rc2-git',
  '0.7.1.fix1',
  '0.7.4.svn.r2010',
  '2013-01-21T20:33:09+0100',
  '2013-01-23T17:11:52+0100',
  '2013-02-01T20:50:46+0100',
  '2013-02-02T19:59:03+0100',
  '2013-02-02T20:23:17+0100',
  '2013-02-08T17:40:57+0000',
  '2013-03-27T16:32:26+0100',
  '2013-05-09T12:47:53+0200',
  '2013-05-10T17:55:56+0200',
  '2013-05-14T20:16:05+0200',
  '2013-06-01T10:32:51+0200',
  '2013-07-19T09:11:08+0000',
  '2013-08-12T21:48:56+0200',
  '2013-09-11T19-27-10',
  '2013-12-23T17-51-15',
  '2014-01-12T15-52-10',
  '0.0.1-test1',
  '0.7.10p1',
  '0.7.11p1',
  '0.7.11p2',
  '0.7.11p3',
  '0.8.1p1',
  '0.8.3p1',
  '0.8.4p1',
  '0.8.4p2',
  '0.8.6p1',
  '0.8.7p1',
  '-class.-jw.util.version.Version-',
  'trunk',
  '0.3m1',
  '0.3m2',
  '0.3m3',
  '0.3m4',
  '0.3m5',
  '0.4m1',
  '0.4m2',
  '0.4m3',
  '0.4m4',
  '0.4m5',
  '0.5m1',
  '0.5m2',
  '0.5m3',
  '0.5m4',
  '0.5m5',
  '0.6m1',
  '0.6m2',
  '0.6m3',
  '0.6m4',
  '0.6m5',
  '0.6m6',
  '1.3.1-STAGING',
  '4.11-final',
  '5.0-final',
  'a3',
  '2.0.0-final',
  '1.0beta6.1',
  '0.3.1-p1',
  '0.4.0-p1',
  '-class.-jw.util.version.version-pre',
  '-class.-jw.util.version.version-preview',
  '-class.-jw.util.version.version-dev',
];

export function pypiExceptions(lines: VectorLine[]): Exception[] {
  const legacy = new Set(LEGACY_PYPI);
  return lines
    .filter((l) => legacy.has(l.a) || legacy.has(l.b))
    .map((l) => ({ at: `${l.file}:${l.line}`, ours: 'E', reason: 'legacy version, refused by packaging >= 22' }));
}

// "1beta" and "1gamma" do not match Gem::Version's pattern (a letter run must follow a "."):
// Ruby's own Gem::Version.new raises "Malformed version number string" for them, and so do we.
// rubygems.oracle.test.ts checks both against Ruby.
const NOT_GEM = 'Gem::Version refuses it (Malformed version number string), so we throw InvalidVersionError';
export const RUBYGEMS: Exception[] = [
  { at: 'rubygems-versions.txt:3', ours: 'E', reason: NOT_GEM }, // 1 > 1beta
  { at: 'rubygems-versions.txt:27', ours: 'E', reason: NOT_GEM }, // 1 > 1gamma
];

// NuGet.Versioning reads each numeric part as a .NET int: 30-digit parts do not parse.
const NOT_NUGET = 'NuGet.Versioning refuses a part above 2^31-1 (int.TryParse), so we throw InvalidVersionError';
export const NUGET: Exception[] = [
  { at: 'nuget-versions.txt:39', ours: 'E', reason: NOT_NUGET },
  { at: 'nuget-versions.txt:40', ours: 'E', reason: NOT_NUGET },
];
