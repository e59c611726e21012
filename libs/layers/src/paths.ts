/**
 * Normalizes a tar entry name to a root-relative path: no leading `./` or `/`, no empty or `.`
 * segments, no trailing `/`; `..` is resolved lexically. Returns undefined for a path that climbs
 * above the root (`../x`, `a/../../x`, `/../x`) or contains a NUL. The root itself (`.`, `./`, `/`)
 * normalizes to ''.
 */
export function normalizeLayerPath(raw: string): string | undefined {
  if (raw.includes('\0')) return undefined;
  // fast path for the common already-clean name
  if (raw !== '' && !raw.startsWith('/') && !raw.endsWith('/') && !/(^|\/)\.{1,2}(\/|$)|\/\//.test(raw)) return raw;
  const out: string[] = [];
  for (const segment of raw.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else {
      out.push(segment);
    }
  }
  return out.join('/');
}

export interface ResolvedLink {
  /** root-relative normalized target, or the raw target when it escapes the root */
  target: string;
  escapes: boolean;
}

/**
 * Symlink targets are relative to the link's directory, or absolute (then relative to the image
 * root). Hardlink targets name another entry of the archive, so they are root-relative.
 */
export function resolveLinkTarget(linkPath: string, raw: string, kind: 'symlink' | 'hardlink'): ResolvedLink {
  let joined = raw;
  if (kind === 'symlink' && !raw.startsWith('/')) {
    const slash = linkPath.lastIndexOf('/');
    joined = slash === -1 ? raw : `${linkPath.slice(0, slash)}/${raw}`;
  }
  const target = normalizeLayerPath(joined);
  return target === undefined ? { target: raw, escapes: true } : { target, escapes: false };
}
