/**
 * The running-attempt registry (Attempts in scheduler/attempt.ts) keeps an
 * ended attempt's entry as undefined instead of deleting it (deletes made
 * V8 rehash chains that kept every fire's garbage alive until a full GC).
 * Such entries must not pile up: the registry stays within a bound of the
 * attempts running, and cancel, stats and stop still see only live ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { MemoryStore } from '../src/store/memory.js';
import { VirtualClock } from '../src/clock.js';

interface Registry {
  dispatcher: { attempts: { attempts: Map<string, unknown>; running: number } };
}

test('ended attempts do not pile up in the registry; running ones stay findable', async () => {
  const clock = new VirtualClock(0);
  const s = new Scheduler<{ quick: null; slow: null }>({ store: new MemoryStore(), clock, concurrency: 50 });
  const registry = (s as unknown as Registry).dispatcher.attempts;
  let quick = 0;
  s.register('quick', () => {
    quick++;
  });
  const release: (() => void)[] = [];
  let aborted = 0;
  s.register('slow', (job) => new Promise<void>((resolve) => {
    release.push(resolve);
    job.signal.addEventListener('abort', () => aborted++);
  }), { concurrency: 5 });
  await s.start();
  const slow = [];
  for (let i = 0; i < 5; i++) slow.push((await s.scheduleIn('slow', 1, null)).id);
  for (let i = 0; i < 5000; i++) await s.scheduleIn('quick', 2 + (i % 100), null);
  let most = 0;
  for (let t = 0; t < 110; t++) {
    await clock.advance(1);
    most = Math.max(most, registry.attempts.size);
  }
  assert.equal(quick, 5000);
  // Five slow attempts run throughout; 5000 quick ones came and went.
  assert.equal(registry.running, 5);
  assert.ok(most <= 64 + 2 * 50, `registry held ${most} entries`);
  assert.equal(s.stats().running, 5);
  // A running attempt is still found by id: cancel aborts it.
  assert.equal(await s.cancel(slow[0]!), true);
  assert.equal(aborted, 1);
  assert.equal(registry.running, 4);
  for (const resolve of release) resolve();
  await clock.advance(1);
  assert.equal(registry.running, 0);
  await s.stop();
});
