// Repository globs: `*` matches within one path segment, `**` across segments (also none, so
// `team/**` matches `team/app` and `team/a/b`, and `**/app` matches `app`), `?` one character.
// Everything else is literal.

const ESCAPE = /[.+^${}()|[\]\\]/g;

export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const before = i === 0 || glob[i - 1] === '/';
        const after = glob[i + 2] === '/';
        i++;
        if (before && after) {
          // `**/` : zero or more whole segments
          out += '(?:[^/]+/)*';
          i++;
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else {
      out += c.replace(ESCAPE, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

export interface RepositoryFilter {
  /** repository globs to watch (none: every repository) */
  include?: readonly string[];
  /** repository globs to leave out, even when included */
  exclude?: readonly string[];
}

/** A predicate on repository names: included by some include glob (or no include globs) and by no exclude glob. */
export function repositoryMatcher(filter: RepositoryFilter): (repository: string) => boolean {
  const include = (filter.include ?? []).map(globToRegExp);
  const exclude = (filter.exclude ?? []).map(globToRegExp);
  return (repository) => (include.length === 0 || include.some((re) => re.test(repository))) && !exclude.some((re) => re.test(repository));
}
