// Test support: writes zip files with Python's zipfile module (a real zip writer, as independent
// of the reader under test as the OSV bucket's own tooling). Zips no tool would write (lying sizes,
// bombs, unsafe names) come from @strata/testing's byte-level `zip`.
import { execFileSync } from 'node:child_process';

export interface ZipEntry {
  name: string;
  content: string | Buffer;
}

const WRITER = `
import json, sys, zipfile, base64
spec = json.load(sys.stdin)
with zipfile.ZipFile(spec["path"], "w", compression=zipfile.ZIP_DEFLATED) as z:
    for e in spec["entries"]:
        z.writestr(e["name"], base64.b64decode(e["data"]))
`;

export function writeZip(path: string, entries: ZipEntry[]): void {
  const spec = {
    path,
    entries: entries.map((e) => ({ name: e.name, data: Buffer.from(e.content).toString('base64') })),
  };
  execFileSync('python3', ['-c', WRITER], { input: JSON.stringify(spec), stdio: ['pipe', 'inherit', 'inherit'], maxBuffer: 1 << 30 });
}
