export type VersionScheme = 'dpkg' | 'apk' | 'rpm' | 'semver' | 'go' | 'pep440' | 'maven' | 'rubygems' | 'packagist' | 'nuget';

export interface Comparator {
  scheme: VersionScheme;
  /** <0 when a sorts before b, 0 when equal, >0 after. Throws InvalidVersionError. */
  compare(a: string, b: string): number;
  /** Whether compare() accepts v (it would not throw InvalidVersionError for it). */
  isValid(v: string): boolean;
}
