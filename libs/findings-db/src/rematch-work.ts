// Re-match work in the findings DB, partitioned across matcher replicas. An advisory update is
// planned once: the affected images (selected by SQL) go into batches of strata.rematch_batches.
// Any replica claims the next open batch whose lease has run out (FOR UPDATE SKIP LOCKED, so two
// claimers never take the same one) and holds it for a lease; a replica that dies leaves its
// batch to be claimed again when the lease ends. Committing a batch checks that the claim still
// holds (same owner, same attempt), then writes the new states of its images (their rows locked)
// together with the DELTA events they cause; the events are sent after the commit and the batch
// is marked done after the send. So a state is changed by one claim only, and an event is sent
// again only as the identical bytes stored with the state (a replica that died between the send
// and the mark).
import type pg from 'pg';
import {
  FindingsDbError,
  HOLDING_COLUMNS,
  holdingOf,
  readStates,
  writeStates,
  type FindingsDb,
  type HoldingDbRow,
  type HoldingRow,
  type ImageRow,
  type SetFindingsInput,
} from './db.js';
import type { FindingsState } from './db.js';

export interface RematchPlanInput {
  /** the version the update event names, and the one it follows */
  advisoryDbVersion: string;
  previousVersion: string;
  /** the advisory DB version the planner matched with (may be newer than advisoryDbVersion) */
  matchVersion: string;
  /** the (ecosystem key, name) pairs whose advisories changed */
  pairs: readonly (readonly [string, string])[];
  /** images per batch */
  batchImages: number;
}

export interface RematchPlan {
  updateId: string;
  /** false when the update was planned before (a redelivery): nothing was added */
  created: boolean;
  images: number;
  batches: number;
}

export interface RematchUpdate {
  updateId: string;
  advisoryDbVersion: string;
  previousVersion: string;
  matchVersion: string;
  pairs: [string, string][];
  images: number;
  batches: number;
}

export interface RematchEvent {
  manifestDigest: string;
  key: string;
  value: Uint8Array;
}

export interface RematchClaim {
  updateId: string;
  batchNo: number;
  images: string[];
  owner: string;
  /** the claim's number: a commit or mark by an older claim of the batch is refused */
  attempt: number;
  /** publishing: the states were committed; `events` must be sent (again) and the batch marked */
  status: 'pending' | 'publishing';
  events: { key: string; value: Uint8Array }[];
}

export interface RematchCommit {
  /** false: the claim was lost (the lease ran out and another replica claimed the batch) */
  held: boolean;
  events: RematchEvent[];
  written: number;
}

export interface RematchBatchState {
  image: ImageRow;
  state?: FindingsState;
}

/** Old finished updates' batches are deleted when an update is planned (their update rows stay). */
const KEEP_FINISHED_BATCHES = '7 days';

export class RematchWork {
  constructor(private readonly db: FindingsDb) {}

  /** Plans an update (once: a second call for the same update adds nothing). */
  async plan(input: RematchPlanInput): Promise<RematchPlan> {
    if (!(input.batchImages >= 1)) throw new FindingsDbError(`batchImages must be at least 1 (got ${input.batchImages})`);
    return this.db.transaction(async (client) => {
      await client.query(
        `delete from strata.rematch_batches b using strata.rematch_updates u
         where b.update_id = u.update_id and u.done_at < now() - interval '${KEEP_FINISHED_BATCHES}'`,
      );
      const inserted = await client.query<{ update_id: string }>(
        `insert into strata.rematch_updates (advisory_db_version, previous_version, match_version, pairs) values ($1, $2, $3, $4)
         on conflict (advisory_db_version, previous_version) do nothing returning update_id`,
        [input.advisoryDbVersion, input.previousVersion, input.matchVersion, JSON.stringify(input.pairs)],
      );
      const updateId = inserted.rows[0]?.update_id;
      if (updateId === undefined) {
        const { rows } = await client.query<{ update_id: string; images: number; batches: number }>(
          'select update_id, images, batches from strata.rematch_updates where advisory_db_version = $1 and previous_version = $2',
          [input.advisoryDbVersion, input.previousVersion],
        );
        const row = rows[0] as { update_id: string; images: number; batches: number };
        return { updateId: row.update_id, created: false, images: row.images, batches: row.batches };
      }
      // the postings of the changed packages, once: the batches read their images' holdings from them
      await client.query(
        `insert into strata.rematch_postings (update_id, chunk_id, package_id, path_id)
         select $1, cp.chunk_id, cp.package_id, cp.path_id
         from (select distinct l.package_id from unnest($2::text[], $3::text[]) as w(ecosystem, name)
               join strata.package_lookups l on l.ecosystem = w.ecosystem and l.name = w.name) found
         join strata.chunk_packages cp on cp.package_id = found.package_id`,
        [updateId, input.pairs.map((p) => p[0]), input.pairs.map((p) => p[1])],
      );
      const batches = await client.query<{ images: number }>(
        `with affected as (
           select distinct m.manifest_digest
           from (select distinct chunk_id from strata.rematch_postings where update_id = $1) rp
           join strata.inventory_chunks ic on ic.chunk_id = rp.chunk_id
           join strata.image_manifests m on m.inventory_digest = ic.inventory_digest),
         numbered as (select manifest_digest, (row_number() over (order by manifest_digest) - 1) / $2 as batch_no from affected)
         insert into strata.rematch_batches (update_id, batch_no, manifest_digests)
         select $1, batch_no, array_agg(manifest_digest order by manifest_digest) from numbered group by batch_no
         returning cardinality(manifest_digests) as images`,
        [updateId, input.batchImages],
      );
      const images = batches.rows.reduce((n, r) => n + r.images, 0);
      if ((batches.rowCount ?? 0) === 0) await client.query('delete from strata.rematch_postings where update_id = $1', [updateId]);
      await client.query('update strata.rematch_updates set images = $2, batches = $3, done_at = case when $3 = 0 then now() end where update_id = $1', [
        updateId,
        images,
        batches.rowCount ?? 0,
      ]);
      return { updateId, created: true, images, batches: batches.rowCount ?? 0 };
    });
  }

