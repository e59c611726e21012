// OSV range evaluation against npm `semver` ranges as the oracle, on random ranges generated here:
// disjoint intervals closed by `fixed` (exclusive) or `last_affected` (inclusive), an optional
// open-ended last interval, an optional `limit`, and events given sorted or shuffled.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import semver from 'semver';
import type { IndexedRange, OsvEvent } from '@strata/advisories';
import { comparator } from '@strata/versions';
import { evaluateRange, inVersionList } from './ranges.js';

/** A small deterministic PRNG, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const cmp = comparator('semver');

test('random ranges: affected and fixed version agree with npm semver ranges', () => {
  const rand = rng(20261126);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  let affectedSeen = 0;
  for (let round = 0; round < 400; round++) {
    // Distinct sorted versions to build intervals from.
    const pool = new Set<string>();
    while (pool.size < 10) pool.add(`${Math.floor(rand() * 3)}.${Math.floor(rand() * 4)}.${Math.floor(rand() * 5)}`);
    const vs = [...pool].sort(semver.compare);
    const events: OsvEvent[] = [];
    const parts: string[] = [];
    const fixes: { lo: string; fixed?: string; last?: string }[] = [];
    let i = rand() < 0.3 ? -1 : 0; // -1: the first interval starts at "0"
    while (i < vs.length - 1) {
      const lo = i < 0 ? '0' : (vs[i] as string);
      const hiIndex = i + 1 + Math.floor(rand() * 2);
      const hi = vs[Math.min(hiIndex, vs.length - 1)] as string;
      const openEnded = hiIndex >= vs.length - 1 && rand() < 0.3;
      events.push({ introduced: lo });
      const lower = lo === '0' ? '>=0.0.0-0' : `>=${lo}`;
      if (openEnded) {
        parts.push(lower);
        fixes.push({ lo });
        break;
      }
      if (rand() < 0.3) {
        events.push({ last_affected: hi });
        parts.push(`${lower} <=${hi}`);
        fixes.push({ lo, last: hi });
      } else {
        events.push({ fixed: hi });
        parts.push(`${lower} <${hi}`);
        fixes.push({ lo, fixed: hi });
      }
      i = Math.min(hiIndex, vs.length - 1) + 1 + Math.floor(rand() * 2);
    }
    let range = parts.join(' || ');
    const limit = rand() < 0.2 ? pick(vs) : undefined;
    if (limit) {
      events.push({ limit });
      range = parts.map((p) => `${p} <${limit}`).join(' || ');
    }
    const shuffled = [...events].sort(() => rand() - 0.5);
    const sortedRange: IndexedRange = { type: 'SEMVER', events };
    const unsortedRange: IndexedRange = { type: 'SEMVER', events: shuffled, unsorted: true };
    for (let p = 0; p < 12; p++) {
      const v = p < vs.length ? (vs[p] as string) : `${Math.floor(rand() * 3)}.${Math.floor(rand() * 5)}.${Math.floor(rand() * 6)}`;
      const want = semver.satisfies(v, range, { includePrerelease: true });
      for (const r of [sortedRange, unsortedRange]) {
        const got = evaluateRange(v, r, cmp);
        assert.equal(got.affected, want, `${v} in ${JSON.stringify(events)} (oracle range "${range}")`);
        if (want) {
          // The fix is the end of the interval holding v, when that end is a `fixed` event.
          const holding = fixes.find((f) =>
            semver.satisfies(v, `${f.lo === '0' ? '>=0.0.0-0' : `>=${f.lo}`}${f.fixed ? ` <${f.fixed}` : f.last ? ` <=${f.last}` : ''}`, {
              includePrerelease: true,
            }),
          );
          assert.equal(got.fixed, holding?.fixed, `fixed version for ${v} in ${JSON.stringify(events)}`);
        }
      }
      if (want) affectedSeen++;
    }
  }
  assert.ok(affectedSeen > 500);
});

test('explicit versions lists match exactly or by equal version', () => {
  assert.equal(inVersionList('1.2.3', ['1.2.2', '1.2.3'], cmp), true);
  assert.equal(inVersionList('1.2.4', ['1.2.2', '1.2.3'], cmp), false);
  assert.equal(inVersionList('1.2.3+build5', ['1.2.3'], cmp), cmp.compare('1.2.3+build5', '1.2.3') === 0);
});
