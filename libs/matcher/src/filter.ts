// Filters the CLI applies after matching: --severity, --ignore-unfixed and --ignorefile
// (`.trivyignore` syntax: one id per line, optional `exp:YYYY-MM-DD`, `#` comments).
import type { Severity } from '@strata/model';
import { SEVERITIES } from '@strata/model';
import type { Finding } from './finding.js';

export interface IgnoreRule {
  id: string;
  /** the rule stops applying at 00:00 UTC of this date (YYYY-MM-DD) */
  expires?: string;
  /** 1-based line in the ignore file */
  line: number;
}

export interface IgnoreFile {
  rules: IgnoreRule[];
  /** lines that could not be read, e.g. a bad `exp:` date; the rest of the file still applies */
  problems: string[];
}

export function parseIgnoreFile(text: string): IgnoreFile {
  const rules: IgnoreRule[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const [id, ...rest] = line.split(/\s+/);
    if (!id) return;
    const rule: IgnoreRule = { id, line: i + 1 };
    for (const token of rest) {
      const m = /^exp:(\d{4}-\d{2}-\d{2})$/.exec(token);
      if (m && !Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`))) rule.expires = m[1] as string;
      else problems.push(`line ${i + 1}: ignoring unknown option ${JSON.stringify(token)} for ${id}`);
    }
    rules.push(rule);
  });
  return { rules, problems };
}

/** Parses a --severity list ("HIGH,CRITICAL"); throws on an unknown level, naming it. */
export function parseSeverities(list: string): Severity[] {
  const out: Severity[] = [];
  for (const part of list
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean)) {
    if (!(SEVERITIES as readonly string[]).includes(part)) throw new Error(`unknown severity ${JSON.stringify(part)} (use ${SEVERITIES.join(', ')})`);
    out.push(part as Severity);
  }
  return out;
}

export interface FilterOptions {
  severities?: readonly Severity[];
  ignoreUnfixed?: boolean;
  ignore?: readonly IgnoreRule[];
  now?: Date;
}

const ruleActive = (rule: IgnoreRule, now: Date): boolean => rule.expires === undefined || now.getTime() < Date.parse(`${rule.expires}T00:00:00Z`);

/** Whether an active ignore rule names the finding (by its id, a record id or one of its CVEs). */
export function isIgnored(f: Finding, rules: readonly IgnoreRule[], now: Date = new Date()): boolean {
  const ids = new Set([f.vulnerabilityId, ...f.vendorIds, ...f.cves]);
  return rules.some((r) => ids.has(r.id) && ruleActive(r, now));
}

export function filterFindings(findings: readonly Finding[], opts: FilterOptions): Finding[] {
  const now = opts.now ?? new Date();
  const severities = opts.severities && opts.severities.length > 0 ? new Set(opts.severities) : undefined;
  return findings.filter(
    (f) => (!severities || severities.has(f.severity)) && !(opts.ignoreUnfixed && f.status !== 'fixed') && !(opts.ignore && isIgnored(f, opts.ignore, now)),
  );
}