  async update(updateId: string): Promise<RematchUpdate> {
    const { rows } = await this.db.pool.query<{
      advisory_db_version: string;
      previous_version: string;
      match_version: string;
      pairs: [string, string][];
      images: number;
      batches: number;
    }>('select advisory_db_version, previous_version, match_version, pairs, images, batches from strata.rematch_updates where update_id = $1', [updateId]);
    const row = rows[0];
    if (!row) throw new FindingsDbError(`re-match update ${updateId} is not in the findings DB`);
    return {
      updateId,
      advisoryDbVersion: row.advisory_db_version,
      previousVersion: row.previous_version,
      matchVersion: row.match_version,
      pairs: row.pairs,
      images: row.images,
      batches: row.batches,
    };
  }

  /**
   * What `images` hold of the packages the update changed (as holdingsOf with its pairs), from
   * the postings stored at the plan: a few index lookups per image.
   */
  async holdings(updateId: string, images: readonly string[]): Promise<HoldingRow[]> {
    if (images.length === 0) return [];
    const { rows } = await this.db.pool.query<HoldingDbRow>({
      name: 'strata-rematch-holdings',
      text: `with m as materialized (select * from strata.image_manifests where manifest_digest = any($2::text[]))
       select ${HOLDING_COLUMNS}
       from m
       join strata.inventory_chunks ic on ic.inventory_digest = m.inventory_digest
       join strata.rematch_postings cp on cp.update_id = $1 and cp.chunk_id = ic.chunk_id
       join strata.packages p on p.package_id = cp.package_id
       join strata.paths pa on pa.path_id = cp.path_id
       join strata.chunks c on c.chunk_id = cp.chunk_id
       join strata.layers l on l.layer_id = c.layer_id
       order by m.manifest_digest, p.unit_key, pa.path, l.diff_id`,
      values: [updateId, images],
    });
    return rows.map(holdingOf);
  }

  /**
   * Claims the next open batch whose lease ran out for `leaseMs`; undefined when none. Only batches
   * of the oldest update with an open batch are claimed: updates are applied one after the other,
   * so a later update's batch never runs beside an earlier one's (an image matched for U2 first
   * would be skipped by U1 as "already at the version" and U1's packages lost, or set back).
   */
  async claim(owner: string, leaseMs: number): Promise<RematchClaim | undefined> {
    const { rows } = await this.db.pool.query<{
      update_id: string;
      batch_no: number;
      manifest_digests: string[];
      status: 'pending' | 'publishing';
      attempts: number;
      event_keys: string[] | null;
      event_values: Buffer[] | null;
    }>(
      `update strata.rematch_batches b set lease_owner = $1, lease_until = clock_timestamp() + make_interval(secs => $2::double precision / 1000), attempts = b.attempts + 1
       from (select update_id, batch_no from strata.rematch_batches
             where status <> 'done' and lease_until < clock_timestamp()
               and update_id = (select min(update_id) from strata.rematch_batches where status <> 'done')
             order by batch_no limit 1 for update skip locked) c
       where b.update_id = c.update_id and b.batch_no = c.batch_no
       returning b.update_id, b.batch_no, b.manifest_digests, b.status, b.attempts, b.event_keys, b.event_values`,
      [owner, leaseMs],
    );
    const row = rows[0];
    if (!row) return undefined;
    const keys = row.event_keys ?? [];
    const values = row.event_values ?? [];
    return {
      updateId: row.update_id,
      batchNo: row.batch_no,
      images: row.manifest_digests,
      owner,
      attempt: row.attempts,
      status: row.status,
      events: keys.map((key, i) => ({ key, value: values[i] as Buffer })),
    };
  }

