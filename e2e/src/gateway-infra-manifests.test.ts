// infra/k8s (and the services of infra/compose.yaml): every manifest parses, validates against the Kubernetes (kubernetes-models, k8s 1.27
// OpenAPI) and KEDA (@kubernetes-models/keda) schemas, and agrees with the code it deploys: the
// bundles exist as services, every environment variable is a setting the service reads, Services
// select real pods and ports, and the ScaledObject watches the analyzer's group and topic.
// With the `kubernetes-validate` tool (PyPI), the core kinds are also checked in strict mode
// against the Kubernetes 1.37 schemas, which rejects unknown fields.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { Namespace, ConfigMap, Secret, Service, PersistentVolumeClaim } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { CronJob } from 'kubernetes-models/batch/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Topics } from '@strata/contracts';
import { ANALYZER_CONSUMER_GROUP, analyzerSettings } from '@strata/analyzer-service';
import { fetcherSettings } from '@strata/fetcher-service';
import { gatewaySettings } from '@strata/gateway';
import { matcherSettings } from '@strata/matcher-service';
import { mergerSettings } from '@strata/merger-service';
import { runtimeSettings } from '@strata/service-runtime';
import { repoRoot, skipUnless } from '@strata/testing';
import { watcherSettings } from '@strata/watcher-service';

const dir = join(repoRoot, 'infra/k8s');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface Loaded {
  file: string;
  object: K8sObject;
}

const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/CronJob': CronJob,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

const manifestFiles = () =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort();

function load(): Loaded[] {
  const out: Loaded[] = [];
  for (const file of manifestFiles()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'), { uniqueKeys: true })) {
      assert.deepEqual(doc.errors.map(String), [], `${file}: YAML errors`);
      const object = doc.toJS({ maxAliasCount: 0 }) as K8sObject | null;
      if (object) out.push({ file, object });
    }
  }
  return out;
}

type Container = {
  name: string;
  command?: string[];
  env?: { name: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
};
type PodSpec = { containers: Container[]; initContainers?: Container[] };

function podSpec(object: K8sObject): PodSpec | undefined {
  const spec = object.spec as { template?: { spec: PodSpec }; jobTemplate?: { spec: { template: { spec: PodSpec } } } } | undefined;
  return spec?.template?.spec ?? spec?.jobTemplate?.spec.template.spec;
}

test('infra/k8s: the kustomization lists exactly the manifests', () => {
  const kustomization = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[] };
  assert.deepEqual([...kustomization.resources].sort(), manifestFiles());
});

test('infra/k8s: every object validates against its Kubernetes or KEDA schema', () => {
  const objects = load();
  assert.ok(objects.length >= 15, `expected the full set of objects, found ${objects.length}`);
  for (const { file, object } of objects) {
    const Model = models[`${object.apiVersion}/${object.kind}`];
    assert.ok(Model, `${file}: no schema for ${object.apiVersion} ${object.kind} (add it to this test)`);
    assert.doesNotThrow(() => new Model(object as never).validate(), `${file}: ${object.kind}/${object.metadata.name}`);
    if (object.kind === 'Namespace') assert.equal(object.metadata.name, 'strata');
    else assert.equal(object.metadata.namespace, 'strata', `${file}: ${object.kind}/${object.metadata.name} namespace`);
  }
  // The schemas do reject a broken object (the check is not vacuous).
  const deployment = objects.find((o) => o.object.kind === 'Deployment')!.object;
  assert.throws(
    () => new Deployment({ ...deployment, spec: { ...(deployment.spec as object), replicas: 'two' } } as never).validate(),
    /replicas must be integer/,
  );
});

/** Each service's setting names: the runtime's and its own. */
function knownSettings(): Record<string, Set<string>> {
  return {
    fetcher: new Set(Object.keys({ ...runtimeSettings, ...fetcherSettings })),
    analyzer: new Set(Object.keys({ ...runtimeSettings, ...analyzerSettings })),
    merger: new Set(Object.keys({ ...runtimeSettings, ...mergerSettings })),
    matcher: new Set(Object.keys({ ...runtimeSettings, ...matcherSettings })),
    gateway: new Set(Object.keys({ ...runtimeSettings, ...gatewaySettings })),
    watcher: new Set(Object.keys({ ...runtimeSettings, ...watcherSettings })),
  };
}

