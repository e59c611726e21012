// `--format table`, laid out as Trivy prints it: per target a title line, its underline, the
// totals by severity, then a box table (Library, Vulnerability, Severity, Status, Installed
// Version, Fixed Version, Title). Colour (severity cells, EOL note) only when asked.
import type { Severity } from '@strata/model';
import { SEVERITIES } from '@strata/model';
import type { Finding } from '@strata/matcher';
import { countSeverities, describeAdvisoryDb, reportResults, type ReportResult, type ScanReport } from './report.js';

export interface TableOptions {
  /** ANSI colours (the CLI passes process.stdout.isTTY) */
  color?: boolean;
  /** longest title shown before it is cut with "..." */
  titleWidth?: number;
}

const ANSI: Record<Severity, string> = { CRITICAL: '\x1b[1;31m', HIGH: '\x1b[31m', MEDIUM: '\x1b[33m', LOW: '\x1b[34m', UNKNOWN: '\x1b[37m' };
const RESET = '\x1b[0m';
const HEADERS = ['Library', 'Vulnerability', 'Severity', 'Status', 'Installed Version', 'Fixed Version', 'Title'];

const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');
/** Display width: code points, with East Asian wide characters counted twice. */
function width(s: string): number {
  let w = 0;
  for (const ch of stripAnsi(s)) {
    const cp = ch.codePointAt(0) ?? 0;
    w +=
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xff00 && cp <= 0xff60)
        ? 2
        : 1;
  }
  return w;
}
const pad = (s: string, n: number): string => s + ' '.repeat(Math.max(0, n - width(s)));
const center = (s: string, n: number): string => {
  const left = Math.floor((n - width(s)) / 2);
  return ' '.repeat(Math.max(0, left)) + s + ' '.repeat(Math.max(0, n - width(s) - left));
};

/** Longest cell shown: names, versions and URLs come from images and advisories, unbounded. */
const MAX_CELL = 120;

/**
 * One line of text, safe for a terminal: control characters (escape sequences, newlines) become
 * spaces, and text past max code points is cut with "...".
 */
function cut(text: string, max: number): string {
  // Only a prefix is looked at: a megabyte name costs no more than a short one.
  const prefix = text.length > max * 4 + 64 ? text.slice(0, max * 4 + 64) : text;
  const oneLine = prefix
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const points = [...oneLine];
  return points.length > max || prefix !== text ? `${points.slice(0, max - 3).join('')}...` : oneLine;
}
const cell = (text: string): string => cut(text, MAX_CELL);

/** The largest of the numbers, without spreading them into arguments (too many overflow the stack). */
function largest(values: Iterable<number>, start: number): number {
  let max = start;
  for (const v of values) if (v > max) max = v;
  return max;
}

/** A row is a list of cells; a cell may have several lines (title + URL). */
type Row = string[][];

function rowsFor(findings: Finding[], opts: TableOptions): { rows: Row[]; groupStart: boolean[] } {
  const rows: Row[] = [];
  const groupStart: boolean[] = [];
  let previous = '';
  for (const f of findings) {
    const library = cell(f.pkgName);
    const first = library !== previous;
    previous = library;
    const severity = opts.color ? `${ANSI[f.severity]}${f.severity}${RESET}` : f.severity;
    const title = f.title ? cut(f.title, opts.titleWidth ?? 60) : '';
    const url = cell(f.primaryUrl);
    rows.push([
      [first ? library : ''],
      [cell(f.vulnerabilityId)],
      [severity],
      [f.status],
      [cell(f.installedVersion)],
      [cell(f.fixedVersion)],
      title ? [title, url] : [url],
    ]);
    groupStart.push(first);
  }
  return { rows, groupStart };
}

function box(rows: Row[], groupStart: boolean[]): string[] {
  const cols = HEADERS.length;
  const widths = HEADERS.map((h, c) =>
    largest(
      rows.flatMap((r) => (r[c] ?? []).map(width)),
      width(h),
    ),
  );
  const line = (l: string, m: string, r: string): string => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const out = [line('┌', '┬', '┐'), '│' + HEADERS.map((h, c) => ` ${center(h, widths[c] as number)} `).join('│') + '│', line('├', '┼', '┤')];
  rows.forEach((row, i) => {
    if (i > 0 && groupStart[i]) out.push(line('├', '┼', '┤'));
    const height = largest(
      row.map((lines) => lines.length),
      0,
    );
    for (let k = 0; k < height; k++) {
      const cells: string[] = [];
      for (let c = 0; c < cols; c++) cells.push(` ${pad(row[c]?.[k] ?? '', widths[c] as number)} `);
      out.push('│' + cells.join('│') + '│');
    }
  });
  out.push(line('└', '┴', '┘'));
  return out;
}

export function totalsLine(findings: readonly Finding[]): string {
  const counts = countSeverities(findings);
  return `Total: ${findings.length} (${SEVERITIES.map((s) => `${s}: ${counts[s]}`).join(', ')})`;
}

function section(result: ReportResult, report: ScanReport, opts: TableOptions): string[] {
  const title = cut(result.class === 'os-pkgs' ? result.target : `${result.target} (${result.type})`, 1024);
  const out = [title, '='.repeat(width(title))];
  if (result.class === 'os-pkgs' && report.eol?.endOfLife) {
    const note = `WARNING: this OS version reached end of life${report.eol.date ? ` on ${report.eol.date}` : ''}; it gets no security updates and detection may be incomplete`;
    out.push(opts.color ? `\x1b[33m${note}${RESET}` : note);
  }
  out.push(totalsLine(result.findings), '');
  if (result.findings.length > 0) {
    const rank = (f: Finding): number => SEVERITIES.indexOf(f.severity);
    const sorted = [...result.findings].sort(
      (a, b) =>
        (a.pkgName < b.pkgName ? -1 : a.pkgName > b.pkgName ? 1 : 0) ||
        rank(b) - rank(a) ||
        (a.vulnerabilityId < b.vulnerabilityId ? -1 : a.vulnerabilityId > b.vulnerabilityId ? 1 : 0),
    );
    const { rows, groupStart } = rowsFor(sorted, opts);
    for (const line of box(rows, groupStart)) out.push(line);
    out.push('');
  }
  return out;
}

/** The whole report as text. The OS target is always shown; language targets when they have findings. */
export function renderTable(report: ScanReport, opts: TableOptions = {}): string {
  const lines: string[] = [];
  for (const result of reportResults(report)) {
    if (result.class === 'lang-pkgs' && result.findings.length === 0) continue;
    lines.push('');
    for (const line of section(result, report, opts)) lines.push(line);
  }
  if (lines.length === 0) lines.push('', `${cut(report.artifactName, 1024)}: no OS and no language packages found`, '');
  const header = report.advisoryDb ? ['', `Advisory DB: ${cut(describeAdvisoryDb(report.advisoryDb), 1024)}`] : [];
  return [...header, ...lines].join('\n');
}
