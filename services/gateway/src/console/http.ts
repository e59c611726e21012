// Small HTTP helpers of the console server (node:http): JSON answers and errors, bounded bodies,
// the filter, page and cursor parameters every list shares.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppliedFilters, Severity } from './api.js';

/** An answer with a status and one message for people; never carries a stack trace out. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Headers every console answer carries (static files replace the CSP with the UI's own). */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: message }, headers);
}

/** Reads a request body of at most `limit` bytes (413 beyond, without reading the rest). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `request body too large: at most ${limit} bytes`, { connection: 'close' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `request body too large: at most ${limit} bytes`, { connection: 'close' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The body as an object: JSON, or a urlencoded form (flat string fields). */
export async function readFields(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const body = (await readBody(req, limit)).toString('utf8');
  if (type === 'application/json') {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      throw new HttpError(400, 'the request body is not valid JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'the request body must be a JSON object');
    return value as Record<string, unknown>;
  }
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(body));
  throw new HttpError(415, 'send application/json or application/x-www-form-urlencoded');
}

/** A percent-encoded path segment decoded; bad encoding (`%E0%A4%A`, `%ff`) is a 400, not a 500. */
export function decodeSegment(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `${what}: not valid percent-encoding`);
  }
}

export const SEVERITIES: readonly Severity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'];
const MAX_GLOB = 256;

/** A query parameter given at most once (a repeated one is a 400). */
export function param(query: URLSearchParams, name: string): string | undefined {
  const all = query.getAll(name);
  if (all.length > 1) throw new HttpError(400, `parameter ${name} is given ${all.length} times`);
  return all[0];
}

export function filtersOf(query: URLSearchParams): AppliedFilters {
  const repo = param(query, 'repo')?.trim() ?? '';
  if (repo.length > MAX_GLOB) throw new HttpError(400, `repo: a glob of at most ${MAX_GLOB} characters`);
  const severities: Severity[] = [];
  for (const part of (param(query, 'severity') ?? '').split(',')) {
    const name = part.trim().toUpperCase();
    if (name === '') continue;
    if (!SEVERITIES.includes(name as Severity))
      throw new HttpError(400, `severity: unknown severity ${JSON.stringify(part.trim().slice(0, 40))} (use ${SEVERITIES.join(', ')})`);
    if (!severities.includes(name as Severity)) severities.push(name as Severity);
  }
  severities.sort((a, b) => SEVERITIES.indexOf(a) - SEVERITIES.indexOf(b));
  const fixed = param(query, 'fixedOnly') ?? '0';
  if (!['', '0', '1', 'true', 'false'].includes(fixed)) throw new HttpError(400, 'fixedOnly: 1 or 0');
  return { ...(repo ? { repo } : {}), severities, fixedOnly: fixed === '1' || fixed === 'true' };
}

/** A repository glob (`*` any run, `?` one character) as a LIKE pattern (escape `\`). */
export function globToLike(glob: string): string {
  let out = '';
  for (const ch of glob) {
    if (ch === '*') out += '%';
    else if (ch === '?') out += '_';
    else if (ch === '%' || ch === '_' || ch === '\\') out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

export function limitOf(query: URLSearchParams, fallback = 50, max = 200): number {
  const raw = param(query, 'limit');
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,4}$/.test(raw)) throw new HttpError(400, `limit: a whole number from 1 to ${max}`);
  const n = Number(raw);
  if (n < 1 || n > max) throw new HttpError(400, `limit: a whole number from 1 to ${max}`);
  return n;
}

/** Keyset cursors: the sort key of the last row of a page, as base64url JSON (an array of strings/numbers). */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Decodes a cursor of `shape` ('s' string, 'n' integer per element); a bad one is a 400. */
export function decodeCursor(raw: string | undefined, shape: string): (string | number)[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const bad = () => new HttpError(400, 'cursor: not a cursor this list gave out (start again without it)');
  if (raw.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(raw)) throw bad();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(value) || value.length !== shape.length) throw bad();
  for (const [i, v] of value.entries()) {
    if (shape[i] === 's' ? typeof v !== 'string' || v.length > 1024 : !Number.isSafeInteger(v)) throw bad();
  }
  return value as (string | number)[];
}
