// Push notifications: the payloads a registry sends when a manifest is pushed, parsed into the
// manifests to scan. Two shapes: Distribution's notification envelope
// (application/vnd.docker.distribution.events.v1+json, `notifications.endpoints` in its config) and
// Harbor's webhook (type PUSH_ARTIFACT). The input is untrusted: every field is checked for its
// type, sizes are bounded by the caller, and a bad payload is one HookPayloadError naming what is wrong.

/** One pushed manifest (or index) to scan. */
export interface PushedManifest {
  /** host[:port] the registry was pushed to, as the payload names it (matched against the watched registries) */
  host: string;
  repository: string;
  digest: string;
  /** the manifest's media type when the payload gives it (an index expands to its platforms) */
  mediaType?: string;
  tag?: string;
  /** the registry's id of the event, for replay detection (Distribution only) */
  eventId?: string;
}

export interface ParsedHook {
  pushes: PushedManifest[];
  /** events that are not manifest pushes (pulls, deletes, blob pushes, other Harbor types) */
  ignored: number;
}

export class HookPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HookPayloadError';
  }
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
/** most events one payload may carry (Distribution batches a few; Harbor lists an artifact's resources) */
export const MAX_HOOK_EVENTS = 1000;

const MANIFEST_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
]);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new HookPayloadError('the body is not JSON');
  }
}

function str(o: Json, key: string, where: string, pattern?: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '' || v.length > 4096) throw new HookPayloadError(`${where}.${key} must be a non-empty string`);
  if (pattern && !pattern.test(v)) throw new HookPayloadError(`${where}.${key} is not valid: ${JSON.stringify(v.slice(0, 200))}`);
  return v;
}

function optionalStr(o: Json, key: string, where: string, pattern: RegExp): string | undefined {
  if (o[key] === undefined || o[key] === '') return undefined;
  return str(o, key, where, pattern);
}

/** host[:port] of an http(s) URL, or undefined */
function urlHost(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length > 4096) return undefined;
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.host : undefined;
  } catch {
    return undefined;
  }
}

/** Distribution's notification envelope: `{"events": [{id, action, target: {mediaType, repository, digest, tag?, url}, request: {host}}]}`. */
export function parseDistributionEnvelope(body: string): ParsedHook {
  const doc = parseJson(body);
  if (!isObject(doc) || !Array.isArray(doc.events)) throw new HookPayloadError('a Distribution envelope is an object with an "events" list');
  if (doc.events.length > MAX_HOOK_EVENTS) throw new HookPayloadError(`more than ${MAX_HOOK_EVENTS} events in one envelope`);
  const pushes: PushedManifest[] = [];
  let ignored = 0;
  doc.events.forEach((event: unknown, i) => {
    const where = `events[${i}]`;
    if (!isObject(event)) throw new HookPayloadError(`${where} is not an object`);
    if (typeof event.action !== 'string') throw new HookPayloadError(`${where}.action must be a string`);
    if (!isObject(event.target)) throw new HookPayloadError(`${where}.target must be an object`);
    const target = event.target;
    if (event.action !== 'push' || typeof target.mediaType !== 'string' || !MANIFEST_TYPES.has(target.mediaType)) {
      ignored++;
      return;
    }
    const repository = str(target, 'repository', `${where}.target`, REPOSITORY);
    const digest = str(target, 'digest', `${where}.target`, DIGEST);
    const tag = optionalStr(target, 'tag', `${where}.target`, TAG);
    if (tag === undefined) {
      // Pushed by digest: a platform or attestation manifest of an index (buildx pushes those
      // before the tagged index). As in a crawl, it is scanned through the tag that names it: the
      // index expands to its platforms, attestations left out.
      ignored++;
      return;
    }
    const request = isObject(event.request) ? event.request : {};
    const host = (typeof request.host === 'string' && HOST.test(request.host) ? request.host : undefined) ?? urlHost(target.url);
    if (host === undefined || !HOST.test(host)) throw new HookPayloadError(`${where} names no registry host (request.host or target.url)`);
    const eventId = typeof event.id === 'string' && event.id !== '' && event.id.length <= 256 ? event.id : undefined;
    pushes.push({ host, repository, digest, mediaType: target.mediaType, ...(tag ? { tag } : {}), ...(eventId ? { eventId } : {}) });
  });
  return { pushes, ignored };
}

