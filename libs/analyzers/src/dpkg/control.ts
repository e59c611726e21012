/** A deb822 paragraph: field names lower-cased, continuation lines joined with "\n". */
export interface Stanza {
  fields: Map<string, string>;
  /** 1-based line number where the stanza starts */
  line: number;
  /** the first few problems (see `problemCount` for all of them) */
  problems: string[];
  problemCount: number;
}

/**
 * lineBytes' name for any field that is not kept: never a field name (those are printable ASCII),
 * so never in a stanza's fields, which is all a continuation line asks of the field it continues.
 */
const OTHER_FIELD = '\u0000other';

/** A kept field's name, as lower-case bytes too, and its last value (see ControlParser.valueOf). */
interface KeptField {
  name: string;
  bytes: Buffer;
  last: { raw: string; text: string } | undefined;
}

/** Longest value compared with the field's last one before decoding. */
const MAX_REPEATED_VALUE = 64;

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

  /** the kept field names by length, as lower-case bytes (lineBytes matches names without decoding them) */
  private readonly keptByLength = new Map<number, KeptField[]>();

  constructor(
    private readonly onStanza: (stanza: Stanza) => void,
    private readonly keep?: ReadonlySet<string>,
  ) {
    for (const name of keep ?? []) {
      const bytes = Buffer.from(name, 'latin1');
      const list = this.keptByLength.get(bytes.length) ?? [];
      list.push({ name, bytes, last: undefined });
      this.keptByLength.set(bytes.length, list);
    }
  }

  /** The kept field named by bytes start..end (printable ASCII, any case), or undefined. */
  private keptField(buf: Buffer, start: number, end: number): KeptField | undefined {
    const candidates = this.keptByLength.get(end - start);
    if (candidates === undefined) return undefined;
    next: for (const field of candidates) {
      const bytes = field.bytes;
      for (let i = 0; i < bytes.length; i++) {
        const b = buf[start + i]!;
        if ((b >= 0x41 && b <= 0x5a ? b + 0x20 : b) !== bytes[i]) continue next;
      }
      return field;
    }
    return undefined;
  }

  /**
   * The trimmed text of a kept field's value (bytes start..end). The same ASCII bytes as the
   * field's last value give the same string, not decoded again: Status and Architecture repeat in
   * every stanza. (Compared with the last decoded text, so no buffer is held.)
   */
  private valueOf(field: KeptField, buf: Buffer, start: number, end: number): string {
    const length = end - start;
    const last = field.last;
    if (last !== undefined && last.raw.length === length) {
      let i = 0;
      for (; i < length; i++) {
        const b = buf[start + i]!;
        // ASCII only: a lone byte 0xE9 is not the "é" it equals as a number (it decodes to U+FFFD)
        if (b >= 0x80 || b !== last.raw.charCodeAt(i)) break;
      }
      if (i === length) return last.text;
    }
    const raw = buf.toString('utf8', start, end);
    const text = raw.trim();
    field.last = length <= MAX_REPEATED_VALUE ? { raw, text } : undefined;
    return text;
  }

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
      this.notFieldLine(n);
      return;
    }
    const field = name.toLowerCase();
    this.lastField = field;
    if (this.keep && !this.keep.has(field)) return;
    if (current.fields.has(field)) this.problem(`line ${n}: duplicate field ${name}`);
    current.fields.set(field, line.slice(colon + 1).trim());
  }

  /**
   * The same as `line(text)` for a line still in its buffer (bytes `start` to `end`, without the
   * "\n"; see ByteLineSink). The common lines are taken here without decoding: blank lines, lines
   * of fields that are not kept and their continuations, and `Field: value` lines of kept fields,
   * whose value alone is decoded. Anything else (a line starting with a byte outside printable
   * ASCII, no colon, an odd field name) is decoded and goes through `line`.
   */
  lineBytes(buf: Buffer, start: number, end: number): void {
    // LineSplitter's "\r" (the one `line` receives without), then line()'s own
    if (end > start && buf[end - 1] === 0x0d) end--;
    const text = end > start && buf[end - 1] === 0x0d ? end - 1 : end;
    if (text === start) {
      ++this.lineNo;
      this.end();
      return;
    }
    const first = buf[start]!;
    if (first === 0x20 || first === 0x09) {
      // a continuation line, unless it is blank; only the continuations of a field not kept are skipped here
      const field = this.lastField;
      if (field === undefined || this.current === undefined || this.current.fields.has(field)) return this.line(buf.toString('utf8', start, end));
      for (let i = start + 1; i < text; i++) {
        const b = buf[i]!;
        if (b >= 0x80) break; // maybe Unicode white space: decide on the text
        if (b > 0x20 || b < 0x09 || (b > 0x0d && b < 0x20)) {
          ++this.lineNo;
          return;
        }
      }
      return this.line(buf.toString('utf8', start, end));
    }
    if (first < 0x21 || first > 0x7e || first === 0x23 /* # */) return this.line(buf.toString('utf8', start, end));
    // the field name: printable ASCII up to the first colon (scanned here, never past the line);
    // anything else before it, or no colon, or an empty name, is not a "Field: value" line
    let colon = start + 1;
    let named = first !== 0x3a;
    for (; colon < text; colon++) {
      const b = buf[colon]!;
      if (b === 0x3a) break;
      if (b < 0x21 || b > 0x7e) {
        named = false;
        break;
      }
    }
    if (colon === text) named = false;
    const n = ++this.lineNo;
    let current = this.current;
    if (!current) {
      current = { fields: new Map(), line: n, problems: [], problemCount: 0 };
      this.current = current;
    }
    if (!named) {
      this.notFieldLine(n);
      return;
    }
    if (!this.keep) {
      const field = buf.toString('latin1', start, colon).toLowerCase();
      this.lastField = field;
      if (current.fields.has(field)) this.problem(`line ${n}: duplicate field ${buf.toString('latin1', start, colon)}`);
      current.fields.set(field, buf.toString('utf8', colon + 1, text).trim());
      return;
    }
    const kept = this.keptField(buf, start, colon);
    if (kept === undefined) {
      this.lastField = OTHER_FIELD;
      return;
    }
    this.lastField = kept.name;
    if (current.fields.has(kept.name)) this.problem(`line ${n}: duplicate field ${buf.toString('latin1', start, colon)}`);
    current.fields.set(kept.name, this.valueOf(kept, buf, colon + 1, text));
  }

  /** Finishes the stanza in progress (call once more at the end of the input). */
  end(): void {
    const done = this.current;
    this.current = undefined;
    this.lastField = undefined;
    if (!done) return;
    this.onStanza(done);
  }

  /** A line that is neither `Field: value` nor a continuation (the message is only built when kept). */
  private notFieldLine(n: number): void {
    const current = this.current!;
    current.problemCount++;
    if (current.problems.length < MAX_PROBLEMS_KEPT) current.problems.push(`line ${n}: not a "Field: value" line`);
    this.lastField = undefined;
  }

  private problem(message: string): void {
    const current = this.current!;
    current.problemCount++;
    if (current.problems.length < MAX_PROBLEMS_KEPT) current.problems.push(message);
  }
}
