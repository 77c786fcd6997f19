/**
 * listJobs (src/store/list-jobs.ts), a local store's `list`, against a
 * reference: every record filtered, sorted by (runAt, seq), sliced. A page
 * of a small part of the store keeps only its first matches as it reads
 * (FirstMatches, a bounded heap); a long page sorts every match: both must
 * answer as the reference does, ties in runAt included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FirstMatches, listJobs } from '../src/store/list-jobs.js';
import { LocalState } from '../src/store/local-state.js';
import type { JobRecord, StoreListFilter } from '../src/store/store.js';
import type { JobState } from '../src/types.js';

const STATES: readonly JobState[] = ['scheduled', 'running', 'completed', 'cancelled', 'dead'];

function record(id: string, name: string, runAt: number, state: JobState, recurring: boolean): JobRecord {
  const r: JobRecord = { id, name, payload: null, state, runAt, createdAt: 0, attempt: 0, seq: 0, priority: 0 };
  if (state === 'running') r.token = `t-${id}`;
  if (state !== 'scheduled' && state !== 'running') r.finishedAt = runAt;
  if (recurring) r.recur = { kind: 'every', every: 1000, misfire: 'once', count: 0 } as unknown as NonNullable<JobRecord['recur']>;
  return r;
}

function reference(all: JobRecord[], filter: StoreListFilter): string[] {
  const offset = filter.offset ?? 0;
  return all
    .filter((j) => (filter.name === undefined || j.name === filter.name) && (filter.states === undefined || filter.states.includes(j.state)) && (filter.recurring !== true || j.recur !== undefined))
    .sort((a, b) => a.runAt - b.runAt || a.seq - b.seq)
    .slice(offset, filter.limit === undefined ? undefined : offset + filter.limit)
    .map((j) => j.id);
}

const jobArb = fc.record({
  name: fc.constantFrom('a', 'b'),
  // A few due times only: many ties, which seq orders.
  runAt: fc.integer({ min: 0, max: 12 }),
  state: fc.constantFrom(...STATES, 'scheduled', 'scheduled'),
  recurring: fc.boolean(),
});

const filterArb = fc.record(
  {
    name: fc.constantFrom('a', 'b'),
    states: fc.subarray([...STATES], { minLength: 1 }),
    limit: fc.integer({ min: 0, max: 60 }),
    offset: fc.integer({ min: 0, max: 40 }),
    recurring: fc.constant(true),
  },
  { requiredKeys: [] },
);

test('a page answers what sorting every match answers, on both paths (a bounded heap for a short page)', () => {
  fc.assert(
    fc.property(fc.array(jobArb, { maxLength: 240 }), fc.array(filterArb, { minLength: 1, maxLength: 8 }), (jobs, filters) => {
      const state = new LocalState();
      state.keepCompleted = Infinity;
      state.keepDead = Infinity;
      // Loaded, so records of every state sit in the indexes as a reopened store has them.
      state.load(jobs.map((j, i) => Object.assign(record(`j${i}`, j.name, j.runAt, j.state, j.recurring), { seq: jobs.length - i })));
      const all = [...state.values()];
      for (const filter of filters) {
        assert.deepEqual(
          listJobs(state, filter).map((j) => j.id),
          reference(all, filter),
          JSON.stringify(filter),
        );
      }
    }),
    { numRuns: 300 },
  );
});

test('FirstMatches keeps the k first records in (runAt, seq) order, whatever order they come in', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 80 }), fc.integer({ min: 0, max: 90 }), (runAts, k) => {
      const jobs = runAts.map((runAt, i) => Object.assign(record(`j${i}`, 'a', runAt, 'scheduled', false), { seq: (i * 37) % 101 }));
      const first = new FirstMatches(k);
      for (const job of jobs) first.offer(job);
      const want = [...jobs].sort((a, b) => a.runAt - b.runAt || a.seq - b.seq).slice(0, k);
      assert.deepEqual(first.sorted(), want);
    }),
    { numRuns: 500 },
  );
});

test('a negative offset or limit (refused by the scheduler, passed to the store directly) answers as slicing every match does', () => {
  const state = new LocalState();
  state.load(Array.from({ length: 40 }, (_, i) => Object.assign(record(`j${i}`, 'a', i % 7, 'scheduled', false), { seq: i + 1 })));
  const all = [...state.values()];
  for (const filter of [{ limit: -1 }, { offset: -5, limit: 3 }, { offset: -2 }]) {
    assert.deepEqual(listJobs(state, filter).map((j) => j.id), reference(all, filter), JSON.stringify(filter));
  }
});
