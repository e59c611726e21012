// A token bucket per registry: `perSecond` requests per second on average, bursts of up to
// `burst`. Callers queue in order; the clock is injectable so tests can count without waiting.
import { setTimeout as sleep } from 'node:timers/promises';

export interface Clock {
  /** milliseconds, monotonic */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : undefined),
};

export interface RateLimiter {
  /** resolves when the caller may send one request */
  take(signal?: AbortSignal): Promise<void>;
  /** tokens handed out so far */
  readonly taken: number;
}

export interface RateLimitOptions {
  /** average requests per second; 0 or less: no limit */
  perSecond: number;
  /** requests allowed at once after a quiet spell (default: perSecond, at least 1) */
  burst?: number;
  clock?: Clock;
}

export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const clock = options.clock ?? realClock;
  const rate = options.perSecond;
  const burst = Math.max(1, options.burst ?? Math.ceil(rate));
  let tokens = burst;
  let last = clock.now();
  let taken = 0;
  let queue: Promise<void> = Promise.resolve();

  const refill = () => {
    const now = clock.now();
    tokens = Math.min(burst, tokens + ((now - last) / 1000) * rate);
    last = now;
  };

  return {
    take(signal) {
      if (!(rate > 0)) {
        taken++;
        return Promise.resolve();
      }
      const turn = queue.then(async () => {
        signal?.throwIfAborted();
        refill();
        if (tokens < 1) {
          await clock.sleep(Math.ceil(((1 - tokens) / rate) * 1000), signal);
          refill();
        }
        tokens -= 1;
        taken++;
      });
      queue = turn.catch(() => undefined);
      return turn;
    },
    get taken() {
      return taken;
    },
  };
}
