// Removals (src/store/removal.ts), the per-job retention index of a local
// store, driven directly with a Map as the id index: which records a finish
// removes (its own at its time, the oldest of its list past the count, every
// expired one), that lists are per (name, state), that records which left by
// other means never count or come back, and that the lists stay bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Removals } from '../src/store/removal.js';
import type { JobRecord } from '../src/store/store.js';

type Removal = NonNullable<JobRecord['removal']>;

let seq = 0;
function finished(id: string, finishedAt: number, removal: Removal, state: 'completed' | 'dead' = 'completed', name = 'mail'): JobRecord {
  return { id, name, payload: null, state, runAt: 0, createdAt: 0, attempt: 1, priority: 0, seq: seq++, finishedAt, removal };
}

/** A store's view: byId holds the current records; `finish` indexes one and removes what is due, as LocalState.put does. */
function store(): { byId: Map<string, JobRecord>; removals: Removals; finish(job: JobRecord): string[]; leave(job: JobRecord): void } {
  const byId = new Map<string, JobRecord>();
  const removals = new Removals();
  return {
    byId,
    removals,
    finish(job) {
      byId.set(job.id, job);
      removals.add(job, byId);
      const due = removals.due(job, job.finishedAt as number, byId);
      for (const old of due) {
        removals.left(old);
        byId.delete(old.id);
      }
      return due.map((j) => j.id);
    },
    leave(job) {
      removals.left(job);
      byId.delete(job.id);
    },
  };
}

const count = (n: number): Removal => ({ count: n });

test('an empty index is not active; a record with a count or a later removal time makes it so; clear empties it', () => {
  const s = store();
  assert.equal(s.removals.active, false);
  // Removed at its own settle (at <= finishedAt): nothing to remember.
  s.finish(finished('now', 100, { at: 100 }));
  assert.equal(s.removals.active, false, 'a record removed at its settle leaves nothing behind');
  s.finish(finished('later', 100, { at: 200 }));
  assert.equal(s.removals.active, true, 'a removal time to come');
  s.removals.clear();
  assert.equal(s.removals.active, false);
  s.finish(finished('counted', 100, count(5)));
  assert.equal(s.removals.active, true, 'a count list');
});

test('a finish removes itself once its time has come, and the records whose time passed', () => {
  const s = store();
  assert.deepEqual(s.finish(finished('a', 100, { at: 150 })), []);
  assert.deepEqual(s.finish(finished('b', 120, { at: 170 })), []);
  assert.deepEqual(s.finish(finished('c', 160, { at: 160 })), ['c', 'a'], 'its own at its settle, then a (due at 150)');
  assert.deepEqual(s.finish(finished('d', 400, { at: 500 })), ['b']);
  assert.deepEqual([...s.byId.keys()], ['d']);
});

test('count lists are per name and per state: a dead record never trims the completed ones', () => {
  const s = store();
  assert.deepEqual(s.finish(finished('c1', 1, count(1), 'completed')), []);
  assert.deepEqual(s.finish(finished('d1', 2, count(1), 'dead')), [], 'the first dead record of the name');
  assert.deepEqual(s.finish(finished('x1', 3, count(1), 'completed', 'other')), [], 'the first of another name');
  assert.deepEqual(s.finish(finished('c2', 4, count(1), 'completed')), ['c1']);
  assert.deepEqual(s.finish(finished('d2', 5, count(1), 'dead')), ['d1']);
  assert.deepEqual([...s.byId.keys()].sort(), ['c2', 'd2', 'x1']);
});

test('records that left by other means neither count toward a list nor come back from it', () => {
  const s = store();
  const a = finished('a', 1, count(1));
  s.finish(a);
  // a is revived (or replaced): its list entry stays behind, no longer live.
  s.leave(a);
  const revived: JobRecord = { ...a, state: 'scheduled', seq: seq++ };
  delete revived.finishedAt;
  delete revived.removal;
  s.byId.set('a', revived);
  assert.deepEqual(s.finish(finished('b', 2, count(1))), [], 'a left: b is the only live record of the list');
  assert.deepEqual(s.finish(finished('c', 3, count(1))), ['b'], 'the stale entry of a is skipped, not counted as the one removed');
  assert.equal(s.byId.get('a'), revived, 'the revived a is never removed');
});

test('a record without a count that leaves does not change the count of its name’s list', () => {
  const s = store();
  s.finish(finished('a', 1, count(2)));
  s.finish(finished('b', 2, count(2)));
  // Same name and state, a removal time only: never in the list, it leaves by its time.
  s.finish(finished('t', 3, { at: 4 }));
  assert.deepEqual(s.finish(finished('c', 5, count(2))), ['a', 't']);
  assert.deepEqual(s.finish(finished('d', 6, count(2))), ['b'], 'b, c, d live: one past the count');
  assert.deepEqual([...s.byId.keys()].sort(), ['c', 'd']);
});

test('a record both past its list’s count and past its time is removed once', () => {
  const s = store();
  s.finish(finished('a', 100, { count: 1, at: 110 }));
  assert.deepEqual(s.finish(finished('b', 120, { count: 1, at: 500 })), ['a']);
});

/** The entries a list holds (internal: the test of its memory bound). */
function listLength(s: { removals: Removals }, key = 'cmail'): number {
  return (s.removals as unknown as { lists: Map<string, { items: unknown[]; head: number }> }).lists.get(key)?.items.length ?? 0;
}

test('a list whose records mostly left is filtered, and keeps trimming the live ones in order', () => {
  const s = store();
  const jobs: JobRecord[] = [];
  for (let k = 0; k < 1000; k++) {
    const job = finished(`j${k}`, k, count(5000));
    jobs.push(job);
    s.finish(job);
  }
  // 995 of them leave by other means (revived, replaced, evicted): the next add finds the list mostly stale and filters it.
  for (const job of jobs) if (Number(job.id.slice(1)) % 200 !== 0) s.leave(job);
  for (let k = 0; k < 100; k++) assert.deepEqual(s.finish(finished(`n${k}`, 1000 + k, count(5000))), []);
  const length = listLength(s);
  assert.ok(length <= 2 * 105 + 65, `105 live records, ${length} entries`);
  // 5 old live records and 100 new ones: a count of 3 keeps the 3 newest.
  const removed = s.finish(finished('last', 3000, count(3)));
  assert.deepEqual(removed.slice(0, 6), ['j0', 'j200', 'j400', 'j600', 'j800', 'n0'], 'the old live records first, oldest first');
  assert.equal(removed.length, 103);
  assert.deepEqual([...s.byId.keys()].sort(), ['last', 'n98', 'n99']);
});

test('a long-lived list does not keep the entries it trimmed', () => {
  const s = store();
  for (let k = 0; k < 5000; k++) s.finish(finished(`j${k}`, k, count(1)));
  assert.deepEqual([...s.byId.keys()], ['j4999']);
  // The list's array is internal; it must not grow with every finish (a leak in a store that runs for months).
  const items = listLength(s);
  assert.ok(items <= 2048, `the list holds ${items} entries for 1 live record`);
});
