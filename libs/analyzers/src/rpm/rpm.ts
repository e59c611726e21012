import type { SqlJsStatic } from 'sql.js';
import type { Package, PackageSet } from '@strata/model';
import { describeError } from '@strata/errors';
import { osPackagePurl } from '../purl.js';
import { baseName, dirName } from '../util/paths.js';
import type { AnalyzerOutput, AnalyzerWarningOut, CollectedFile, PostAnalyzer } from '../types.js';
import { parseSourceRpm, rpmPackageInfo } from './header.js';
import { isBdbHash, readBdbValues } from './bdb.js';
import { readNdbBlobs } from './ndb.js';

const RPMDB_DIRS = ['var/lib/rpm', 'usr/lib/sysimage/rpm', 'usr/share/rpm'];
const RPMDB_FILES = ['rpmdb.sqlite', 'rpmdb.sqlite-wal', 'Packages', 'Packages.db'];
const RPMDB = /^(?:var\/lib\/rpm|usr\/lib\/sysimage\/rpm|usr\/share\/rpm)\/(?:rpmdb\.sqlite|rpmdb\.sqlite-wal|Packages|Packages\.db)$/;
const MAX_WARNINGS_PER_FILE = 20;

// sql.js (and its wasm) loads only when an image has an rpm sqlite database.
let sqlJs: Promise<SqlJsStatic> | undefined;
function sql(): Promise<SqlJsStatic> {
  sqlJs ??= import('sql.js').then(({ default: initSqlJs }) => initSqlJs());
  return sqlJs;
}

/** Reads every header blob of the `Packages` table of an rpm 4.16+ sqlite DB. */
export async function readSqliteHeaders(db: Buffer): Promise<Buffer[]> {
  const SQL = await sql();
  const handle = new SQL.Database(db);
  try {
    const out: Buffer[] = [];
    const stmt = handle.prepare('SELECT blob FROM Packages ORDER BY hnum');
    try {
      while (stmt.step()) {
        const value = stmt.get()[0];
        if (value instanceof Uint8Array) out.push(Buffer.from(value));
      }
    } finally {
      stmt.free();
    }
    return out;
  } finally {
    handle.close();
  }
}

export function rpmPackagesFromHeaders(blobs: Buffer[], path: string): { packages: Package[]; warnings: AnalyzerWarningOut[] } {
  const packages: Package[] = [];
  const problems: string[] = [];
  blobs.forEach((blob, i) => {
    try {
      const info = rpmPackageInfo(blob);
      const pkg: Package = { type: 'rpm', name: info.name, version: info.version, release: info.release, purl: '' };
      if (info.epoch !== undefined) pkg.epoch = info.epoch;
      if (info.arch !== undefined) pkg.arch = info.arch;
      const src = info.sourceRpm ? parseSourceRpm(info.sourceRpm) : undefined;
      if (src) {
        pkg.srcName = src.name;
        pkg.srcVersion = src.version;
        pkg.srcRelease = src.release;
        if (info.epoch !== undefined) pkg.srcEpoch = info.epoch;
      }
      if (info.license) pkg.licenses = [info.license];
      pkg.purl = osPackagePurl(pkg);
      packages.push(pkg);
    } catch (err) {
      problems.push(`header #${i + 1}: ${describeError(err)}; package skipped`);
    }
  });
  const warnings = problems.slice(0, MAX_WARNINGS_PER_FILE).map((message) => ({ path, message }));
  if (problems.length > MAX_WARNINGS_PER_FILE) warnings.push({ path, message: `${problems.length - MAX_WARNINGS_PER_FILE} more bad headers not shown` });
  return { packages, warnings };
}

/**
 * rpm package DBs: sqlite (rpm ≥ 4.16), BerkeleyDB hash `Packages` (older RHEL family, Amazon Linux 2)
 * and NDB `Packages.db` (SUSE). A post-step so that the sqlite DB is read knowing whether a
 * write-ahead log sits next to it in the same layer.
 */
export const rpmAnalyzer: PostAnalyzer = {
  type: 'rpm',
  version: 3,
  required: (path) => RPMDB.test(path),
  produces: { kind: 'os', type: 'rpm' },
  locations: RPMDB_DIRS.flatMap((dir) => RPMDB_FILES.filter((f) => f !== 'rpmdb.sqlite-wal').map((f) => `${dir}/${f}`)),
  async postAnalyze(files: CollectedFile[]): Promise<AnalyzerOutput> {
    const sets: PackageSet[] = [];
    const warnings: AnalyzerWarningOut[] = [];
    const byPath = new Map(files.map((f) => [f.path, f]));
    for (const file of files) {
      const name = baseName(file.path);
      try {
        if (name === 'rpmdb.sqlite') {
          const wal = byPath.get(`${dirName(file.path)}/rpmdb.sqlite-wal`);
          if (wal && wal.size > 0) {
            warnings.push({
              path: wal.path,
              message: `sqlite write-ahead log (${wal.size} bytes) next to ${file.path} was not applied; packages installed after the last checkpoint may be missing`,
            });
          }
          const { packages, warnings: w } = rpmPackagesFromHeaders(await readSqliteHeaders(file.content), file.path);
          sets.push({ path: file.path, analyzer: 'rpm', type: 'rpm', packages });
          for (const x of w) warnings.push(x);
        } else if (name === 'Packages') {
          if (!isBdbHash(file.content)) throw new Error('Packages is not a BerkeleyDB hash database');
          const problems: string[] = [];
          const { packages, warnings: w } = rpmPackagesFromHeaders(readBdbValues(file.content, problems), file.path);
          for (const message of problems.slice(0, MAX_WARNINGS_PER_FILE)) warnings.push({ path: file.path, message });
          sets.push({ path: file.path, analyzer: 'rpm', type: 'rpm', packages });
          for (const x of w) warnings.push(x);
        } else if (name === 'Packages.db') {
          const problems: string[] = [];
          const { packages, warnings: w } = rpmPackagesFromHeaders(readNdbBlobs(file.content, problems), file.path);
          for (const message of problems) warnings.push({ path: file.path, message });
          sets.push({ path: file.path, analyzer: 'rpm', type: 'rpm', packages });
          for (const x of w) warnings.push(x);
        }
      } catch (err) {
        warnings.push({ path: file.path, message: `cannot read rpm database: ${describeError(err)}; its packages are NOT in this report` });
        sets.push({ path: file.path, analyzer: 'rpm', type: 'rpm', packages: [] });
      }
    }
    return { packageSets: sets, warnings };
  },
};
