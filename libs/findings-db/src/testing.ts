// Test support (not a production export): a database of its own per test suite on the
// PostgreSQL of infra/local, dropped afterwards, so suites never see each other's rows.
import pg from 'pg';
import { infra, uniqueName } from '@strata/testing';

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
