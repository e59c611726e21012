export type VersionScheme = 'dpkg' | 'apk' | 'rpm' | 'semver' | 'go' | 'pep440' | 'maven' | 'rubygems' | 'packagist' | 'nuget';

export interface Comparator {
  scheme: VersionScheme;
  /** <0 when a sorts before b, 0 when equal, >0 after. Throws InvalidVersionError. */
  compare(a: string, b: string): number;
  /** Whether compare() accepts v (it would not throw InvalidVersionError for it). */
  isValid(v: string): boolean;
  /**
   * Where the scheme has one: a string that orders as compare() does, by code point (the order of
   * SQLite's BINARY collation over UTF-8), and is equal exactly when compare() says equal; undefined
   * for a version compare() refuses (and for the odd valid one the scheme's key cannot express).
   * Lets a store range-scan versions without comparing each.
   */
  sortKey?(v: string): string | undefined;
}
