// Environment settings of the watcher service, on top of @strata/service-runtime's.
import { setting, type ConfigOf, type Setting } from '@strata/config';
import type { RuntimeConfig } from '@strata/service-runtime';
import { findingsDbSettings, registryCredentialsSetting } from '@strata/stage-runtime';

export interface WatchedRegistry {
  /** host[:port], as in image references */
  host: string;
  /** repository globs (`*` within a segment, `**` across); none: every repository */
  include: string[];
  exclude: string[];
  /** entry of STRATA_REGISTRY_CREDENTIALS for the crawl, passed on to the fetcher as credentials_ref */
  credentialsRef?: string;
  /** plain HTTP for a registry that is not on loopback */
  insecure: boolean;
  /** requests per second to this registry (0: no limit) */
  requestsPerSecond: number;
  /**
   * the repositories to crawl, for registries that do not serve `/v2/_catalog` (Docker Hub, GHCR,
   * ECR); `[]` crawls nothing (push notifications only). Unset: the catalog, through include/exclude.
   */
  repositories?: string[];
}

export const DEFAULT_REQUESTS_PER_SECOND = 10;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** a repository name as the distribution spec allows it */
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string' && s !== '');

/** Parses the STRATA_WATCH_REGISTRIES JSON list; every problem is named with the entry. */
export function parseWatchedRegistries(raw: string): WatchedRegistry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('must be JSON: a list of {"host", "include"?, "exclude"?, "repositories"?, "credentialsRef"?, "insecure"?, "requestsPerSecond"?}');
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new Error('must be a non-empty JSON list of registries');
  const problems: string[] = [];
  const out: WatchedRegistry[] = [];
  const hosts = new Set<string>();
  parsed.forEach((entry: unknown, i) => {
    const where = `entry ${i}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return void problems.push(`${where} is not an object`);
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e))
      if (!['host', 'include', 'exclude', 'repositories', 'credentialsRef', 'insecure', 'requestsPerSecond'].includes(key))
        problems.push(`${where} has an unknown field "${key}"`);
    if (typeof e.host !== 'string' || !HOST.test(e.host))
      return void problems.push(`${where}: "host" must be host[:port] (no scheme, no path), got ${JSON.stringify(e.host)}`);
    const at = `registry ${e.host}`;
    if (hosts.has(e.host)) problems.push(`${at} is listed twice`);
    hosts.add(e.host);
    if (e.include !== undefined && !isStringList(e.include)) problems.push(`${at}: "include" must be a list of globs`);
    if (e.exclude !== undefined && !isStringList(e.exclude)) problems.push(`${at}: "exclude" must be a list of globs`);
    const repositories = e.repositories;
    if (repositories !== undefined && (!Array.isArray(repositories) || !repositories.every((r) => typeof r === 'string' && REPOSITORY.test(r))))
      problems.push(`${at}: "repositories" must be a list of repository names (lowercase path components, no tag)`);
    if (e.credentialsRef !== undefined && (typeof e.credentialsRef !== 'string' || e.credentialsRef === ''))
      problems.push(`${at}: "credentialsRef" must name an entry of STRATA_REGISTRY_CREDENTIALS`);
    if (e.insecure !== undefined && typeof e.insecure !== 'boolean') problems.push(`${at}: "insecure" must be true or false`);
    if (e.requestsPerSecond !== undefined && (typeof e.requestsPerSecond !== 'number' || !(e.requestsPerSecond >= 0)))
      problems.push(`${at}: "requestsPerSecond" must be a number >= 0`);
    out.push({
      host: e.host,
      include: isStringList(e.include) ? e.include : [],
      exclude: isStringList(e.exclude) ? e.exclude : [],
      ...(typeof e.credentialsRef === 'string' && e.credentialsRef !== '' ? { credentialsRef: e.credentialsRef } : {}),
      insecure: e.insecure === true,
      requestsPerSecond: typeof e.requestsPerSecond === 'number' ? e.requestsPerSecond : DEFAULT_REQUESTS_PER_SECOND,
      ...(Array.isArray(repositories) ? { repositories: [...new Set(repositories as string[])].sort() } : {}),
    });
  });
  if (problems.length > 0) throw new Error(problems.join('; '));
  return out;
}

const watchRegistries: Setting<WatchedRegistry[]> = {
  description:
    'registries to watch, JSON [{"host": "registry.example.com", "include": ["team/**"], "exclude": ["team/tmp-*"], "repositories": ["team/app"] (no _catalog; [] for push notifications only), "credentialsRef": "<STRATA_REGISTRY_CREDENTIALS entry>", "insecure": false, "requestsPerSecond": 10}]',
  parse(raw) {
    if (raw === undefined) throw new Error('is required but not set');
    return parseWatchedRegistries(raw);
  },
};

export const watcherSettings = {
  ...findingsDbSettings('scan records, and the push dedup keys (kept across restarts)'),
  STRATA_WATCH_REGISTRIES: watchRegistries,
  STRATA_REGISTRY_CREDENTIALS: registryCredentialsSetting,
  DOCKER_CONFIG: setting.optionalString({ description: "folder of Docker's config.json, for registries without credentialsRef (default ~/.docker)" }),
  STRATA_WATCH_INTERVAL_MS: setting.integer({
    description: 'pause between the end of one pass over the registries and the start of the next',
    default: 300_000,
    min: 100,
  }),
  STRATA_WATCH_ONCE: setting.boolean({ description: 'one pass over the registries, then exit (e.g. from a CronJob)', default: false }),
  STRATA_WATCHER_HOOK_PORT: setting.integer({
    description: 'port of the push-notification endpoint (POST /hooks/distribution, /hooks/harbor); -1: no endpoint, 0: any free port',
    default: -1,
    min: -1,
    max: 65535,
  }),
  STRATA_WATCHER_HOOK_HOST: setting.string({ description: 'address the push-notification endpoint binds to', default: '127.0.0.1' }),
  STRATA_WATCHER_HOOK_TOKEN: {
    description: 'bearer token the push notifications must carry (Authorization: Bearer <token>); required unless STRATA_WATCHER_HOOK_OPEN',
    secret: true,
    parse: (raw) => raw,
  } satisfies Setting<string | undefined>,
  STRATA_WATCHER_HOOK_OPEN: setting.boolean({
    description: 'accept push notifications without a token (only allowed with a loopback STRATA_WATCHER_HOOK_HOST)',
    default: false,
  }),
  STRATA_WATCHER_HOOK_MAX_BYTES: setting.integer({ description: 'largest notification body accepted', default: 1_048_576, min: 1024, max: 64 * 1_048_576 }),
  STRATA_WATCHER_HOOK_DEDUP_MS: setting.integer({
    description: 'window in which a replayed event id, or the same repository@digest, is requested once',
    default: 600_000,
    min: 0,
  }),
} satisfies Record<string, Setting<unknown>>;

export type WatcherConfig = ConfigOf<typeof watcherSettings> & RuntimeConfig;

/** Problems between settings: a registry naming a credential entry that is not configured. */
export function watcherConfigProblems(
  config: Pick<WatcherConfig, 'STRATA_WATCH_REGISTRIES' | 'STRATA_REGISTRY_CREDENTIALS'> &
    Partial<Pick<WatcherConfig, 'STRATA_WATCHER_HOOK_PORT' | 'STRATA_WATCHER_HOOK_HOST' | 'STRATA_WATCHER_HOOK_TOKEN' | 'STRATA_WATCHER_HOOK_OPEN'>>,
): string[] {
  const problems = config.STRATA_WATCH_REGISTRIES.filter(
    (r) => r.credentialsRef !== undefined && !(r.credentialsRef in config.STRATA_REGISTRY_CREDENTIALS),
  ).map((r) => `STRATA_WATCH_REGISTRIES: registry ${r.host} names credentials entry "${r.credentialsRef}", which STRATA_REGISTRY_CREDENTIALS does not hold`);
  if ((config.STRATA_WATCHER_HOOK_PORT ?? -1) >= 0) {
    const loopback = isLoopbackHost(config.STRATA_WATCHER_HOOK_HOST ?? '127.0.0.1');
    if (config.STRATA_WATCHER_HOOK_TOKEN === undefined && !config.STRATA_WATCHER_HOOK_OPEN)
      problems.push('STRATA_WATCHER_HOOK_TOKEN is required for the push-notification endpoint (or STRATA_WATCHER_HOOK_OPEN=true on loopback)');
    if (config.STRATA_WATCHER_HOOK_TOKEN === undefined && config.STRATA_WATCHER_HOOK_OPEN && !loopback)
      problems.push(`STRATA_WATCHER_HOOK_OPEN is only allowed on loopback, not on ${config.STRATA_WATCHER_HOOK_HOST}: set STRATA_WATCHER_HOOK_TOKEN`);
    if (config.STRATA_WATCHER_HOOK_TOKEN !== undefined && config.STRATA_WATCHER_HOOK_TOKEN.length < 16)
      problems.push('STRATA_WATCHER_HOOK_TOKEN must be at least 16 characters');
  }
  return problems;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
