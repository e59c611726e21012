import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundImageConfig, jsonNestsDeeperThan, MAX_CONFIG_DEPTH, MAX_CONFIG_ITEMS, MAX_CONFIG_STRING } from './index.js';

// A config as `docker build` writes it (every field Docker and the OCI spec define).
const dockerConfig = {
  architecture: 'amd64',
  variant: 'v8',
  os: 'linux',
  'os.version': '10.0.17763.1',
  'os.features': ['win32k'],
  created: '2024-01-01T00:00:00Z',
  author: 'someone',
  container: 'abc',
  docker_version: '24.0.7',
  config: {
    User: 'app',
    ExposedPorts: { '80/tcp': {} },
    Env: ['PATH=/usr/bin'],
    Entrypoint: ['/entry'],
    Cmd: ['run'],
    Volumes: { '/data': {} },
    WorkingDir: '/app',
    Labels: { 'org.opencontainers.image.title': 'x', ['__proto__']: 'a label named __proto__', constructor: 'c' },
    StopSignal: 'SIGTERM',
    ArgsEscaped: true,
    Healthcheck: { Test: ['CMD', 'true'], Interval: 30_000_000_000, Timeout: 1, StartPeriod: 2, StartInterval: 3, Retries: 3 },
    OnBuild: ['RUN x'],
    Shell: ['/bin/sh', '-c'],
  },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
  history: [{ created: '2024-01-01T00:00:00Z', created_by: 'RUN x', author: 'a', comment: 'c', empty_layer: true }, { created_by: 'COPY . .' }],
};

test('a config of known fields passes unchanged, "__proto__" labels included', () => {
  const parsed = JSON.parse(JSON.stringify(dockerConfig)) as Record<string, unknown>;
  assert.ok(Object.hasOwn((parsed.config as { Labels: object }).Labels, '__proto__'));
  const bounded = boundImageConfig(parsed);
  assert.equal(JSON.stringify(bounded), JSON.stringify(parsed));
});

test('unknown, malformed, deep and huge parts are left out or cut', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const config = {
    architecture: 'amd64',
    os: { nested: deep },
    unknown: deep,
    config: {
      Env: ['A=1', deep, 7, 'x'.repeat(MAX_CONFIG_STRING * 2)],
      Labels: { a: deep, b: 'ok' },
      Cmd: 'not a list',
      Healthcheck: { Test: deep, Retries: Infinity },
      Extra: deep,
    },
    rootfs: { type: 'layers', diff_ids: Array.from({ length: MAX_CONFIG_ITEMS + 5 }, (_, i) => `sha256:${i}`) },
    history: [deep, { created_by: deep, comment: 'kept' }],
  };
  assert.throws(() => JSON.stringify(config), RangeError);
  const bounded = boundImageConfig(config);
  const text = JSON.stringify(bounded);
  const back = JSON.parse(text) as { config: { Env: string[]; Labels: object; Healthcheck: object }; rootfs: { diff_ids: string[] }; history: object[] };
  assert.deepEqual(Object.keys(back), ['architecture', 'config', 'rootfs', 'history']);
  assert.deepEqual(back.config.Env.slice(0, 1), ['A=1']);
  assert.equal(back.config.Env.length, 2);
  assert.match(back.config.Env[1] as string, /… \[cut: 131072 characters\]$/);
  assert.deepEqual(back.config.Labels, { b: 'ok' });
  assert.deepEqual(back.config.Healthcheck, { Test: [] });
  assert.equal(back.rootfs.diff_ids.length, MAX_CONFIG_ITEMS);
  assert.deepEqual(back.history, [{}, { comment: 'kept' }]);
  assert.deepEqual(boundImageConfig('not an object'), {});
  assert.deepEqual(boundImageConfig(null), {});
});

test('nesting depth is measured on the text, strings and escapes aside', () => {
  const nested = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
  assert.equal(jsonNestsDeeperThan(nested(MAX_CONFIG_DEPTH), MAX_CONFIG_DEPTH), false);
  assert.equal(jsonNestsDeeperThan(nested(MAX_CONFIG_DEPTH + 1), MAX_CONFIG_DEPTH), true);
  assert.equal(jsonNestsDeeperThan(nested(100_000), MAX_CONFIG_DEPTH), true);
  assert.equal(jsonNestsDeeperThan(JSON.stringify({ a: '[[[[[[[[[[' + '{'.repeat(1000), b: '\\"[[[[' }), 2), false);
  assert.equal(jsonNestsDeeperThan(JSON.stringify(dockerConfig), 4), false);
  assert.equal(jsonNestsDeeperThan(JSON.stringify(dockerConfig), 3), true);
});
