// Test support shared by every project: where the real infrastructure and the shared reference
// data are, and a skip-or-fail gate so CI can never skip an integration suite silently.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type RegistryVariant = 'anonymous' | 'basic' | 'token';
export type Requirement = 'kafka' | 'minio' | 'registry' | 'postgres' | 'data' | 'trivy' | `tool:${string}` | `python:${string}`;

export interface KafkaInfo {
  brokers: string[];
}
/** Trivy built by infra/local/trivy.sh, the coverage oracle, and the empty Java DB it reads jars with offline. */
export interface TrivyInfo {
  bin: string;
  javaDbDir: string;
}

/**
 * The arguments of an offline Trivy scan to a CycloneDX file: `source` names the image (`--input
 * <archive>`, or a reference with its flags), `cacheDir` holds the Java DB, nothing is downloaded.
 */
export function trivyOfflineArgs(source: readonly string[], cacheDir: string, output: string): string[] {
  return [
    'image',
    ...source,
    '--cache-dir',
    cacheDir,
    '--offline-scan',
    '--skip-db-update',
    '--skip-java-db-update',
    '--format',
    'cyclonedx',
    '--quiet',
    '--output',
    output,
  ];
}
/** The environment Trivy runs in: this one, without progress bars. */
export const trivyEnv = (): NodeJS.ProcessEnv => ({ ...process.env, TRIVY_NO_PROGRESS: 'true' });

/** PostgreSQL of infra/local (STRATA_TEST_PG_URL): a role that may create databases. */
export interface PostgresInfo {
  url: string;
}
export interface S3Info {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
}
export interface RegistryInfo {
  /** host:port, plain HTTP on loopback */
  host: string;
  variant: RegistryVariant;
  username?: string;
  password?: string;
  /** token variant: key and certificate the test token server signs with */
  tokenKeyPath?: string;
  tokenCertPath?: string;
}

const env = (name: string): string | undefined => {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
};

export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const infra = {
  kafka(): KafkaInfo | undefined {
    const brokers = env('STRATA_TEST_KAFKA');
    return brokers ? { brokers: brokers.split(',').map((b) => b.trim()) } : undefined;
  },
  s3(): S3Info | undefined {
    const url = env('STRATA_TEST_S3');
    if (!url) return undefined;
    const parsed = new URL(url);
    const useSSL = parsed.protocol === 'https:';
    return {
      endPoint: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: env('STRATA_TEST_S3_ACCESS_KEY') ?? 'strata',
      secretKey: env('STRATA_TEST_S3_SECRET_KEY') ?? 'strata-secret-key',
    };
  },
  registry(variant: RegistryVariant = 'anonymous'): RegistryInfo | undefined {
    const name = { anonymous: 'STRATA_TEST_REGISTRY', basic: 'STRATA_TEST_REGISTRY_BASIC', token: 'STRATA_TEST_REGISTRY_TOKEN' }[variant];
    const host = env(name);
    if (!host) return undefined;
    const info: RegistryInfo = { host, variant };
    if (variant !== 'anonymous') {
      info.username = env('STRATA_TEST_REGISTRY_USER') ?? 'strata';
      info.password = env('STRATA_TEST_REGISTRY_PASSWORD') ?? 'strata-pass';
    }
    if (variant === 'token') {
      const key = env('STRATA_TEST_TOKEN_KEY');
      const cert = env('STRATA_TEST_TOKEN_CERT');
      if (key) info.tokenKeyPath = key;
      if (cert) info.tokenCertPath = cert;
    }
    return info;
  },
  postgres(): PostgresInfo | undefined {
    const url = env('STRATA_TEST_PG_URL');
    return url ? { url } : undefined;
  },
  trivy(): TrivyInfo | undefined {
    const bin = env('STRATA_TEST_TRIVY');
    const javaDbDir = env('STRATA_TEST_TRIVY_JAVA_DB');
    if (!bin || !javaDbDir || !existsSync(bin) || !existsSync(join(javaDbDir, 'trivy-java.db'))) return undefined;
    return { bin, javaDbDir };
  },
};

/** `$STRATA_DATA_DIR`, else `<repo>/../shared/data`; undefined when absent (a user's clone). */
export function sharedDataDir(): string | undefined {
  const dir = env('STRATA_DATA_DIR') ?? resolve(repoRoot, '../shared/data');
  return existsSync(dir) ? dir : undefined;
}

/** Where built test images and other generated fixtures are cached, outside the clone. */
export function fixturesCacheDir(): string {
  return join(env('STRATA_INFRA_CACHE') ?? join(homedir(), '.cache/strata-infra'), 'fixtures');
}

