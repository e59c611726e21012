// Test-side expectations derived from Python's tarfile listing (see testing/index.ts): what a walk
// must report for an archive, given the documented mapping rules (normalization, whiteouts,
// sparse → 'other', links resolved against their directory).
import assert from 'node:assert/strict';
import { normalizeLayerPath, resolveLinkTarget } from '../paths.js';
import { sha256, type OracleMember, type Recorded } from './index.js';
import type { LayerEntry } from '../walk.js';

export interface Expected {
  entries: LayerEntry[];
  whiteouts: string[];
  opaque: string[];
  /** raw names of entries dropped as hostile */
  dropped: string[];
  /** path → sha256 of every regular file */
  files: Map<string, string>;
  sparse: Set<string>;
}

export function expectedFromOracle(members: OracleMember[]): Expected {
  const out: Expected = { entries: [], whiteouts: [], opaque: [], dropped: [], files: new Map(), sparse: new Set() };
  for (const m of members) {
    const path = normalizeLayerPath(m.name);
    if (path === undefined) {
      out.dropped.push(m.name);
      continue;
    }
    if (path === '') continue;
    const slash = path.lastIndexOf('/');
    const dir = slash === -1 ? '' : path.slice(0, slash);
    const base = path.slice(slash + 1);
    if (base.startsWith('.wh.')) {
      if (base === '.wh..wh..opq') out.opaque.push(dir);
      else if (!base.startsWith('.wh..wh.') && !['', '.', '..'].includes(base.slice(4))) {
        out.whiteouts.push(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
      }
      continue;
    }
    const type = m.sparse ? 'other' : m.type;
    const entry: LayerEntry = { path, type, mode: m.mode & 0o7777, size: m.size };
    if (m.type === 'symlink' || m.type === 'hardlink') {
      const link = resolveLinkTarget(path, m.linkname, m.type);
      entry.linkTarget = link.target;
      if (link.escapes) entry.linkEscapesRoot = true;
    }
    if (m.sparse) out.sparse.add(path);
    if (type === 'file' && m.sha256 !== undefined) out.files.set(path, m.sha256);
    out.entries.push(entry);
  }
  return out;
}

/** Asserts that a recorded walk reports exactly what the oracle read. */
export function assertMatchesOracle(rec: Recorded, expected: Expected, options: { allFilesWanted?: boolean; digestsOnly?: boolean } = {}): void {
  // old GNU 'S' sparse headers do not expose the real size to tar-stream: compare sizes elsewhere
  const comparable = (e: LayerEntry): LayerEntry => (expected.sparse.has(e.path) ? { ...e, size: -1 } : e);
  assert.deepEqual(rec.entries.map(comparable), expected.entries.map(comparable));
  assert.deepEqual(rec.whiteouts, expected.whiteouts);
  assert.deepEqual(rec.opaque, expected.opaque);
  for (const raw of expected.dropped) {
    assert.ok(
      rec.warnings.some((w) => w.path === raw || raw.startsWith(w.path.replace(/…$/, ''))),
      `a warning for dropped ${raw}`,
    );
  }
  assert.deepEqual(rec.asked, [...expected.files.keys()], 'wants is asked exactly for the regular files');
  if (options.allFilesWanted !== false) {
    assert.deepEqual([...rec.files.keys()].sort(), [...expected.files.keys()].sort());
    for (const [path, digest] of expected.files) {
      const got = rec.files.get(path)!;
      assert.equal(options.digestsOnly ? got.toString() : sha256(got), digest, `content of ${path}`);
    }
  }
}
