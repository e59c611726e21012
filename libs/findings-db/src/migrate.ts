// Applies the migrations at start. Safe for any number of concurrent starters: one session-level
// advisory lock serializes them, and each migration commits together with its row in
// strata.schema_migrations, so a starter that waited finds the work done and applies nothing.
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { migrations as builtIn, type Migration } from './migrations.js';

/** pg_advisory_lock key of the migration run: the first 8 bytes of sha256("strata.findings-db.migrate"). */
export const MIGRATION_LOCK_KEY = createHash('sha256').update('strata.findings-db.migrate').digest().readBigInt64BE(0);

export class FindingsDbMigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FindingsDbMigrationError';
  }
}

export interface MigrationResult {
  /** versions this call applied (empty when the schema was current) */
  applied: number[];
  /** the schema version now */
  version: number;
}

const checksum = (m: Migration): string => createHash('sha256').update(m.sql).digest('hex');

export async function migrate(pool: Pool, migrations: readonly Migration[] = builtIn): Promise<MigrationResult> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    try {
      await client.query('create schema if not exists strata');
      await client.query(
        `create table if not exists strata.schema_migrations (
           version integer primary key,
           name text not null,
           checksum text not null,
           applied_at timestamptz not null default now()
         )`,
      );
      const { rows } = await client.query<{ version: number; checksum: string }>('select version, checksum from strata.schema_migrations order by version');
      const done = new Map(rows.map((r) => [r.version, r.checksum]));
      const applied: number[] = [];
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        const recorded = done.get(migration.version);
        if (recorded !== undefined) {
          if (recorded !== checksum(migration))
            throw new FindingsDbMigrationError(
              `migration ${migration.version} (${migration.name}) differs from the one this database applied: released migrations must not change; add a new version`,
            );
          continue;
        }
        try {
          await client.query('begin');
          await client.query(migration.sql);
          await client.query('insert into strata.schema_migrations (version, name, checksum) values ($1, $2, $3)', [
            migration.version,
            migration.name,
            checksum(migration),
          ]);
          await client.query('commit');
        } catch (error) {
          await client.query('rollback');
          throw new FindingsDbMigrationError(`migration ${migration.version} (${migration.name}) failed`, { cause: error });
        }
        applied.push(migration.version);
      }
      // A newer release may have migrated further: its migrations only add, so this code still works.
      const version = Math.max(0, ...done.keys(), ...applied);
      return { applied, version };
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
    }
  } finally {
    client.release();
  }
}