/** Harbor's webhook: `{"type": "PUSH_ARTIFACT", "event_data": {"resources": [{digest, tag, resource_url}], "repository": {repo_full_name}}}`. */
export function parseHarborWebhook(body: string): ParsedHook {
  const doc = parseJson(body);
  if (!isObject(doc) || typeof doc.type !== 'string') throw new HookPayloadError('a Harbor webhook is an object with a "type"');
  if (doc.type !== 'PUSH_ARTIFACT') return { pushes: [], ignored: 1 };
  if (!isObject(doc.event_data)) throw new HookPayloadError('event_data must be an object');
  const data = doc.event_data;
  if (!isObject(data.repository)) throw new HookPayloadError('event_data.repository must be an object');
  const repository = str(data.repository, 'repo_full_name', 'event_data.repository', REPOSITORY);
  if (!Array.isArray(data.resources) || data.resources.length === 0) throw new HookPayloadError('event_data.resources must be a non-empty list');
  if (data.resources.length > MAX_HOOK_EVENTS) throw new HookPayloadError(`more than ${MAX_HOOK_EVENTS} resources in one webhook`);
  const pushes = data.resources.map((resource: unknown, i): PushedManifest => {
    const where = `event_data.resources[${i}]`;
    if (!isObject(resource)) throw new HookPayloadError(`${where} is not an object`);
    const digest = str(resource, 'digest', where, DIGEST);
    const tag = optionalStr(resource, 'tag', where, TAG);
    // resource_url is `host/repository:tag` or `host/repository@digest`, without a scheme.
    const url = str(resource, 'resource_url', where);
    const host = url.split('/', 1)[0]!;
    if (!HOST.test(host) || !url.startsWith(`${host}/${repository}`))
      throw new HookPayloadError(`${where}.resource_url must be host/${repository}[:tag|@digest], got ${JSON.stringify(url.slice(0, 200))}`);
    return { host, repository, digest, ...(tag ? { tag } : {}) };
  });
  return { pushes, ignored: 0 };
}

/**
 * What the watcher remembers of the scans it requested (event ids, host/repository@digest) for
 * the dedup window: in memory, or in the findings DB (kept across restarts).
 */
export interface PushDedup {
  /** true when the key was not claimed within the window (now it is): request the scan; false: a duplicate */
  claim(key: string): Promise<boolean>;
  /** releases a claim whose request was not published */
  forget(key: string): Promise<void>;
}

/** The in-memory dedup (no findings DB): forgotten when the watcher restarts. */
export function memoryDedup(windowMs: number): PushDedup {
  const window = createDedupWindow(windowMs);
  return {
    claim: async (key) => {
      if (window.seen(key)) return false;
      window.record(key);
      return true;
    },
    forget: async (key) => window.forget(key),
  };
}

/**
 * Remembers keys for `windowMs`: `seen(key)` is true when the key was recorded within the window.
 * Bounded: at most `max` keys, the oldest dropped first.
 */
export function createDedupWindow(windowMs: number, max = 100_000, now: () => number = Date.now) {
  const keys = new Map<string, number>();
  const prune = () => {
    const cutoff = now() - windowMs;
    for (const [key, at] of keys) {
      if (at > cutoff && keys.size <= max) break;
      keys.delete(key);
    }
  };
  return {
    seen(key: string): boolean {
      prune();
      return keys.has(key);
    },
    forget(key: string): void {
      keys.delete(key);
    },
    record(key: string): void {
      keys.delete(key);
      keys.set(key, now());
      prune();
    },
    get size() {
      return keys.size;
    },
  };
}
