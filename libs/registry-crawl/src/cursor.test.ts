import assert from 'node:assert/strict';
import test from 'node:test';
import type { Crawl } from './crawl.js';
import { emptyCursor, planPass } from './cursor.js';

const crawl = (tags: Array<[string, string, string]>, failedRepositories: string[] = []): Crawl => ({
  registry: 'r.example',
  repositories: [...new Set(tags.map(([r]) => r))],
  tags: tags.map(([repository, tag, digest]) => ({ repository, tag, digest })),
  problems: [],
  failedRepositories,
});

test('first pass: every digest once, under its first tag, with all its tags', () => {
  const plan = planPass(
    emptyCursor('r.example'),
    crawl([
      ['app', 'latest', 'sha256:a'],
      ['app', 'v1', 'sha256:a'],
      ['app', 'v0', 'sha256:b'],
      ['mirror', 'x', 'sha256:a'],
    ]),
  );
  assert.deepEqual(
    plan.fresh.map((f) => [f.repository, f.tag, f.digest, f.tags]),
    [
      ['app', 'latest', 'sha256:a', ['latest', 'v1']],
      ['app', 'v0', 'sha256:b', ['v0']],
    ],
  );
  assert.deepEqual(
    plan.unchanged.map((u) => `${u.repository}:${u.tag}`),
    ['mirror:x'],
  );
  assert.deepEqual(plan.next.requested, ['sha256:a', 'sha256:b']);
  assert.deepEqual(plan.next.tags, { 'app:latest': 'sha256:a', 'app:v1': 'sha256:a', 'app:v0': 'sha256:b', 'mirror:x': 'sha256:a' });
});

test('next passes: a changed tag and a new digest are fresh; a new tag on a known digest is not', () => {
  const first = planPass(
    emptyCursor('r.example'),
    crawl([
      ['app', 'latest', 'sha256:a'],
      ['app', 'v0', 'sha256:b'],
    ]),
  ).next;
  const same = planPass(
    first,
    crawl([
      ['app', 'latest', 'sha256:a'],
      ['app', 'v0', 'sha256:b'],
    ]),
  );
  assert.deepEqual(same.fresh, []);
  assert.equal(same.unchanged.length, 2);
  const moved = planPass(
    first,
    crawl([
      ['app', 'latest', 'sha256:c'],
      ['app', 'v0', 'sha256:b'],
      ['app', 'v0-alias', 'sha256:b'],
    ]),
  );
  assert.deepEqual(
    moved.fresh.map((f) => f.digest),
    ['sha256:c'],
  );
  assert.deepEqual(
    moved.unchanged.map((u) => u.tag),
    ['v0', 'v0-alias'],
  );
  // sha256:a is no longer referenced: forgotten (scanned again if it comes back).
  assert.deepEqual(moved.next.requested, ['sha256:b', 'sha256:c']);
});

test('a repository that could not be read keeps its previous tags and digests', () => {
  const first = planPass(
    emptyCursor('r.example'),
    crawl([
      ['app', 'latest', 'sha256:a'],
      ['db', 'v1', 'sha256:d'],
    ]),
  ).next;
  const plan = planPass(first, crawl([['app', 'latest', 'sha256:a']], ['db']));
  assert.deepEqual(plan.fresh, []);
  assert.equal(plan.next.tags['db:v1'], 'sha256:d');
  assert.deepEqual(plan.next.requested, ['sha256:a', 'sha256:d']);
});
