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
