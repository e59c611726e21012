// The token bucket on a virtual clock: counts, not wall-clock timings.
import assert from 'node:assert/strict';
import test from 'node:test';
import { createRateLimiter, type Clock } from './rate-limit.js';

function virtualClock(): Clock & { elapsed(): number } {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
    elapsed: () => t,
  };
}

test('a burst goes at once, then at most perSecond requests per second', async () => {
  const clock = virtualClock();
  const limiter = createRateLimiter({ perSecond: 5, burst: 5, clock });
  const grants: number[] = [];
  await Promise.all(Array.from({ length: 25 }, () => limiter.take().then(() => grants.push(clock.now()))));
  assert.equal(limiter.taken, 25);
  assert.equal(grants.filter((t) => t === 0).length, 5, 'the burst is served without waiting');
  // Never more than burst + rate × t requests by time t.
  grants.forEach((t, i) => assert.ok(i + 1 <= 5 + (5 * t) / 1000, `request ${i + 1} at ${t} ms exceeds the limit`));
  // 20 requests beyond the burst at 5/s need 4 s of (virtual) time, and no more.
  assert.equal(clock.elapsed(), 4000);
});

test('quiet time refills the bucket, up to the burst', async () => {
  const clock = virtualClock();
  const limiter = createRateLimiter({ perSecond: 2, burst: 2, clock });
  for (let i = 0; i < 2; i++) await limiter.take();
  assert.equal(clock.elapsed(), 0);
  await clock.sleep(10_000);
  const before = clock.elapsed();
  for (let i = 0; i < 3; i++) await limiter.take();
  assert.equal(clock.elapsed() - before, 500, 'two from the refilled bucket, the third waits half a second');
});

test('no limit when perSecond is 0; an aborted wait rejects and frees the queue', async () => {
  const unlimited = createRateLimiter({ perSecond: 0 });
  await Promise.all(Array.from({ length: 100 }, () => unlimited.take()));
  assert.equal(unlimited.taken, 100);

  const clock = virtualClock();
  const limiter = createRateLimiter({ perSecond: 1, burst: 1, clock });
  await limiter.take();
  const aborted = AbortSignal.abort(new Error('stop'));
  await assert.rejects(limiter.take(aborted), /stop/);
  await limiter.take();
  assert.equal(limiter.taken, 2);
});
