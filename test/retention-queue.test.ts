// Retention (a local store's finished records, oldest first, in a ring):
// each entry comes back with the key it was queued with (where the id index
// put the record, so a drop need not read its id), through the ring's
// wrap-around and growth and `tidy`; entries whose record left are skipped
// by tidy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Retention } from '../src/store/retention.js';
import type { JobRecord } from '../src/store/store.js';

function rec(n: number): JobRecord {
  return { id: `j${n}`, name: 'a', payload: null, state: 'completed', runAt: 0, createdAt: 0, attempt: 1, priority: 0, seq: n, finishedAt: n };
}

test('Retention returns each entry with its key, in order, as the ring wraps and grows', () => {
  const queue = new Retention();
  let next = 0;
  let pushed = 0;
  // Pushes and shifts interleaved: the ring wraps at every size it grows through (64 to 4096); keys past 2^31 (a generated id's counter may be).
  for (let round = 0; round < 40; round++) {
    for (let k = 0; k < 300; k++, pushed++) queue.push(rec(pushed), true, pushed % 7 === 0 ? -1 : pushed * 3 + 2 ** 40);
    for (let k = 0; k < 250; k++, next++) {
      const job = queue.shift();
      assert.equal(job?.seq, next);
      assert.equal(queue.shiftedKey, next % 7 === 0 ? -1 : next * 3 + 2 ** 40, `key of entry ${next}`);
    }
  }
  while (next < pushed) {
    assert.equal(queue.shift()?.seq, next);
    assert.equal(queue.shiftedKey, next % 7 === 0 ? -1 : next * 3 + 2 ** 40);
    next++;
  }
  assert.equal(queue.shift(), undefined);
});

test('Retention.tidy keeps the keys of the entries it keeps', () => {
  const queue = new Retention();
  const current = new Map<string, JobRecord>();
  // The ring's oldest entry away from slot 0, so the kept entries wrap around its end.
  for (let n = 0; n < 500; n++) queue.push(rec(-1), true, 0);
  for (let n = 0; n < 500; n++) queue.shift();
  for (let n = 0; n < 500; n++) {
    const job = rec(n);
    queue.push(job, true, 1000 + n);
    // Two in three leave (revived, replaced or dropped): byId no longer holds them.
    if (n % 3 === 0) current.set(job.id, job);
  }
  queue.tidy(current.size, current);
  for (let n = 0; n < 500; n += 3) {
    assert.equal(queue.shift()?.seq, n);
    assert.equal(queue.shiftedKey, 1000 + n);
  }
  assert.equal(queue.shift(), undefined);
  // Still a queue after the tidy: new entries come back in order.
  for (let n = 600; n < 700; n++) queue.push(rec(n), true, n);
  for (let n = 600; n < 700; n++) assert.equal(queue.shift()?.seq, n);
});

test('Retention counts as stale only the entries pushed as not current', () => {
  const queue = new Retention();
  queue.push(rec(0));
  queue.push(rec(1), true, 5);
  assert.equal(queue.stale, 0, 'an entry is current unless said');
  queue.push(rec(2), false);
  queue.push(rec(3), false, 7);
  assert.equal(queue.stale, 2);
});

test('Retention.tidy runs only once the queue holds more than twice the live records plus 64, and then keeps only current ones', () => {
  const current = new Map<string, JobRecord>();
  const fill = (queue: Retention, n: number): void => {
    for (let k = 0; k < n; k++) {
      const job = rec(k);
      queue.push(job);
      if (k < 10) current.set(job.id, job);
    }
  };
  const seqs = (queue: Retention): number[] => [...queue.records()].map((j) => j.seq);
  // 10 live records: the bound is 2 * 10 + 64 = 84 entries.
  const at = new Retention();
  fill(at, 84);
  at.tidy(10, current);
  assert.equal(seqs(at).length, 84, 'at the bound: left as it is');
  const past = new Retention();
  fill(past, 85);
  past.tidy(10, current);
  assert.deepEqual(seqs(past), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'one past it: only the current entries stay, in order');
  assert.equal(past.stale, 0);
  // The floor: after a tidy kept 10, the next bound counts at least those 10 even when `live` says fewer.
  for (let k = 0; k < 74; k++) past.push(rec(100 + k));
  past.tidy(0, current);
  assert.equal(seqs(past).length, 84, 'the bound uses the entries the last tidy kept');
  past.push(rec(200));
  past.tidy(0, current);
  assert.deepEqual(seqs(past), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('Retention.records walks a full ring once', () => {
  const queue = new Retention();
  // 64 entries fill the first ring exactly (its size), with its oldest entry away from slot 0.
  for (let k = 0; k < 10; k++) queue.push(rec(-1));
  for (let k = 0; k < 10; k++) queue.shift();
  for (let k = 0; k < 64; k++) queue.push(rec(k));
  assert.deepEqual(
    [...queue.records()].map((j) => j.seq),
    Array.from({ length: 64 }, (_, k) => k),
  );
  // A tidy of that full ring keeps each current entry once.
  const current = new Map<string, JobRecord>();
  for (const job of queue.records()) if (job.seq % 2 === 0) current.set(job.id, job);
  for (let k = 64; k < 128; k++) queue.push(rec(k));
  queue.tidy(0, current);
  assert.deepEqual(
    [...queue.records()].map((j) => j.seq),
    Array.from({ length: 32 }, (_, k) => 2 * k),
  );
});

test('Retention.clear empties the queue, which then works as a new one', () => {
  const queue = new Retention();
  for (let k = 0; k < 100; k++) queue.push(rec(k), k % 2 === 0);
  queue.clear();
  assert.equal(queue.shift(), undefined);
  assert.deepEqual([...queue.records()], []);
  assert.equal(queue.stale, 0);
  // Past the first ring's size, through wrap-arounds: entries come back in order with their keys.
  let next = 0;
  for (let k = 0; k < 300; k++) {
    queue.push(rec(k), true, k + 0.5);
    if (k % 3 === 0) {
      assert.equal(queue.shift()?.seq, next);
      assert.equal(queue.shiftedKey, next + 0.5);
      next++;
    }
  }
  while (next < 300) {
    assert.equal(queue.shift()?.seq, next);
    next++;
  }
});
