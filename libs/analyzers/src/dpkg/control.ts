/** A deb822 paragraph: field names lower-cased, continuation lines joined with "\n". */
export interface Stanza {
  fields: Map<string, string>;
  /** 1-based line number where the stanza starts */
  line: number;
  /** the first few problems (see `problemCount` for all of them) */
  problems: string[];
  problemCount: number;
}

/** Problems kept per stanza; the rest are only counted. */
const MAX_PROBLEMS_KEPT = 3;
/** Longest value kept for one field (continuation lines included); the rest is cut and flagged. */
export const MAX_FIELD_CHARS = 64 * 1024;

/**
 * Splits a dpkg control file (status, status.d entry) into stanzas, one line at a time, and hands
 * each finished stanza to `onStanza`. Never throws: lines that are neither `Field: value` nor
 * continuations are reported in the stanza's `problems`. When `keep` is given only those fields
 * (lower-case names) are stored, so memory stays bounded whatever the other fields hold.
 */
export class ControlParser {
  private current: Stanza | undefined;
  private lastField: string | undefined;
  private lineNo = 0;

  constructor(
    private readonly onStanza: (stanza: Stanza) => void,
    private readonly keep?: ReadonlySet<string>,
  ) {}

  line(raw: string, cut = false): void {
    const n = ++this.lineNo;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      this.end();
      return;
    }
    let current = this.current;
    if (!current) {
      current = { fields: new Map(), line: n, problems: [], problemCount: 0 };
      this.current = current;
    }
    if (cut) this.problem(`line ${n}: longer than the line limit; cut`);
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (this.lastField === undefined) {
        this.problem(`line ${n}: continuation line without a field`);
        return;
      }
      if (!current.fields.has(this.lastField)) return; // a field that is not kept
      const value = `${current.fields.get(this.lastField) ?? ''}\n${line.trim()}`;
      if (value.length > MAX_FIELD_CHARS) {
        this.problem(`line ${n}: field ${this.lastField} longer than ${MAX_FIELD_CHARS} characters; cut`);
        this.lastField = `\u0000cut`;
        return;
      }
      current.fields.set(this.lastField, value);
      return;
    }
    if (line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!/^[!-9;-~]+$/.test(name)) {
      this.problem(`line ${n}: not a "Field: value" line`);
      this.lastField = undefined;
      return;
    }
    const field = name.toLowerCase();
    this.lastField = field;
    if (this.keep && !this.keep.has(field)) return;
    if (current.fields.has(field)) this.problem(`line ${n}: duplicate field ${name}`);
    current.fields.set(field, line.slice(colon + 1).trim());
  }

  /** Finishes the stanza in progress (call once more at the end of the input). */
  end(): void {
    const done = this.current;
    this.current = undefined;
    this.lastField = undefined;
    if (done) this.onStanza(done);
  }

  private problem(message: string): void {
    const current = this.current!;
    current.problemCount++;
    if (current.problems.length < MAX_PROBLEMS_KEPT) current.problems.push(message);
  }
}
