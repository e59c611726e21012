// The dpkg parser's undecoded-line path (ControlParser.lineBytes) must read every input exactly as
// the line-by-line text path does: same packages, same warnings, whatever the bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter } from '../util/lines.js';
import { DpkgStatusParser } from './dpkg.js';

function parse(data: Buffer, chunkSizes: number[], bytes: boolean, defaultInstalled = false, maxPackages?: number) {
  const parser = new DpkgStatusParser(defaultInstalled, maxPackages);
  const splitter = new LineSplitter((line, cut) => parser.line(line, cut), 200, bytes ? (buf, start, end) => parser.lineBytes(buf, start, end) : undefined);
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const n = chunkSizes[i % chunkSizes.length]!;
    splitter.push(data.subarray(at, at + n));
    at += n;
  }
  splitter.end();
  return parser.finish();
}

/** Lines a status file may hold, ordinary and odd. */
const LINES: Array<string | Buffer> = [
  'Package: libc6',
  'package: zlib1g',
  'PACKAGE: Upper',
  'Status: install ok installed',
  'Status: deinstall ok config-files',
  'Status: install ok',
  'Status:   install   ok   unpacked  ',
  'Version: 2.36-9+deb12u4',
  'Version: 1:1.2.13.dfsg-1',
  'Version:',
  'Version:\t3.0\t',
  'Architecture: amd64',
  'Source: glibc (2.36-9)',
  'Source: openssl',
  'Description: a package',
  ' continued description',
  ' .',
  '\tcontinued with a tab',
  'Homepage: https://example.org/x',
  'Depends: libc6 (>= 2.34), zlib1g',
  '',
  '',
  ' ',
  '\t \t',
  '\r',
  ' \r',
  'Package: crlf\r',
  'Version: 1.0\r\r',
  '# a comment',
  'no colon here',
  ': empty name',
  'Bad Name: spaces',
  'Ünïcode: field name',
  'Package: ünïcode-välue',
  'Version: 1.0\u00a0',
  '\u00a0',
  ' \u00a0',
  '\u3000',
  ' \u2028 ',
  '\u000b',
  ' \u000b\u000c',
  ' \u0000',
  'Package: nul\u0000name',
  '\u0000Package: x',
  'Status: install ok installed\u0000',
  '\u007fDel: x',
  'Package:no-space',
  'Package: dup',
  'x'.repeat(300),
  `Description: ${'y'.repeat(250)}`,
  Buffer.from([0x50, 0x61, 0x63, 0x6b, 0x61, 0x67, 0x65, 0x3a, 0x20, 0xff, 0xfe]), // Package: <invalid UTF-8>
  Buffer.from([0x20, 0xc3]), // a continuation cut in the middle of a character
  Buffer.from([0xc2, 0xa0]), // U+00A0 alone
  Buffer.from([0x56, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x3a, 0x20, 0x31, 0xe2, 0x80]), // Version: 1<truncated>
  'Architecture: é',
  Buffer.from([0x41, 0x72, 0x63, 0x68, 0x69, 0x74, 0x65, 0x63, 0x74, 0x75, 0x72, 0x65, 0x3a, 0x20, 0xe9]), // Architecture: <0xE9 alone, not "é">
  'Architecture: amd64',
  'Architecture:  amd64 ',
];

/** A deterministic pseudo-random sequence (no Math.random: a failure must replay). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function corpus(seed: number, lines: number): Buffer {
  const rnd = lcg(seed);
  const parts: Buffer[] = [];
  for (let i = 0; i < lines; i++) {
    // mostly well-formed stanzas, with odd lines mixed in
    if (rnd() < 0.5) {
      const n = Math.floor(rnd() * 1000);
      parts.push(Buffer.from(`Package: p${n}\nStatus: install ok installed\nVersion: 1.${n}\nDescription: d\n more\n\n`));
    }
    const line = LINES[Math.floor(rnd() * LINES.length)]!;
    parts.push(Buffer.isBuffer(line) ? line : Buffer.from(line), Buffer.from('\n'));
  }
  if (rnd() < 0.5) parts.push(Buffer.from('Package: last\nStatus: install ok installed\nVersion: 9')); // no final newline
  return Buffer.concat(parts);
}

test('lineBytes and the text path read the same status files alike, whatever the chunking', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const data = corpus(seed, 40 + (seed % 60));
    const chunks = [[1 << 20], [7, 13, 1], [64], [3], [101, 5, 250]][seed % 5]!;
    for (const defaultInstalled of [false, true]) {
      const maxPackages = seed % 7 === 0 ? 3 : undefined;
      const text = parse(data, chunks, false, defaultInstalled, maxPackages);
      const bytes = parse(data, chunks, true, defaultInstalled, maxPackages);
      assert.deepEqual(bytes, text, `seed ${seed}, defaultInstalled ${defaultInstalled}: ${JSON.stringify(data.toString('latin1').slice(0, 400))}`);
    }
  }
});

test('every odd line alone, and after a field that is kept or not', () => {
  for (const line of LINES) {
    for (const before of ['', 'Package: a\n', 'Description: x\n', 'Version: 1\n']) {
      const data = Buffer.concat([Buffer.from(before), Buffer.isBuffer(line) ? line : Buffer.from(line), Buffer.from('\nStatus: install ok installed\n\n')]);
      assert.deepEqual(parse(data, [1 << 20], true, true), parse(data, [1 << 20], false, true), JSON.stringify(data.toString('latin1')));
    }
  }
});
