// Registry credentials: explicit options, STRATA_USERNAME/STRATA_PASSWORD, then the Docker
// config.json (credHelpers, auths, credsStore), as `docker login` leaves them.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describeError } from '@strata/errors';
import { AuthError } from './errors.js';
import { DOCKER_HUB_REGISTRY } from './reference.js';

export interface Credentials {
  username: string;
  password: string;
  /** an OAuth2 refresh token (Docker config `identitytoken`); used instead of the password with bearer auth */
  identityToken?: string;
}

export interface CredentialOptions {
  username?: string;
  password?: string;
  /** directory holding config.json; default $DOCKER_CONFIG, else ~/.docker */
  dockerConfigDir?: string;
  /** environment to read STRATA_USERNAME/STRATA_PASSWORD/DOCKER_CONFIG from (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** bound on a credential helper's run time (default 30 s) */
  helperTimeoutMs?: number;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The keys `docker login` may have stored a registry under. */
function configKeys(registry: string): string[] {
  if (registry === DOCKER_HUB_REGISTRY) {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://registry-1.docker.io'];
  }
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `http://${registry}/v1/`, `https://${registry}/v2/`];
}

function normalizeKey(key: string): string {
  return key
    .replace(/^https?:\/\//, '')
    .replace(/\/(v1|v2)?\/?$/, '')
    .toLowerCase();
}

function lookup<T>(map: Record<string, T> | undefined, registry: string): T | undefined {
  if (!map) return undefined;
  for (const key of configKeys(registry)) if (map[key] !== undefined) return map[key];
  const wanted = registry === DOCKER_HUB_REGISTRY ? 'index.docker.io' : registry.toLowerCase();
  for (const [key, value] of Object.entries(map)) if (normalizeKey(key) === wanted) return value;
  return undefined;
}

/** Resolves credentials for a registry host; undefined means anonymous. */
export async function resolveCredentials(registry: string, options: CredentialOptions = {}): Promise<Credentials | undefined> {
  const env = options.env ?? process.env;
  if (options.username !== undefined && options.username !== '') {
    return { username: options.username, password: options.password ?? '' };
  }
  if (env.STRATA_USERNAME) return { username: env.STRATA_USERNAME, password: env.STRATA_PASSWORD ?? '' };
  const dir = options.dockerConfigDir ?? (env.DOCKER_CONFIG || join(homedir(), '.docker'));
  const file = join(dir, 'config.json');
  let config: DockerConfig;
  try {
    config = JSON.parse(await readFile(file, 'utf8')) as DockerConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AuthError(`cannot read Docker config ${file}: ${describeError(err)}`, { registry });
  }
  const helper = lookup(config.credHelpers, registry);
  if (helper) return runHelper(helper, registry, options.helperTimeoutMs ?? 30_000, env);
  const entry = lookup(config.auths, registry);
  if (entry) {
    if (entry.identitytoken) return { username: entry.username ?? '<token>', password: '', identityToken: entry.identitytoken };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon === -1) throw new AuthError(`Docker config ${file}: the "auth" entry for ${registry} is not base64 "user:password"`, { registry });
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username) return { username: entry.username, password: entry.password ?? '' };
  }
  if (config.credsStore) return runHelper(config.credsStore, registry, options.helperTimeoutMs ?? 30_000, env);
  return undefined;
}

/** Runs `docker-credential-<name> get` with the server URL on stdin (the credential-helper protocol). */
function runHelper(name: string, registry: string, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const server = registry === DOCKER_HUB_REGISTRY ? 'https://index.docker.io/v1/' : registry;
  const bin = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = execFile(bin, ['get'], { timeout: timeoutMs, env, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const text = `${stdout}\n${stderr}`;
        if (/credentials not found/i.test(text)) return resolve(undefined);
        const code = (err as NodeJS.ErrnoException).code;
        const reason =
          code === 'ENOENT'
            ? `${bin} not found on PATH`
            : (err as { killed?: boolean }).killed
              ? `timed out after ${timeoutMs} ms`
              : `exited with ${String((err as { code?: unknown }).code)}: ${stderr.trim().slice(0, 200)}`;
        return reject(new AuthError(`credential helper ${bin} failed for registry ${registry}: ${reason}`, { registry }));
      }
      try {
        const parsed = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (!parsed.Secret) return resolve(undefined);
        if (parsed.Username === '<token>') return resolve({ username: '<token>', password: '', identityToken: parsed.Secret });
        resolve({ username: parsed.Username ?? '', password: parsed.Secret });
      } catch {
        reject(new AuthError(`credential helper ${bin} printed something that is not JSON for registry ${registry}`, { registry }));
      }
    });
    child.stdin?.end(server);
  });
}
