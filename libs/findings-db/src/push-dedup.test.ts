// The watcher's push dedup keys in the real PostgreSQL of infra/local: a key is claimed once per
// window (of many concurrent claims exactly one wins), released keys and expired ones can be
// claimed again, and pruning drops only what is past the window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { skipUnless, uniqueName } from '@strata/testing';
import { claimPushKey, forgetPushKey, prunePushKeys, pushKeySeen, type FindingsDb } from './index.js';
import { useTestFindingsDb } from './testing.js';

const skip = skipUnless('postgres');
let db: FindingsDb;
useTestFindingsDb(skip, (opened) => (db = opened));

test('a push key is claimed once per window; released or expired keys can be claimed again', { skip }, async () => {
  const key = `${uniqueName('host')}/repo@sha256:${'a'.repeat(64)}`;
  const claims = await Promise.all(Array.from({ length: 12 }, () => claimPushKey(db, key, 60_000)));
  assert.equal(claims.filter(Boolean).length, 1, 'of 12 concurrent claims exactly one wins');
  assert.equal(await pushKeySeen(db, key, 60_000), true);
  assert.equal(await claimPushKey(db, key, 60_000), false, 'a replay within the window is a duplicate');
  await forgetPushKey(db, key);
  assert.equal(await claimPushKey(db, key, 60_000), true, 'a released key (publish failed) is claimed again');
  // an hour ago, as far as the table knows
  const age = (k: string) => db.pool.query(`update strata.push_dedup set seen_at = now() - interval '1 hour' where dedup_key = $1`, [k]);
  await age(key);
  assert.equal(await claimPushKey(db, key, 60_000), true, 'past the window a replay is requested again');

  const old = `${uniqueName('old')}@sha256:${'b'.repeat(64)}`;
  assert.equal(await claimPushKey(db, old, 60_000), true);
  await age(old);
  const fresh = `${uniqueName('fresh')}@sha256:${'c'.repeat(64)}`;
  assert.equal(await claimPushKey(db, fresh, 60_000), true);
  assert.ok((await prunePushKeys(db, 60_000)) >= 1, 'the key older than the window is pruned');
  assert.equal(await pushKeySeen(db, old, 60_000), false);
  assert.equal(await pushKeySeen(db, fresh, 60_000), true, 'the fresh one is kept');
});
