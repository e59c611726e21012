import type { Readable } from 'node:stream';

/**
 * Longest line a line-oriented package DB parser keeps (dpkg status, apk installed, METADATA):
 * longer lines are cut here and flagged, so that one hostile line costs at most this much memory.
 */
export const MAX_LINE_BYTES = 64 * 1024;

/** Receives each line (without its "\n" and a trailing "\r"); `cut` when the line was longer than the bound. */
export type LineSink = (line: string, cut: boolean) => void;

/**
 * Receives a whole line that is still in its chunk, undecoded: bytes `start` to `end` of `chunk`
 * (without the "\n", with any "\r"). A parser that skips most lines (fields it does not keep)
 * saves decoding them; it must treat the bytes exactly as the LineSink would treat their text.
 */
export type ByteLineSink = (chunk: Buffer, start: number, end: number) => void;

/**
 * Splits byte chunks into lines holding at most one (bounded) line in memory. Lines are decoded as
 * UTF-8 one by one, so invalid bytes become U+FFFD where they are.
 */
export class LineSplitter {
  private pieces: Buffer[] = [];
  private kept = 0;
  private cut = false;

  constructor(
    private readonly sink: LineSink,
    private readonly maxLine = MAX_LINE_BYTES,
    /** when given, whole lines inside one chunk go here undecoded (the rest still go to `sink`) */
    private readonly bytes?: ByteLineSink,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      if (nl >= 0 && this.kept === 0 && !this.cut && end - start <= this.maxLine) {
        // the common case: a whole line inside this chunk, decoded in place (or not at all)
        if (this.bytes) {
          this.bytes(chunk, start, end);
          start = nl + 1;
          continue;
        }
        let line = chunk.toString('utf8', start, end);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        this.sink(line, false);
        start = nl + 1;
        continue;
      }
      this.keep(chunk.subarray(start, end));
      if (nl < 0) return;
      this.flush();
      start = nl + 1;
    }
  }

  /** Emits the last line when the input does not end with "\n". */
  end(): void {
    if (this.kept > 0 || this.cut) this.flush();
  }

  private keep(part: Buffer): void {
    const room = this.maxLine - this.kept;
    if (part.length > room) this.cut = true;
    const taken = part.length > room ? part.subarray(0, room) : part;
    if (taken.length === 0) return;
    this.pieces.push(Buffer.from(taken));
    this.kept += taken.length;
  }

  private flush(): void {
    let line = (this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.kept)).toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const cut = this.cut;
    this.pieces = [];
    this.kept = 0;
    this.cut = false;
    this.sink(line, cut);
  }
}

/** Every line of a Buffer or a stream, with bounded memory (see LineSplitter). */
export async function forEachLine(content: Readable | Buffer, sink: LineSink, maxLine = MAX_LINE_BYTES, bytes?: ByteLineSink): Promise<void> {
  const splitter = new LineSplitter(sink, maxLine, bytes);
  if (Buffer.isBuffer(content)) {
    splitter.push(content);
  } else {
    for await (const chunk of content) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  }
  splitter.end();
}

/** Every line of a string (for callers that already hold the text), cut at `maxLine` UTF-16 units. */
export function forEachLineOfText(text: string, sink: LineSink, maxLine = MAX_LINE_BYTES): void {
  let start = 0;
  while (start < text.length) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    let line = text.slice(start, Math.min(nl, start + maxLine));
    if (line.endsWith('\r')) line = line.slice(0, -1);
    sink(line, nl - start > maxLine);
    start = nl + 1;
  }
}

/** A "Name: value" header line (JAR manifest, Python core metadata): the name lower-cased and the value trimmed; undefined when it names nothing. */
export function headerField(line: string): { name: string; value: string } | undefined {
  const colon = line.indexOf(':');
  if (colon <= 0) return undefined;
  return { name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() };
}
