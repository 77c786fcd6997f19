// Retention (a local store's finished records, oldest first): each entry
// comes back with the key it was queued with (where the id index put the
// record, so a drop need not read its id), through the queue's compaction
// and `tidy`; entries whose record left are skipped by tidy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Retention } from '../src/store/retention.js';
import type { JobRecord } from '../src/store/store.js';

function rec(n: number): JobRecord {
  return { id: `j${n}`, name: 'a', payload: null, state: 'completed', runAt: 0, createdAt: 0, attempt: 1, priority: 0, seq: n, finishedAt: n };
}

test('Retention returns each entry with its key, in order, across compactions', () => {
  const queue = new Retention();
  let next = 0;
  let pushed = 0;
  // Pushes and shifts interleaved, past the 1024-entry compaction several times.
  for (let round = 0; round < 40; round++) {
    for (let k = 0; k < 300; k++, pushed++) queue.push(rec(pushed), true, pushed % 7 === 0 ? -1 : pushed * 3);
    for (let k = 0; k < 250; k++, next++) {
      const job = queue.shift();
      assert.equal(job?.seq, next);
      assert.equal(queue.shiftedKey, next % 7 === 0 ? -1 : next * 3, `key of entry ${next}`);
    }
  }
  while (next < pushed) {
    assert.equal(queue.shift()?.seq, next);
    assert.equal(queue.shiftedKey, next % 7 === 0 ? -1 : next * 3);
    next++;
  }
  assert.equal(queue.shift(), undefined);
});

test('Retention.tidy keeps the keys of the entries it keeps', () => {
  const queue = new Retention();
  const current = new Map<string, JobRecord>();
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
});
