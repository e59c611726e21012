// The catalog and tag lists, page by page along the registry's Link headers.
import { NotFoundError, RegistryError } from '../errors.js';
import { readAll } from '../digest.js';
import { bodyChunks, errorDetail } from './http.js';
import { send } from './request.js';
import { repoPath, signalFor, type Session } from './session.js';
import type { RequestContext } from './types.js';

/** A cap on pages, so a registry whose Link headers loop cannot keep us listing forever. */
const MAX_PAGES = 100_000;
const MAX_PAGE_BYTES = 16 * 1024 * 1024;

export type ListRequest = RequestContext & { pageSize?: number };

/** The `rel="next"` target of a Link header, if any. */
export function parseNextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]*)>\s*;(.*)/.exec(part);
    if (m && /rel\s*=\s*"?next"?/i.test(m[2] as string)) return m[1];
  }
  return undefined;
}

async function listPaged(
  session: Session,
  path: string,
  key: 'repositories' | 'tags',
  scope: string,
  ctx: ListRequest,
  repository?: string,
): Promise<string[]> {
  const { registry } = session;
  const signal = signalFor(session, ctx);
  let url: string | undefined = `${session.baseUrl}${path}${ctx.pageSize ? `?n=${ctx.pageSize}` : ''}`;
  const out: string[] = [];
  for (let page = 0; url !== undefined; page++) {
    if (page > MAX_PAGES) throw new RegistryError(`registry ${registry}: ${path} pagination does not end`, { registry });
    const res = await send(session, {
      method: 'GET',
      url,
      scope,
      headers: { Accept: 'application/json' },
      ...(repository !== undefined ? { repository } : {}),
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404) {
      const detail = await errorDetail(res);
      throw new NotFoundError(`${repository ? `repository ${repository}` : 'catalog'} not found at registry ${registry}${detail ? ` (${detail})` : ''}`, {
        registry,
        status: 404,
        ...(repository !== undefined ? { repository } : {}),
      });
    }
    if (!res.ok) {
      const detail = await errorDetail(res);
      throw new RegistryError(`registry ${registry} answered HTTP ${res.status} to ${path}${detail ? `: ${detail}` : ''}`, {
        registry,
        status: res.status,
      });
    }
    const text = (await readAll(bodyChunks(res), MAX_PAGE_BYTES, `${path} page`)).toString('utf8');
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new RegistryError(`registry ${registry} returned a ${path} page that is not JSON`, { registry });
    }
    const items = parsed[key];
    if (Array.isArray(items)) for (const item of items) if (typeof item === 'string') out.push(item);
    const next = parseNextLink(res.headers.get('link'));
    url = next === undefined ? undefined : new URL(next, url).toString();
  }
  return out;
}

export function listRepositories(session: Session, ctx: ListRequest = {}): Promise<string[]> {
  return listPaged(session, '/v2/_catalog', 'repositories', 'registry:catalog:*', ctx);
}

export function listTags(session: Session, repository: string, ctx: ListRequest = {}): Promise<string[]> {
  return listPaged(session, `/v2/${repoPath(repository)}/tags/list`, 'tags', `repository:${repository}:pull`, ctx, repository);
}