function toolExists(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${JSON.stringify(bin)}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function pythonHas(module: string): boolean {
  try {
    execFileSync('python3', ['-c', `import ${module}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function missing(requirement: Requirement): string | false {
  switch (requirement) {
    case 'kafka':
      return infra.kafka() ? false : 'Kafka not configured (STRATA_TEST_KAFKA unset; run infra/local/up.sh)';
    case 'minio':
      return infra.s3() ? false : 'MinIO not configured (STRATA_TEST_S3 unset; run infra/local/up.sh)';
    case 'registry':
      return infra.registry() ? false : 'registry not configured (STRATA_TEST_REGISTRY unset; run infra/local/up.sh)';
    case 'postgres':
      return infra.postgres() ? false : 'PostgreSQL not configured (STRATA_TEST_PG_URL unset; run infra/local/up.sh)';
    case 'data':
      return sharedDataDir() ? false : 'shared data not found (set STRATA_DATA_DIR or provide ../shared/data)';
    case 'trivy':
      return infra.trivy()
        ? false
        : 'Trivy not built (STRATA_TEST_TRIVY / STRATA_TEST_TRIVY_JAVA_DB unset or missing; run bash infra/local/trivy.sh, then source infra/local/env.sh)';
    default: {
      if (requirement.startsWith('python:')) {
        const module = requirement.slice('python:'.length);
        return pythonHas(module) ? false : `python module ${module} not installed (pip install -r the project's test-requirements.txt)`;
      }
      const bin = requirement.slice('tool:'.length);
      return toolExists(bin) ? false : `tool ${bin} not installed`;
    }
  }
}

function required(requirement: Requirement): boolean {
  if (requirement === 'data') return env('STRATA_REQUIRE_DATA') === '1' || env('STRATA_REQUIRE_INFRA') === '1';
  return env('STRATA_REQUIRE_INFRA') === '1';
}

/**
 * A skip reason for `test(name, { skip: skipUnless('kafka') }, ...)`, or false when everything is there.
 * Under STRATA_REQUIRE_INFRA=1 (CI) a missing requirement throws instead, so nothing is skipped silently.
 */
export function skipUnless(...requirements: Requirement[]): string | false {
  for (const requirement of requirements) {
    const reason = missing(requirement);
    if (!reason) continue;
    if (required(requirement)) throw new Error(`required for this test run but missing: ${reason}`);
    return reason;
  }
  return false;
}

/** A name unique to this process and call, for topics, buckets and groups in integration tests. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export { imagesJsonPath, loadImages, fixtureRef, skipUnlessImages } from './images.js';
export type { ImagesJson, FixtureImage, FixtureLayer, FixtureRef } from './images.js';

/** A loopback port nothing listens on (it was free a moment ago), for "server is down" tests. */
export async function closedLoopbackPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export { packTar, tarStream } from './tar.js';
export type { TarEntry } from './tar.js';
export { base256, paxHeader, paxRecord, rawTar, TAR_EOF, tarHeader, tarMember, tarPad } from './raw-tar.js';
export type { RawTarEntry, TarHeaderFields, TarType } from './raw-tar.js';
export { createZipWriter, zeroBomb, zip } from './zip.js';
export type { DeflatedBody, ZipEntry, ZipWriter } from './zip.js';
export { prng } from './random.js';
export { tempDirs } from './temp.js';
export { runGoProgram } from './go-program.js';
export { testAppSet, testLayer } from './inventory.js';
export { ociLayoutLayers } from './oci-layout.js';
export { eachLine } from './lines.js';
export { runBenchChildren } from './bench-children.js';
export type { LayoutLayer } from './oci-layout.js';
export { tarLayer, fileLayer, uniqueLayer, pushBlob, pushManifest, pushImage, pushIndex } from './push.js';
export type { BlobSource, LayerBlob, PushPlatform, PushedImage, PushedIndex } from './push.js';

/**
 * Runs a TypeScript process entry point (through tsx) with only `env` besides PATH and HOME, and
 * waits for it: for tests of what an entry does with its settings.
 */
export function runEntry(entry: string, env: Record<string, string>, timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', entry], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs a process entry with bad settings and asserts that it exits 2 and that its stderr names each
 * of `problems` (an entry reports every bad setting at once); returns the stderr for more checks.
 */
export function assertSettingsRefused(entry: string, env: Record<string, string>, problems: readonly RegExp[]): string {
  const result = runEntry(entry, env);
  assert.equal(result.status, 2, result.stderr);
  for (const problem of problems) assert.match(result.stderr, problem);
  return result.stderr;
}

export { deleteTopicsOfRun } from './kafka.js';
