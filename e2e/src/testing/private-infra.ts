// A private Kafka broker and MinIO server on free loopback ports, for suites that kill and restart
// them (the faults suite, the recovery benchmark) without touching the shared infrastructure other
// tests run on. Uses what infra/local/install.sh cached: the Kafka jars and the MinIO binary; the
// same settings as infra/local/start.sh, data in a temp dir that close() removes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { repoRoot } from '@strata/testing';

const cacheDir = () => process.env.STRATA_INFRA_CACHE ?? join(homedir(), '.cache/strata-infra');
export const kafkaLibs = () => join(cacheDir(), 'kafka/libs');
export const minioBinary = () => join(cacheDir(), 'bin/minio');

/** Why the private infrastructure cannot start here (jars, binary or java missing), or false. */
export function privateInfraMissing(): string | false {
  if (!existsSync(kafkaLibs())) return `Kafka jars missing in ${kafkaLibs()} (run infra/local/install.sh)`;
  if (!existsSync(minioBinary())) return `MinIO binary missing at ${minioBinary()} (run infra/local/install.sh)`;
  if (spawnSync('java', ['-version'], { stdio: 'ignore' }).status !== 0) return 'java not found';
  return false;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function poll(what: string, timeoutMs: number, check: () => Promise<boolean>, alive: () => string | undefined): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    const dead = alive();
    if (dead) throw new Error(`${what} exited while starting: ${dead}`);
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A server process that can be killed (-9), stopped (SIGTERM) and started again on the same data. */
export interface PrivateServer {
  readonly address: string;
  readonly logFile: string;
  /** pid of the running process, or undefined when it is down */
  readonly pid: number | undefined;
  /** starts it (again) and resolves once it serves; returns how long that took */
  start(): Promise<number>;
  /** SIGKILL, resolves once the process is gone */
  kill9(): Promise<void>;
  /** SIGTERM, resolves once the process has exited */
  stop(): Promise<void>;
}

function processServer(
  name: string,
  logFile: string,
  address: string,
  command: () => { cmd: string; args: string[]; env?: Record<string, string> },
  ready: () => Promise<boolean>,
  readyTimeoutMs: number,
): PrivateServer {
  let child: ChildProcess | undefined;
  let exit: Promise<void> = Promise.resolve();
  let exitNote: string | undefined;
  const waitExit = async (signal: NodeJS.Signals) => {
    if (!child) return;
    child.kill(signal);
    await exit;
  };
  return {
    address,
    logFile,
    get pid() {
      return child?.pid;
    },
    async start() {
      if (child) throw new Error(`${name} is already running (pid ${child.pid})`);
      const { cmd, args, env } = command();
      const log = createWriteStream(logFile, { flags: 'a' });
      const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
      proc.stdout!.pipe(log);
      proc.stderr!.pipe(log);
      child = proc;
      exitNote = undefined;
      exit = new Promise((resolve) =>
        proc.on('exit', (code, signal) => {
          exitNote = `code ${code ?? signal}; see ${logFile}`;
          if (child === proc) child = undefined;
          resolve();
        }),
      );
      return poll(name, readyTimeoutMs, ready, () => (child === proc ? undefined : exitNote));
    },
    kill9: () => waitExit('SIGKILL'),
    stop: () => waitExit('SIGTERM'),
  };
}

export interface PrivateInfra {
  readonly dir: string;
  readonly kafka: PrivateServer & { readonly brokers: string[] };
  readonly minio: PrivateServer & { readonly endpoint: string; readonly accessKey: string; readonly secretKey: string };
  /** The STRATA_TEST_* variables of @strata/testing pointing at this infrastructure. */
  readonly testEnv: Record<string, string>;
  /** kills both servers and removes their data */
  close(): Promise<void>;
}

async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({ clientId: 'private-infra-probe', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1_000, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function startPrivateInfra(): Promise<PrivateInfra> {
  const missing = privateInfraMissing();
  if (missing) throw new Error(`cannot start a private Kafka and MinIO: ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'strata-private-infra-'));
  const [kafkaPort, controllerPort, minioPort, consolePort] = [await freePort(), await freePort(), await freePort(), await freePort()];

  // Kafka: the shared broker's settings (infra/local/kafka/server.properties) on other ports,
  // plus what makes a single fresh node quick to use: no initial group delay, few offset partitions.
  const kafkaData = join(dir, 'kafka-data');
  mkdirSync(kafkaData);
  const shared = readFileSync(join(repoRoot, 'infra/local/kafka/server.properties'), 'utf8')
    .replaceAll('127.0.0.1:19093', `127.0.0.1:${controllerPort}`)
    .replaceAll('127.0.0.1:19092', `127.0.0.1:${kafkaPort}`)
    .replaceAll('@DATA_DIR@', kafkaData);
  const conf = join(dir, 'server.properties');
  writeFileSync(
    conf,
    `${shared}\n# private test broker\noffsets.topic.replication.factor=1\noffsets.topic.num.partitions=6\ntransaction.state.log.replication.factor=1\ntransaction.state.log.min.isr=1\ngroup.initial.rebalance.delay.ms=0\ngroup.min.session.timeout.ms=6000\n`,
  );
  const javaOpts = [
    '-Xms256m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(repoRoot, 'infra/local/kafka/log4j.properties')}`,
  ];
  const classpath = `${kafkaLibs()}/*`;
  const format = spawnSync(
    'java',
    [...javaOpts, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', randomBytes(16).toString('base64url'), '-c', conf, '--ignore-formatted'],
    { encoding: 'utf8' },
  );
  if (format.status !== 0) throw new Error(`formatting the private Kafka storage failed: ${format.stderr || format.stdout}`);
  const brokers = [`127.0.0.1:${kafkaPort}`];
  const kafka = Object.assign(
    processServer(
      'private Kafka',
      join(dir, 'kafka.log'),
      brokers[0]!,
      () => ({ cmd: 'java', args: [...javaOpts, '-cp', classpath, 'kafka.Kafka', conf] }),
      () => kafkaAnswers(brokers),
      120_000,
    ),
    { brokers },
  );

  const accessKey = 'strata';
  const secretKey = 'strata-secret-key';
  const endpoint = `http://127.0.0.1:${minioPort}`;
  const minioData = join(dir, 'minio-data');
  mkdirSync(minioData);
  const minioServer = processServer(
    'private MinIO',
    join(dir, 'minio.log'),
    endpoint,
    () => ({
      cmd: minioBinary(),
      args: ['server', minioData, '--address', `127.0.0.1:${minioPort}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
      env: { MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_UPDATE: 'off', MINIO_BROWSER: 'off' },
    }),
    async () => (await fetch(`${endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(2_000) })).ok,
    60_000,
  );
  const minio = Object.assign(minioServer, { endpoint, accessKey, secretKey });

  const close = async () => {
    await Promise.allSettled([kafka.kill9(), minio.kill9()]);
    rmSync(dir, { recursive: true, force: true });
  };
  // A test run that dies must not leave a JVM behind.
  const onExit = () => {
    for (const pid of [kafka.pid, minio.pid])
      if (pid)
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
  };
  process.once('exit', onExit);
  try {
    await Promise.all([kafka.start(), minio.start()]);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    dir,
    kafka,
    minio,
    testEnv: { STRATA_TEST_KAFKA: brokers.join(','), STRATA_TEST_S3: endpoint, STRATA_TEST_S3_ACCESS_KEY: accessKey, STRATA_TEST_S3_SECRET_KEY: secretKey },
    close: async () => {
      process.removeListener('exit', onExit);
      await close();
    },
  };
}
