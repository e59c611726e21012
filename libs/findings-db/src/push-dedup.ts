// The watcher's push dedup keys (event ids, host/repository@digest) in the findings DB, so that
// duplicates and replays stay idempotent across watcher restarts.
import { text, type FindingsDb } from './db.js';

const ms = (value: number): string => String(Math.max(0, Math.floor(value)));

/**
 * Claims a key for `windowMs`: true when it was not claimed within the window (the caller
 * requests the scan), false for a duplicate. Atomic: of concurrent claims of one key, one wins.
 */
export async function claimPushKey(db: FindingsDb, key: string, windowMs: number): Promise<boolean> {
  const { rowCount } = await db.pool.query(
    `insert into strata.push_dedup (dedup_key, seen_at) values ($1, now())
     on conflict (dedup_key) do update set seen_at = now()
     where strata.push_dedup.seen_at <= now() - ($2::bigint * interval '1 millisecond')`,
    [text(key), ms(windowMs)],
  );
  return rowCount === 1;
}

/** Whether a key was claimed within the window (without claiming it). */
export async function pushKeySeen(db: FindingsDb, key: string, windowMs: number): Promise<boolean> {
  const { rowCount } = await db.pool.query(
    `select 1 from strata.push_dedup where dedup_key = $1 and seen_at > now() - ($2::bigint * interval '1 millisecond')`,
    [text(key), ms(windowMs)],
  );
  return rowCount === 1;
}

/** Releases a claim (the request was not published: the next push or pass tries again). */
export async function forgetPushKey(db: FindingsDb, key: string): Promise<void> {
  await db.pool.query('delete from strata.push_dedup where dedup_key = $1', [text(key)]);
}

/** Deletes keys older than the window; returns how many. */
export async function prunePushKeys(db: FindingsDb, windowMs: number): Promise<number> {
  const { rowCount } = await db.pool.query(`delete from strata.push_dedup where seen_at <= now() - ($1::bigint * interval '1 millisecond')`, [ms(windowMs)]);
  return rowCount ?? 0;
}
