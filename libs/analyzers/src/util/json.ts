import { jsonNestsDeeperThan } from '@strata/model';

/** Deepest nesting a package manifest's JSON may have: real ones nest five levels or fewer. */
export const MAX_JSON_DEPTH = 64;
/** Longest package name, version or license kept; a record with a longer name or version is skipped. */
export const MAX_FIELD_CHARS = 1024;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Text of a manifest: UTF-8 without a byte order mark. Invalid bytes become U+FFFD and add one
 * problem, so the records around them are still read.
 */
export function manifestText(buf: Buffer, problems: Problems): string {
  let text: string;
  try {
    text = strictUtf8.decode(buf);
  } catch {
    problems.add('not valid UTF-8; invalid bytes were replaced by U+FFFD');
    text = buf.toString('utf8');
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * JSON.parse bounded in depth (checked before parsing, so a file nested a million levels deep costs
 * one scan): returns the value, or a message saying why the file is not read.
 */
export function parseJsonBounded(text: string): { value: unknown } | { error: string } {
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) return { error: `JSON nested deeper than ${MAX_JSON_DEPTH} levels; not read` };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { error: `invalid JSON: ${(err as Error).message.slice(0, 200)}` };
  }
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An own string property (never one from the prototype chain, so `__proto__` keys are plain data). */
export function ownString(o: Record<string, unknown>, key: string): string | undefined {
  if (!Object.hasOwn(o, key)) return undefined;
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * What went wrong in one file, each kind said once with a count ("3 records skipped: name is not a
 * valid crate name"), so a file with 100,000 bad records still gives one clear warning per kind.
 */
export class Problems {
  private readonly counts = new Map<string, number>();
  private readonly examples = new Map<string, string>();

  add(message: string, example?: string): void {
    this.counts.set(message, (this.counts.get(message) ?? 0) + 1);
    if (example !== undefined && !this.examples.has(message)) this.examples.set(message, example);
  }

  get size(): number {
    return this.counts.size;
  }

  /** One warning per kind of problem, for the file at `path`. */
  warnings(path: string): Array<{ path: string; message: string }> {
    const out: Array<{ path: string; message: string }> = [];
    for (const [message, n] of this.counts) {
      const example = this.examples.get(message);
      const shown = example === undefined ? '' : ` (e.g. ${JSON.stringify(example.length > 80 ? `${example.slice(0, 80)}…` : example)})`;
      out.push({ path, message: n > 1 ? `${n} records: ${message}${shown}` : `${message}${shown}` });
    }
    return out;
  }
}

/** Control characters, and the characters no package manager puts in a name or version. */
const BAD_CHARS = /[\u0000-\u001f\u007f\s]/;

/**
 * A version as written, or a reason to skip the record: bounded, without whitespace or control
 * characters. Versions are kept as the package manager wrote them ("v5.4.0" stays so).
 */
export function checkVersion(v: string | undefined): { ok: string } | { why: string } {
  if (v === undefined || v === '') return { why: 'record without a version' };
  if (v.length > MAX_FIELD_CHARS) return { why: `version longer than ${MAX_FIELD_CHARS} characters` };
  if (BAD_CHARS.test(v)) return { why: 'version with whitespace or control characters' };
  return { ok: v };
}

/**
 * A package name, or a reason to skip the record: bounded, matching the ecosystem's own name rule
 * (`rule`), and never "." or ".." or a path that climbs ("../x").
 */
export function checkName(n: string | undefined, rule: RegExp, what: string): { ok: string } | { why: string } {
  if (n === undefined || n === '') return { why: 'record without a name' };
  if (n.length > MAX_FIELD_CHARS) return { why: `name longer than ${MAX_FIELD_CHARS} characters` };
  if (n.split('/').some((part) => part === '.' || part === '..') || !rule.test(n)) return { why: `name is not a valid ${what} name` };
  return { ok: n };
}

/**
 * A package's name and version (checkName, checkVersion), or why the record is skipped, with the
 * text to show as its example (the raw name when the name is bad, else the name).
 */
export function checkPackage(
  rawName: string | undefined,
  rawVersion: string | undefined,
  rule: RegExp,
  what: string,
): { name: string; version: string } | { why: string; bad: 'name' | 'version'; example: string | undefined } {
  const name = checkName(rawName, rule, what);
  if ('why' in name) return { why: name.why, bad: 'name', example: rawName };
  const version = checkVersion(rawVersion);
  if ('why' in version) return { why: version.why, bad: 'version', example: name.ok };
  return { name: name.ok, version: version.ok };
}

/** checkPackage for one record of many: a bad one is counted in `problems` as skipped. */
export function acceptPackage(
  rawName: string | undefined,
  rawVersion: string | undefined,
  rule: RegExp,
  what: string,
  problems: Problems,
): { name: string; version: string } | undefined {
  const checked = checkPackage(rawName, rawVersion, rule, what);
  if ('why' in checked) {
    problems.add(`${checked.why}; skipped`, checked.example);
    return undefined;
  }
  return checked;
}

/** A license string worth keeping (bounded, no control characters), or undefined. */
export function licenseOf(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return s !== '' && s.length <= 256 && !/[\u0000-\u001f\u007f]/.test(s) ? s : undefined;
}