  /** Whether any batch is open (claimed or not). */
  async open(): Promise<boolean> {
    const { rows } = await this.db.pool.query("select exists (select 1 from strata.rematch_batches where status <> 'done') as open");
    return (rows[0] as { open: boolean }).open;
  }

  /**
   * Commits a pending claim: with the claim still held and the images' rows locked, `compute`
   * gets their stored states and returns the states to write and the events they cause; those
   * are written and stored with the batch in the same transaction (the batch is done at once
   * when there are no events).
   */
  async commit(
    claim: RematchClaim,
    compute: (states: Map<string, RematchBatchState>) => { writes: (SetFindingsInput & { manifestDigest: string })[]; events: RematchEvent[] },
  ): Promise<RematchCommit> {
    return this.db.transaction(async (client) => {
      if (!(await holds(client, claim, 'pending'))) return { held: false, events: [], written: 0 };
      const stored = await readStates(client, claim.images, true);
      const states = new Map<string, RematchBatchState>();
      for (const [digest, s] of stored)
        states.set(digest, { image: s.image, ...(s.version !== undefined ? { state: { advisoryDbVersion: s.version, findings: s.findings } } : {}) });
      const { writes, events } = compute(states);
      await writeStates(
        client,
        writes.map((input) => ({
          manifestDigest: input.manifestDigest,
          input,
          stored: stored.get(input.manifestDigest) as NonNullable<ReturnType<typeof stored.get>>,
        })),
      );
      await client.query(
        `update strata.rematch_batches set status = $4, event_keys = $5, event_values = $6, deltas = $7,
           done_by = case when $4 = 'done' then lease_owner end, done_at = case when $4 = 'done' then now() end
         where update_id = $1 and batch_no = $2 and attempts = $3`,
        [
          claim.updateId,
          claim.batchNo,
          claim.attempt,
          events.length > 0 ? 'publishing' : 'done',
          events.length > 0 ? events.map((e) => e.key) : null,
          events.length > 0 ? events.map((e) => Buffer.from(e.value)) : null,
          events.length,
        ],
      );
      return { held: true, events, written: writes.length };
    });
  }

  /**
   * Marks a claim's batch done after its events were sent (false when the claim was lost
   * meanwhile: the new claimer sends them again). Returns the update's totals when this was its
   * last open batch.
   */
  async done(claim: RematchClaim): Promise<{ marked: boolean; finished?: { images: number; batches: number; deltas: number; plannedAt: Date } }> {
    return this.db.transaction(async (client) => {
      const marked = await client.query(
        `update strata.rematch_batches set status = 'done', event_keys = null, event_values = null, done_by = lease_owner, done_at = now()
         where update_id = $1 and batch_no = $2 and attempts = $3 and lease_owner = $4 and status = 'publishing'`,
        [claim.updateId, claim.batchNo, claim.attempt, claim.owner],
      );
      return { marked: marked.rowCount === 1, ...(await finishUpdate(client, claim.updateId)) };
    });
  }

  /** After a commit that left the batch done (no events): the update's totals when it was the last open batch. */
  async finishIfDone(updateId: string): Promise<{ finished?: { images: number; batches: number; deltas: number; plannedAt: Date } }> {
    return this.db.transaction((client) => finishUpdate(client, updateId));
  }
}

async function holds(client: pg.PoolClient, claim: RematchClaim, status: 'pending' | 'publishing'): Promise<boolean> {
  const { rows } = await client.query<{ attempts: number; lease_owner: string | null; status: string }>(
    'select attempts, lease_owner, status from strata.rematch_batches where update_id = $1 and batch_no = $2 for update',
    [claim.updateId, claim.batchNo],
  );
  const row = rows[0];
  return row !== undefined && row.attempts === claim.attempt && row.lease_owner === claim.owner && row.status === status;
}

async function finishUpdate(
  client: pg.PoolClient,
  updateId: string,
): Promise<{ finished?: { images: number; batches: number; deltas: number; plannedAt: Date } }> {
  const { rows } = await client.query<{ images: number; batches: number; planned_at: Date; deltas: number }>(
    `update strata.rematch_updates u set done_at = now()
     where u.update_id = $1 and u.done_at is null
       and not exists (select 1 from strata.rematch_batches b where b.update_id = $1 and b.status <> 'done')
     returning u.images, u.batches, u.planned_at,
       (select coalesce(sum(deltas), 0)::integer from strata.rematch_batches b where b.update_id = $1) as deltas`,
    [updateId],
  );
  const row = rows[0];
  if (row) await client.query('delete from strata.rematch_postings where update_id = $1', [updateId]);
  return row ? { finished: { images: row.images, batches: row.batches, deltas: row.deltas, plannedAt: row.planned_at } } : {};
}
