// End-of-life dates of OS releases, maintained by hand. The date is the last day the distribution
// ships security updates for free (Debian: end of LTS; Ubuntu: end of standard support; RHEL and
// rebuilds: end of maintenance; Alpine: end of the branch's security support). Rolling
// distributions (Wolfi, Chainguard) never reach end of life. Sources: the distributions' release
// pages (debian.org/releases + wiki.debian.org/LTS, ubuntu.com/about/release-cycle,
// alpinelinux.org/releases, access.redhat.com/support/policy/updates/errata, endoflife data of
// Rocky, Alma, Amazon, Oracle and Microsoft).
import type { OsFamily, OsInfo } from '@strata/model';

type Table = Record<string, string>;

const DEBIAN: Table = {
  '7': '2018-05-31',
  '8': '2020-06-30',
  '9': '2022-06-30',
  '10': '2024-06-30',
  '11': '2026-08-31',
  '12': '2028-06-30',
  '13': '2030-06-30',
};
const UBUNTU: Table = {
  '14.04': '2019-04-25',
  '16.04': '2021-04-30',
  '18.04': '2023-05-31',
  '20.04': '2025-05-29',
  '22.04': '2027-06-01',
  '24.04': '2029-05-31',
  '20.10': '2021-07-22',
  '21.04': '2022-01-20',
  '21.10': '2022-07-14',
  '22.10': '2023-07-20',
  '23.04': '2024-01-25',
  '23.10': '2024-07-11',
  '24.10': '2025-07-10',
  '25.04': '2026-01-15',
};
const ALPINE: Table = {
  '3.10': '2021-05-01',
  '3.11': '2021-11-01',
  '3.12': '2022-05-01',
  '3.13': '2022-11-01',
  '3.14': '2023-05-01',
  '3.15': '2023-11-01',
  '3.16': '2024-05-23',
  '3.17': '2024-11-22',
  '3.18': '2025-05-09',
  '3.19': '2025-11-01',
  '3.20': '2026-04-01',
  '3.21': '2026-11-01',
  '3.22': '2027-05-01',
};
const RHEL: Table = { '6': '2020-11-30', '7': '2024-06-30', '8': '2029-05-31', '9': '2032-05-31', '10': '2035-05-31' };
const CENTOS: Table = { '6': '2020-11-30', '7': '2024-06-30', '8': '2021-12-31' };
const ROCKY: Table = { '8': '2029-05-31', '9': '2032-05-31', '10': '2035-05-31' };
const ALMA: Table = { '8': '2029-03-01', '9': '2032-05-31', '10': '2035-05-31' };
const AMAZON: Table = { '1': '2023-12-31', '2': '2026-06-30', '2023': '2029-06-30' };
const ORACLE: Table = { '6': '2021-03-01', '7': '2024-12-31', '8': '2029-07-31', '9': '2032-06-30' };
const MARINER: Table = { '1': '2023-05-31', '2': '2025-07-31' };

const major = (v: string): string => v.split('.')[0] ?? v;
const majorMinor = (v: string): string => v.split('.').slice(0, 2).join('.');

const TABLES: Partial<Record<OsFamily, { table: Table; key: (v: string) => string }>> = {
  debian: { table: DEBIAN, key: major },
  ubuntu: { table: UBUNTU, key: majorMinor },
  alpine: { table: ALPINE, key: majorMinor },
  redhat: { table: RHEL, key: major },
  centos: { table: CENTOS, key: major },
  rocky: { table: ROCKY, key: major },
  alma: { table: ALMA, key: major },
  // Amazon Linux 1 reports VERSION_ID "2018.03".
  amazon: { table: AMAZON, key: (v) => (/^20\d\d\.\d\d$/.test(v) ? '1' : major(v)) },
  oracle: { table: ORACLE, key: major },
  'cbl-mariner': { table: MARINER, key: major },
};

const ROLLING = new Set<OsFamily>(['wolfi', 'chainguard', 'opensuse-tumbleweed']);

export interface EolStatus {
  endOfLife: boolean;
  /** the end-of-life date (YYYY-MM-DD) when the table knows the release */
  date?: string;
}

/** The end-of-life date of an OS release, or undefined when the table does not know it. */
export function endOfLifeDate(os: OsInfo): string | undefined {
  // The release comes from the image's os-release: only the table's own keys count.
  const t = Object.hasOwn(TABLES, os.family) ? TABLES[os.family] : undefined;
  if (!t) return undefined;
  const release = t.key(os.name.trim());
  return Object.hasOwn(t.table, release) ? t.table[release] : undefined;
}

/** True when the release is past its end of life on `now` (the day after the date). Unknown releases are not EOL. */
export function isEndOfLife(os: OsInfo, now: Date = new Date()): boolean {
  if (ROLLING.has(os.family)) return false;
  const date = endOfLifeDate(os);
  return date !== undefined && now.getTime() >= Date.parse(`${date}T00:00:00Z`) + 24 * 3600 * 1000;
}

export function eolStatus(os: OsInfo, now: Date = new Date()): EolStatus {
  const date = ROLLING.has(os.family) ? undefined : endOfLifeDate(os);
  const status: EolStatus = { endOfLife: isEndOfLife(os, now) };
  if (date) status.date = date;
  return status;
}

/** The warning line shown for an end-of-life OS, or undefined when it is supported or unknown. */
export function eolWarning(os: OsInfo, now: Date = new Date()): string | undefined {
  if (!isEndOfLife(os, now)) return undefined;
  return `${os.family} ${os.name} reached end of life on ${endOfLifeDate(os)}: it gets no more security updates, so vulnerability detection may be incomplete`;
}
