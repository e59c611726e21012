// Handler invocation shared by both adapters: bounded retries with backoff, then the dead-letter topic.
import { describeError } from '@strata/errors';
import type { BusLogger } from './logger.js';
import { DLQ_HEADERS, NonRetriableError, dlqTopic, type DeliveredMessage, type MessageHandler, type OutgoingMessage, type RetryBackoff } from './types.js';

/** handled / dead-lettered → commit and move on; released → leave uncommitted (another member gets it again). */
export type DeliveryOutcome = 'handled' | 'dead-lettered' | 'released';

export interface DeliveryPolicy {
  group: string;
  /** where a message goes after its last failed attempt */
  deadLetterTopic: string;
  maxAttempts: number;
  backoff: RetryBackoff;
}

export interface DeliveryControl {
  /** Graceful stop: the running attempt may finish, but nothing is retried. */
  stopping: AbortSignal;
  /** Crash: the running attempt is abandoned at once. */
  killed: AbortSignal;
}

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_BACKOFF: RetryBackoff = { initialMs: 200, maxMs: 10_000 };
const MAX_ERROR_HEADER = 2000;

export function resolvePolicy(group: string, maxAttempts?: number, backoff?: RetryBackoff, deadLetterTopic?: string): DeliveryPolicy {
  const attempts = maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`maxAttempts must be an integer >= 1, got ${attempts}`);
  return { group, deadLetterTopic: deadLetterTopic ?? dlqTopic(group), maxAttempts: attempts, backoff: backoff ?? DEFAULT_BACKOFF };
}

export function backoffDelay(retry: number, backoff: RetryBackoff): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, retry - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** Sleeps `ms`, or less if one of the signals fires. Returns false when woken by a signal. */
export function sleep(ms: number, ...signals: AbortSignal[]): Promise<boolean> {
  if (signals.some((s) => s.aborted)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (completed: boolean) => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', onAbort);
      resolve(completed);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
  });
}

const KILLED = Symbol('killed');

function raceKill<T>(work: Promise<T>, killed: AbortSignal): Promise<T | typeof KILLED> {
  // The abandoned handler may still settle later: never let that become an unhandled rejection.
  work.catch(() => undefined);
  if (killed.aborted) return Promise.resolve(KILLED);
  return new Promise((resolve, reject) => {
    const onKill = () => resolve(KILLED);
    killed.addEventListener('abort', onKill, { once: true });
    work.then(
      (v) => {
        killed.removeEventListener('abort', onKill);
        resolve(v);
      },
      (e: unknown) => {
        killed.removeEventListener('abort', onKill);
        reject(e);
      },
    );
  });
}

export function deadLetterMessage(message: Omit<DeliveredMessage, 'attempt'>, group: string, error: unknown, attempts: number): OutgoingMessage {
  const reason = describeError(error);
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...message.headers,
      [DLQ_HEADERS.topic]: message.topic,
      [DLQ_HEADERS.partition]: String(message.partition),
      [DLQ_HEADERS.offset]: message.offset,
      [DLQ_HEADERS.group]: group,
      [DLQ_HEADERS.error]: reason.length > MAX_ERROR_HEADER ? `${reason.slice(0, MAX_ERROR_HEADER)}…` : reason,
      [DLQ_HEADERS.attempts]: String(attempts),
      [DLQ_HEADERS.failedAt]: new Date().toISOString(),
    },
  };
}

/**
 * Runs the handler for one message until it succeeds, or until maxAttempts is reached and the
 * message is published to the group's dead-letter topic. Never throws.
 */
export async function deliver(
  message: Omit<DeliveredMessage, 'attempt'>,
  handler: MessageHandler,
  policy: DeliveryPolicy,
  control: DeliveryControl,
  publish: (topic: string, messages: OutgoingMessage[]) => Promise<void>,
  logger: BusLogger,
): Promise<DeliveryOutcome> {
  const where = { group: policy.group, topic: message.topic, partition: message.partition, offset: message.offset, key: message.key };
  for (let attempt = 1; ; attempt++) {
    if (control.killed.aborted) return 'released';
    let failure: unknown;
    try {
      const result = await raceKill(
        Promise.resolve().then(() => handler({ ...message, attempt })),
        control.killed,
      );
      if (result === KILLED) return 'released';
      return 'handled';
    } catch (error) {
      failure = error;
    }
    if (control.killed.aborted) return 'released';

    const final = failure instanceof NonRetriableError || attempt >= policy.maxAttempts;
    if (!final) {
      if (control.stopping.aborted) return 'released';
      const delay = backoffDelay(attempt, policy.backoff);
      logger.warn({ ...where, attempt, maxAttempts: policy.maxAttempts, retryInMs: delay, err: describeError(failure) }, 'message handler failed; retrying');
      if (!(await sleep(delay, control.stopping, control.killed))) return 'released';
      continue;
    }

    const dead = deadLetterMessage(message, policy.group, failure, attempt);
    const topic = policy.deadLetterTopic;
    logger.warn({ ...where, attempts: attempt, dlq: topic, err: describeError(failure) }, 'message dead-lettered');
    for (let tries = 1; ; tries++) {
      try {
        await publish(topic, [dead]);
        return 'dead-lettered';
      } catch (error) {
        if (control.killed.aborted || control.stopping.aborted) return 'released';
        const delay = backoffDelay(tries, policy.backoff);
        logger.error({ ...where, dlq: topic, retryInMs: delay, err: describeError(error) }, 'could not publish to the dead-letter topic; retrying');
        if (!(await sleep(delay, control.stopping, control.killed))) return 'released';
      }
    }
  }
}