test('infra/k8s: deployments run existing service bundles with settings those services read', () => {
  const objects = load().map((l) => l.object);
  const configMaps = new Map(
    objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, Object.keys((o.data as Record<string, string>) ?? {})]),
  );
  const secrets = new Map(
    objects.filter((o) => o.kind === 'Secret').map((o) => [o.metadata.name, Object.keys({ ...(o.stringData as object), ...(o.data as object) })]),
  );
  const known = knownSettings();
  const deployed = new Set<string>();
  for (const object of objects.filter((o) => o.kind === 'Deployment')) {
    for (const container of podSpec(object)!.containers) {
      const bundle = /^services\/([a-z-]+)\/dist\/main\.mjs$/.exec(container.command?.[1] ?? '');
      assert.ok(bundle, `${object.metadata.name}: command ${JSON.stringify(container.command)} does not run a service bundle`);
      const service = bundle[1]!;
      assert.ok(existsSync(join(repoRoot, 'services', service, 'src/main.ts')), `${object.metadata.name}: services/${service}/src/main.ts does not exist`);
      const settings = known[service];
      assert.ok(settings, `no settings known for service ${service}`);
      deployed.add(service);
      const names = [
        ...(container.env ?? []).map((e) => e.name),
        ...(container.envFrom ?? []).flatMap((from) =>
          from.configMapRef
            ? (configMaps.get(from.configMapRef.name) ?? assert.fail(`missing ConfigMap ${from.configMapRef.name}`))
            : from.secretRef
              ? (secrets.get(from.secretRef.name) ?? assert.fail(`missing Secret ${from.secretRef.name}`))
              : [],
        ),
      ];
      for (const name of names) assert.ok(settings.has(name), `${object.metadata.name}: ${name} is not a setting of the ${service} service`);
    }
  }
  assert.deepEqual([...deployed].sort(), ['analyzer', 'fetcher', 'gateway', 'matcher', 'merger', 'watcher']);
  // The watcher is a singleton: one replica, never two at once during a rollout.
  const watcher = objects.find((o) => o.kind === 'Deployment' && podSpec(o)!.containers[0]!.command?.[1] === 'services/watcher/dist/main.mjs')!;
  assert.equal((watcher.spec as { replicas?: number }).replicas, 1);
  assert.equal((watcher.spec as { strategy?: { type?: string } }).strategy?.type, 'Recreate');
  const cronJob = objects.find((o) => o.kind === 'CronJob')!;
  assert.equal(podSpec(cronJob)!.containers[0]!.command?.[1], 'apps/cli/dist/strata.mjs');
});

test('infra/k8s: Services select pods of a Deployment (or StatefulSet) and name ports those pods have', () => {
  const objects = load().map((l) => l.object);
  const deployments = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  for (const service of objects.filter((o) => o.kind === 'Service')) {
    const spec = service.spec as { selector: Record<string, string>; ports: { name: string; targetPort: string | number }[] };
    const targets = deployments.filter((d) => {
      const labels = (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
      return Object.entries(spec.selector).every(([k, v]) => labels[k] === v);
    });
    assert.equal(targets.length, 1, `Service ${service.metadata.name} selects ${targets.length} workloads`);
    const ports = podSpec(targets[0]!)!.containers.flatMap((c) => c.ports ?? []);
    for (const port of spec.ports) {
      assert.ok(
        ports.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort),
        `Service ${service.metadata.name} port ${port.name} targets ${port.targetPort}, which the pods do not expose`,
      );
    }
  }
});

test('infra/k8s: the ScaledObject scales the analyzers on their group lag on layer.fetched, within the partitions', () => {
  const objects = load().map((l) => l.object);
  const scaled = objects.find((o) => o.kind === 'ScaledObject')!;
  const spec = scaled.spec as { scaleTargetRef: { name: string }; maxReplicaCount: number; triggers: { type: string; metadata: Record<string, string> }[] };
  const target = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === spec.scaleTargetRef.name);
  assert.ok(target, `ScaledObject targets missing Deployment ${spec.scaleTargetRef.name}`);
  assert.equal(podSpec(target)!.containers[0]!.command?.[1], 'services/analyzer/dist/main.mjs');
  assert.equal((target.spec as { replicas?: number }).replicas, undefined, 'the autoscaled Deployment must not pin replicas');
  const kafka = spec.triggers.find((t) => t.type === 'kafka');
  assert.ok(kafka);
  assert.equal(kafka.metadata.topic, Topics.layerFetched);
  // The analyzer's consumer group, as the service names it.
  assert.equal(kafka.metadata.consumerGroup, ANALYZER_CONSUMER_GROUP);
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'strata-config')!.data as Record<string, string>;
  assert.ok(spec.maxReplicaCount <= Number(config.STRATA_TOPIC_PARTITIONS), 'more analyzers than partitions would sit idle');
  assert.equal(kafka.metadata.bootstrapServers, config.KAFKA_BROKERS);
});

test('infra/k8s: strict schema check of the core kinds (kubernetes-validate --strict, Kubernetes 1.37)', {
  skip: skipUnless('tool:kubernetes-validate'),
}, () => {
  const files = manifestFiles()
    .filter((f) => f !== 'analyzer-scaledobject.yaml')
    .map((f) => join(dir, f));
  // Exits non-zero and names the field when a manifest has an unknown or mistyped property.
  const output = execFileSync('kubernetes-validate', ['--strict', '--no-warn', '-k', '1.37.0', ...files], { encoding: 'utf8' });
  assert.doesNotMatch(output, /ERROR/);
  assert.match(output, /passed for resource deployment\/strata-gateway/);
});

