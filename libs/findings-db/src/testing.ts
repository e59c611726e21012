// Test support (not a production export): a database of its own per test suite on the
// PostgreSQL of infra/local, dropped afterwards, so suites never see each other's rows.
import pg from 'pg';
import { after, before } from 'node:test';
import { infra, uniqueName } from '@strata/testing';
import { openFindingsDb, type FindingsDb } from './db.js';

export interface TestDatabase {
  /** connection URL of the new, empty database */
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const server = infra.postgres();
  if (!server) throw new Error('STRATA_TEST_PG_URL is not set (skipUnless("postgres") first)');
  const name = uniqueName('strata_test').replace(/[^a-z0-9_]/g, '_');
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * For one test file: before its tests, a FindingsDb on a fresh database is opened and handed to
 * `use`; after them it is closed and the database dropped. Nothing happens when `skip` is set.
 */
export function useTestFindingsDb(skip: string | false, use: (db: FindingsDb) => void): void {
  let database: TestDatabase | undefined;
  let db: FindingsDb | undefined;
  before(async () => {
    if (skip) return;
    database = await createTestDatabase();
    db = await openFindingsDb({ url: database.url });
    use(db);
  });
  after(async () => {
    await db?.close();
    await database?.drop();
  });
}
