// The parts of the OSV schema (https://ossf.github.io/osv-schema/) that Strata reads, and the
// minimal validation a record must pass before it is indexed. Unknown fields are kept out of the
// index; a record that fails validation is skipped with a warning, never fatal.

export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: string;
  events: OsvEvent[];
  repo?: string;
}

export interface OsvSeverity {
  type: string;
  score: string;
}

export interface OsvPackage {
  ecosystem: string;
  name: string;
  purl?: string;
}

export interface OsvAffected {
  package: OsvPackage;
  ranges?: OsvRange[];
  versions?: string[];
  severity?: OsvSeverity[];
  ecosystem_specific?: Record<string, unknown>;
  database_specific?: Record<string, unknown>;
}

export interface OsvReference {
  type: string;
  url: string;
}

export interface OsvRecord {
  schema_version?: string;
  id: string;
  modified: string;
  published?: string;
  withdrawn?: string;
  aliases?: string[];
  upstream?: string[];
  related?: string[];
  summary?: string;
  details?: string;
  severity?: OsvSeverity[];
  affected?: OsvAffected[];
  references?: OsvReference[];
  database_specific?: Record<string, unknown>;
}

/**
 * Lengths past which a record is refused: no real OSV id, alias, ecosystem, package name or
 * version comes near them, and comparing or indexing megabyte strings costs every scan.
 */
export const MAX_ID_LENGTH = 256;
export const MAX_NAME_LENGTH = 1024;
export const MAX_VERSION_LENGTH = 1024;
/** Most ids in aliases, upstream or related: a DSA names a few dozen CVEs, none names thousands. */
export const MAX_IDS_PER_FIELD = 1000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

function checkSeverity(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return `${where} is not an array`;
  for (const [i, s] of v.entries()) {
    if (!isObject(s) || !isString(s.type) || !isString(s.score)) return `${where}[${i}] needs string "type" and "score"`;
  }
  return undefined;
}

/**
 * Checks the fields the matcher relies on. Returns the problem, or undefined when the record is usable.
 * Deliberately minimal: it rejects what would make matching wrong, not every schema deviation.
 */
export function validateRecord(raw: unknown): string | undefined {
  if (!isObject(raw)) return 'not a JSON object';
  if (!isString(raw.id) || raw.id === '') return 'missing "id"';
  if (raw.id.length > MAX_ID_LENGTH) return `"id" is longer than ${MAX_ID_LENGTH} characters`;
  if (!isString(raw.modified)) return 'missing "modified"';
  for (const field of ['aliases', 'upstream', 'related'] as const) {
    if (raw[field] !== undefined && !isStringArray(raw[field])) return `"${field}" is not an array of strings`;
    if ((raw[field] as string[] | undefined)?.some((id) => id.length > MAX_ID_LENGTH)) return `"${field}" has an id longer than ${MAX_ID_LENGTH} characters`;
    if (((raw[field] as string[] | undefined)?.length ?? 0) > MAX_IDS_PER_FIELD) return `"${field}" has more than ${MAX_IDS_PER_FIELD} ids`;
  }
  for (const field of ['published', 'withdrawn', 'summary', 'details'] as const) {
    if (raw[field] !== undefined && !isString(raw[field])) return `"${field}" is not a string`;
  }
  for (const field of ['modified', 'published', 'withdrawn'] as const) {
    if (((raw[field] as string | undefined)?.length ?? 0) > MAX_ID_LENGTH) return `"${field}" is longer than ${MAX_ID_LENGTH} characters`;
  }
  const sevProblem = checkSeverity(raw.severity, '"severity"');
  if (sevProblem) return sevProblem;
  if (raw.references !== undefined) {
    if (!Array.isArray(raw.references)) return '"references" is not an array';
    for (const [i, r] of raw.references.entries()) {
      if (!isObject(r) || !isString(r.url)) return `"references"[${i}] has no "url"`;
    }
  }
  if (raw.affected === undefined) return undefined;
  if (!Array.isArray(raw.affected)) return '"affected" is not an array';
  for (const [i, a] of raw.affected.entries()) {
    const where = `"affected"[${i}]`;
    if (!isObject(a)) return `${where} is not an object`;
    const pkg = a.package;
    // OSV allows affected entries without a package (e.g. GIT-only ranges); they never match a package.
    if (pkg !== undefined && (!isObject(pkg) || !isString(pkg.ecosystem) || !isString(pkg.name))) {
      return `${where}.package needs string "ecosystem" and "name"`;
    }
    if (pkg !== undefined && ((pkg.ecosystem as string).length > MAX_NAME_LENGTH || (pkg.name as string).length > MAX_NAME_LENGTH)) {
      return `${where}.package has an ecosystem or name longer than ${MAX_NAME_LENGTH} characters`;
    }
    if (a.versions !== undefined && !isStringArray(a.versions)) return `${where}.versions is not an array of strings`;
    if ((a.versions as string[] | undefined)?.some((v) => v.length > MAX_VERSION_LENGTH))
      return `${where}.versions has a version longer than ${MAX_VERSION_LENGTH} characters`;
    const affSev = checkSeverity(a.severity, `${where}.severity`);
    if (affSev) return affSev;
    if (a.ranges === undefined) continue;
    if (!Array.isArray(a.ranges)) return `${where}.ranges is not an array`;
    for (const [j, r] of a.ranges.entries()) {
      const rw = `${where}.ranges[${j}]`;
      if (!isObject(r) || !isString(r.type)) return `${rw} has no "type"`;
      if (!Array.isArray(r.events) || r.events.length === 0) return `${rw} has no "events"`;
      for (const [k, e] of r.events.entries()) {
        if (!isObject(e)) return `${rw}.events[${k}] is not an object`;
        const keys = Object.keys(e).filter((key) => ['introduced', 'fixed', 'last_affected', 'limit'].includes(key));
        if (keys.length !== 1) return `${rw}.events[${k}] must have exactly one of introduced/fixed/last_affected/limit`;
        const value = e[keys[0] as string];
        if (!isString(value) || value === '') return `${rw}.events[${k}].${keys[0]} is not a non-empty string`;
        if (value.length > MAX_VERSION_LENGTH) return `${rw}.events[${k}].${keys[0]} is longer than ${MAX_VERSION_LENGTH} characters`;
      }
    }
  }
  return undefined;
}

/** CVE ids a record stands for: its own id, its aliases and its upstream ids. */
export function cveIds(record: Pick<OsvRecord, 'id' | 'aliases' | 'upstream'>): string[] {
  const out = new Set<string>();
  for (const id of [record.id, ...(record.aliases ?? []), ...(record.upstream ?? [])]) {
    if (/^CVE-\d{4}-\d+$/.test(id)) out.add(id);
  }
  return [...out].sort();
}