test("infra/k8s: PostgreSQL runs as a non-root StatefulSet behind the Service the services' STRATA_PG_URL names", () => {
  const objects = load().map((l) => l.object);
  const statefulSet = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'strata-postgres');
  assert.ok(statefulSet, 'no strata-postgres StatefulSet');
  const pod = (statefulSet.spec as { template: { spec: { securityContext?: { runAsNonRoot?: boolean; runAsUser?: number } } } }).template.spec;
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.notEqual(pod.securityContext?.runAsUser, 0);
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'strata-postgres');
  const url = new URL((secret?.stringData as Record<string, string> | undefined)?.STRATA_PG_URL ?? assert.fail('strata-postgres has no STRATA_PG_URL'));
  assert.equal(url.protocol, 'postgres:');
  const service = objects.find((o) => o.kind === 'Service' && url.hostname.startsWith(`${o.metadata.name}.strata.`));
  assert.ok(service, `no Service answers ${url.hostname}`);
  assert.ok(
    (service.spec as { ports: { port: number }[] }).ports.some((p) => p.port === Number(url.port)),
    `Service ${service.metadata.name} has no port ${url.port}`,
  );
});

test('infra/compose.yaml: the Strata services run existing bundles with settings they read, one metrics port each', () => {
  const compose = parse(readFileSync(join(repoRoot, 'infra/compose.yaml'), 'utf8'), { merge: true, uniqueKeys: true }) as {
    services: Record<string, { command?: string[]; environment?: Record<string, string>; network_mode?: string; build?: { dockerfile: string } }>;
  };
  const known = knownSettings();
  const metricsPorts = new Set<string>();
  for (const [name, settings] of Object.entries(known)) {
    const service = compose.services[name];
    assert.ok(service, `compose has no ${name} service`);
    assert.deepEqual(service.command, ['node', `services/${name}/dist/main.mjs`]);
    assert.ok(existsSync(join(repoRoot, 'services', name, 'src/main.ts')));
    assert.equal(service.network_mode, 'host');
    assert.ok(existsSync(join(repoRoot, service.build!.dockerfile)), `${name}: ${service.build!.dockerfile} is missing`);
    for (const variable of Object.keys(service.environment ?? {}))
      assert.ok(settings.has(variable), `compose ${name}: ${variable} is not a setting of the ${name} service`);
    const port = service.environment?.METRICS_PORT;
    assert.ok(port && !metricsPorts.has(port), `compose ${name}: METRICS_PORT ${port} missing or shared`);
    metricsPorts.add(port);
  }
  // What was there before the services is still there.
  for (const name of ['kafka', 'minio', 'postgres', 'auth-init', 'registry-anonymous', 'registry-basic', 'registry-token'])
    assert.ok(compose.services[name], name);
});

test('the web console: its port and token auth in infra/k8s and infra/compose.yaml, its bundle in the image', () => {
  const objects = load().map((l) => l.object);
  const gateway = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'strata-gateway')!;
  const container = podSpec(gateway)!.containers[0]!;
  const env = Object.fromEntries(((container.env ?? []) as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
  const port = Number(env.GATEWAY_CONSOLE_PORT);
  assert.ok(port > 0, 'the gateway Deployment sets GATEWAY_CONSOLE_PORT');
  assert.ok(
    container.ports?.some((p) => p.name === 'console' && p.containerPort === port),
    'the container exposes the console port as "console"',
  );
  const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'strata-gateway')!;
  assert.ok((service.spec as { ports: { name: string; targetPort: string }[] }).ports.some((p) => p.name === 'console' && p.targetPort === 'console'));
  // The console listens beyond loopback there, which the gateway allows only with a token: the
  // gateway's Secret carries GATEWAY_TOKEN and the container reads that Secret.
  assert.equal(env.GATEWAY_CONSOLE_HOST, '0.0.0.0');
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'strata-gateway')!;
  assert.ok((secret.stringData as Record<string, string>).GATEWAY_TOKEN);
  assert.ok(container.envFrom?.some((f) => f.secretRef?.name === 'strata-gateway'));

  const compose = parse(readFileSync(join(repoRoot, 'infra/compose.yaml'), 'utf8'), { merge: true, uniqueKeys: true }) as {
    services: Record<string, { environment?: Record<string, string> }>;
  };
  const composeEnv = compose.services.gateway!.environment!;
  assert.ok(Number(composeEnv.GATEWAY_CONSOLE_PORT) > 0, 'compose: the gateway sets GATEWAY_CONSOLE_PORT');
  assert.equal(composeEnv.GATEWAY_CONSOLE_HOST, '127.0.0.1', 'compose: without a token the console stays on loopback');
  assert.match(composeEnv.GATEWAY_TOKEN ?? '', /STRATA_GATEWAY_TOKEN/);

  // The image builds the UI bundle and ships it where GATEWAY_CONSOLE_DIR's default points.
  const dockerfile = readFileSync(join(repoRoot, 'infra/k8s/Dockerfile'), 'utf8');
  assert.match(dockerfile, /node services\/gateway\/console-ui\/build\.mjs/);
  assert.match(dockerfile, /COPY --from=build \/src\/services\/gateway\/console-ui\/dist services\/gateway\/console-ui\/dist/);
});
