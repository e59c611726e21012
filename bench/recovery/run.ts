// Recovery benchmark: how long the pipeline stalls after a SIGKILL of each stage. Every stage runs
// twice (one replica in this process, one child process: the victim); per stage the victim is
// killed, and two figures are taken from the kill:
//   reassigned  the dead member has left every group it was in and those groups are Stable again
//               (its partitions belong to the survivor);
//   drained     every one of K scans submitted right after the kill has completed (K = 2 × the
//               partition count, so most partitions, the dead member's too, carry one).
// It runs on a private Kafka and MinIO (free loopback ports, like the faults suite), never on the
// shared ones; images are small (the demo base plus one unique layer) and pushed to the registry.
//
//   bash tools/node.sh --import tsx bench/recovery/run.ts [--rounds 1]
//
// Needs the registry and the cached Kafka jars and MinIO binary (infra/local/install.sh, up.sh)
// and the STRATA_TEST_* variables (source <(bash infra/local/env.sh)).
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { createDeployment, demoBaseLayer, startPrivateInfra, waitUntil } from '@strata/e2e';
import { infra, pushImage, tarLayer } from '@strata/testing';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '1' } } });
const ROUNDS = Math.max(1, Number(args.rounds));
const PARTITIONS = 6;
const K = 2 * PARTITIONS;
const STAGES = ['fetcher', 'analyzer', 'merger', 'matcher'] as const;
type Stage = (typeof STAGES)[number];

const registry = infra.registry('anonymous');
if (!registry) throw new Error('the registry is needed: source <(bash infra/local/env.sh)');

const own = await startPrivateInfra();
Object.assign(process.env, own.testEnv);
const d = await createDeployment('recovery', { STRATA_TOPIC_PARTITIONS: String(PARTITIONS) });
const admin = new Kafka({ clientId: 'recovery-bench', brokers: own.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
try {
  await admin.connect();
  const run = `r${Date.now().toString(36)}`;
  const base = await demoBaseLayer();
  let pushed = 0;
  const nextImage = async () => {
    const name = `${run}-${pushed++}`;
    const app = await tarLayer({ [`etc/strata/${name}`]: `${name}\n` }, `COPY ${name}`);
    return (await pushImage(registry.host, 'strata-test/recovery', name, [base, app])).ref;
  };
  await Promise.all(STAGES.map((stage) => d.start(stage)));
  const outside = await d.subscriber();
  const completeAll = async (refs: string[]) => {
    const ids = await Promise.all(refs.map((ref) => d.submit(ref)));
    await waitUntil(() => (ids.every((id) => outside.completed.some((c) => c.scanId === id)) ? true : undefined), 300_000, `${ids.length} scans`);
  };
  // Warm up: the base layer analyzed once, every group joined.
  await completeAll([await nextImage()]);

  const rows: string[] = [];
  let incarnation = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const stage of STAGES as readonly Stage[]) {
      const clientId = `recovery-victim-${stage}-${++incarnation}`;
      const victim = d.spawn(stage, { KAFKA_CLIENT_ID: clientId });
      await victim.waitForLog((line) => line.msg === 'service started', 120_000);
      // The victim owns partitions once its groups are Stable with it inside.
      const groupsOf = async () => {
        const names = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(d.prefix));
        return (await admin.describeGroups(names)).groups;
      };
      await waitUntil(
        async () => ((await groupsOf()).some((g) => g.state === 'Stable' && g.members.some((m) => m.clientId === clientId)) ? true : undefined),
        60_000,
        `${clientId} to join`,
      );
      const had = (await groupsOf()).filter((g) => g.members.some((m) => m.clientId === clientId)).map((g) => g.groupId);
      const refs = await Promise.all(Array.from({ length: K }, nextImage));

      const killedAt = performance.now();
      victim.child.kill('SIGKILL');
      const reassigned = waitUntil(
        async () =>
          (await admin.describeGroups(had)).groups.every((g) => g.state === 'Stable' && !g.members.some((m) => m.clientId === clientId))
            ? performance.now() - killedAt
            : undefined,
        120_000,
        `the partitions of ${clientId}`,
      );
      const drained = completeAll(refs).then(() => performance.now() - killedAt);
      const [reassignedMs, drainedMs] = await Promise.all([reassigned, drained]);
      await victim.exited;
      rows.push(
        `${String(round).padStart(5)}  ${stage.padEnd(9)} ${(reassignedMs / 1000).toFixed(1).padStart(10)} s ${(drainedMs / 1000).toFixed(1).padStart(9)} s`,
      );
      process.stderr.write(`${rows.at(-1)}\n`);
    }
  }
  const [session, heartbeat] = [d.env.KAFKA_SESSION_TIMEOUT_MS, d.env.KAFKA_HEARTBEAT_INTERVAL_MS];
  process.stdout.write(
    [
      `recovery after SIGKILL (private Kafka 3.9, ${PARTITIONS} partitions, session ${session} ms, heartbeat ${heartbeat} ms; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)})`,
      `round  stage     reassigned   drained (${K} scans submitted at the kill)`,
      ...rows,
      '',
    ].join('\n'),
  );
  await outside.close();
} finally {
  await admin.disconnect().catch(() => undefined);
  await d.teardown().catch(() => undefined);
  await own.close();
}
