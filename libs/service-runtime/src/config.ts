// Environment settings every Strata service shares: where Kafka and the blob store are, topic and
// group naming, retry policy, the metrics endpoint. Services add their own settings to this spec.
import { SettingsError, loadConfig, setting, type ConfigOf, type Setting } from '@strata/config';

export const runtimeSettings = {
  KAFKA_BROKERS: setting.list({ description: 'Kafka bootstrap brokers, host:port[,host:port…]' }),
  KAFKA_CLIENT_ID: setting.optionalString({ description: 'Kafka client id (default strata-<service>)' }),
  // Recovery bounds (docs/distributed.md): a SIGKILLed member's partitions move after the session
  // timeout plus one heartbeat of the survivors. 6 s is the broker's default group.min.session.timeout.ms.
  KAFKA_SESSION_TIMEOUT_MS: setting.integer({
    description: 'consumer group session timeout: a silent (killed) member is dropped after this',
    default: 6_000,
    min: 6_000,
  }),
  KAFKA_HEARTBEAT_INTERVAL_MS: setting.integer({
    description: 'consumer heartbeat interval: members learn of a rebalance within it',
    default: 1_000,
    min: 100,
  }),
  KAFKA_REBALANCE_TIMEOUT_MS: setting.integer({
    description: 'how long a rebalance waits for busy members to rejoin; one still in a longer message is dropped from the round and its message redelivered',
    default: 15_000,
    min: 1_000,
  }),
  S3_ENDPOINT: setting.optionalString({ description: 'S3/MinIO endpoint URL, e.g. http://127.0.0.1:19000 (else STRATA_STORE_DIR)' }),
  S3_ACCESS_KEY: setting.optionalString({ description: 'S3 access key', secret: true }),
  S3_SECRET_KEY: setting.optionalString({ description: 'S3 secret key', secret: true }),
  S3_BUCKET: setting.string({ description: 'S3 bucket for blobs and documents (created when missing)', default: 'strata' }),
  S3_REGION: setting.optionalString({ description: 'S3 region (default us-east-1)' }),
  STRATA_STORE_DIR: setting.optionalString({ description: 'filesystem blob store (single machine), used when S3_ENDPOINT is unset' }),
  STRATA_TOPIC_PREFIX: setting.optionalString({ description: 'prefix of every topic and consumer group name (isolates test runs and tenants)' }),
  STRATA_TOPIC_PARTITIONS: setting.integer({ description: 'partitions of topics this service creates', default: 6, min: 1 }),
  STRATA_FINDINGS_RETENTION_MS: setting.integer({
    description: 'how long strata.findings.v1 keeps events (retention.ms; -1 keeps them forever): a subscriber that falls behind by less loses nothing',
    default: 30 * 24 * 3_600_000,
    min: -1,
  }),
  STRATA_MAX_ATTEMPTS: setting.integer({
    description: 'tries of a message whose handler fails on a transient error, before the scan is failed',
    default: 8,
    min: 1,
  }),
  STRATA_RETRY_INITIAL_MS: setting.integer({ description: 'first retry delay of a failed message (doubles per retry)', default: 500, min: 1 }),
  STRATA_RETRY_MAX_MS: setting.integer({ description: 'longest retry delay of a failed message', default: 10_000, min: 1 }),
  STRATA_CONCURRENCY: setting.integer({ description: 'partitions this instance works on at once (one message per partition at a time)', default: 4, min: 1 }),
  METRICS_HOST: setting.string({ description: 'address of the /metrics and /healthz endpoint', default: '127.0.0.1' }),
  METRICS_PORT: setting.integer({ description: 'port of the /metrics and /healthz endpoint (0: any free port)', default: 0, min: 0, max: 65_535 }),
  STRATA_LOG_LEVEL: setting.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, { description: 'pino log level', default: 'info' }),
  STRATA_BUS_LOG_LEVEL: setting.optionalString({ description: 'log level of the Kafka client messages (default: STRATA_LOG_LEVEL)' }),
} satisfies Record<string, Setting<unknown>>;

export type RuntimeSettings = typeof runtimeSettings;
export type RuntimeConfig = ConfigOf<RuntimeSettings>;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const KAFKA_NAME = /^[A-Za-z0-9._-]*$/;

/** Problems a per-variable parse cannot see: settings that only make sense together. */
export function runtimeConfigProblems(config: RuntimeConfig): string[] {
  const problems: string[] = [];
  if (config.S3_ENDPOINT !== undefined) {
    try {
      const url = new URL(config.S3_ENDPOINT);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`S3_ENDPOINT must be an http(s) URL, got "${config.S3_ENDPOINT}"`);
    } catch {
      problems.push(`S3_ENDPOINT must be a URL, got "${config.S3_ENDPOINT}"`);
    }
    if (config.S3_ACCESS_KEY === undefined) problems.push('S3_ACCESS_KEY is required with S3_ENDPOINT');
    if (config.S3_SECRET_KEY === undefined) problems.push('S3_SECRET_KEY is required with S3_ENDPOINT');
  } else if (config.STRATA_STORE_DIR === undefined) {
    problems.push('S3_ENDPOINT (or STRATA_STORE_DIR for a filesystem store) is required');
  }
  if (config.STRATA_TOPIC_PREFIX !== undefined && !KAFKA_NAME.test(config.STRATA_TOPIC_PREFIX)) {
    problems.push(`STRATA_TOPIC_PREFIX may only hold letters, digits, ".", "_" and "-", got "${config.STRATA_TOPIC_PREFIX}"`);
  }
  if (config.KAFKA_HEARTBEAT_INTERVAL_MS * 3 > config.KAFKA_SESSION_TIMEOUT_MS) {
    problems.push('KAFKA_HEARTBEAT_INTERVAL_MS must be at most a third of KAFKA_SESSION_TIMEOUT_MS');
  }
  if (config.STRATA_BUS_LOG_LEVEL !== undefined && !LEVELS.includes(config.STRATA_BUS_LOG_LEVEL)) {
    problems.push(`STRATA_BUS_LOG_LEVEL must be one of ${LEVELS.join(', ')}, got "${config.STRATA_BUS_LOG_LEVEL}"`);
  }
  if (config.STRATA_RETRY_INITIAL_MS > config.STRATA_RETRY_MAX_MS) problems.push('STRATA_RETRY_INITIAL_MS must not exceed STRATA_RETRY_MAX_MS');
  return problems;
}

/**
 * Loads a service's settings (the runtime ones plus its own) from `source` (default process.env)
 * and reports every bad or missing variable in one SettingsError.
 */
export function loadServiceConfig<S extends Record<string, Setting<unknown>>>(
  spec: S,
  source: Record<string, string | undefined> = process.env,
): ConfigOf<S> & RuntimeConfig {
  const config = loadConfig({ ...runtimeSettings, ...spec }, source) as unknown as ConfigOf<S> & RuntimeConfig;
  const problems = runtimeConfigProblems(config);
  if (problems.length > 0) throw new SettingsError(problems);
  return config;
}
