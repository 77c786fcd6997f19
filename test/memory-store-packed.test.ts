/**
 * MemoryStore({ packed: true }): plain scheduled jobs kept as bytes
 * (packed-jobs.ts). The same calls on a packed store and on a plain one
 * give the same answers, events and order; the option is checked.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory.js';
import { ValidationError } from '../src/errors.js';
import type { LocalState } from '../src/store/local-state.js';
import { T0, prng } from './helpers.js';

type Jobs = { a: { n: number; text: string }; b: { n: number; text: string } };

/** Jobs the store holds as bytes (its state's cold count: the packed set sits where cold jobs would). */
const packedCount = (store: MemoryStore): number => (store as unknown as { state: LocalState }).state.coldCount;

/**
 * Random calls (scheduleIn / scheduleAt with and without options, cancel,
 * reschedule, get, list, time passing, clock steps both ways) on a
 * scheduler over `store`; returns everything it saw, and the most jobs
 * the store held as bytes at once.
 */
async function script(store: MemoryStore, seed: number): Promise<{ seen: unknown[]; mostPacked: number }> {
  const rnd = prng(seed);
  const clock = new VirtualClock(T0);
  let n = 0;
  const seen: unknown[] = [];
  const scheduler = new Scheduler<Jobs>({ store, clock, concurrency: 3 });
  for (const name of ['a', 'b'] as const) {
    scheduler.register(name, (job) => {
      seen.push(['run', name, job.id, job.payload, Object.isFrozen(job.payload), job.attempt, clock.now()]);
      if (job.payload.n % 7 === 0) throw new Error(`job ${job.payload.n} fails`);
    });
  }
  for (const type of ['completed', 'failed', 'dead', 'cancelled', 'rescheduled'] as const) {
    scheduler.on(type, (e: { job: { id: string; state: string; runAt: Date; attempt: number } }) => seen.push([type, e.job.id, e.job.state, e.job.runAt.getTime(), e.job.attempt]));
  }
  await scheduler.start();
  const ids: string[] = [];
  let mostPacked = 0;
  for (let step = 0; step < 400; step++) {
    const r = rnd();
    const name = rnd() < 0.5 ? 'a' : 'b';
    const payload = { n: n++, text: rnd() < 0.2 ? 'été ✓' : 'plain' };
    if (r < 0.35) {
      const opts = rnd() < 0.25 ? { retry: { maxRetries: 1, backoff: { type: 'fixed' as const, delay: 500 } } } : rnd() < 0.1 ? { priority: 2 } : undefined;
      ids.push((await scheduler.scheduleIn(name, Math.floor(rnd() * 60_000), payload, opts)).id);
    } else if (r < 0.5) {
      ids.push((await scheduler.scheduleAt(name, clock.now() + Math.floor(rnd() * 60_000) - 5_000, payload)).id);
    } else if (r < 0.58 && ids.length > 0) {
      seen.push(['cancel', await scheduler.cancel(ids[Math.floor(rnd() * ids.length)] as string)]);
    } else if (r < 0.65 && ids.length > 0) {
      const id = ids[Math.floor(rnd() * ids.length)] as string;
      const moved = await scheduler.reschedule(id, clock.now() + Math.floor(rnd() * 30_000)).catch((e: Error) => e.name);
      seen.push(['reschedule', typeof moved === 'string' ? moved : [moved.id, moved.runAt.getTime(), moved.payload]]);
    } else if (r < 0.75 && ids.length > 0) {
      const job = await scheduler.get(ids[Math.floor(rnd() * ids.length)] as string);
      seen.push(['get', job && [job.id, job.name, job.state, job.payload, Object.isFrozen(job.payload), job.runAt.getTime(), job.createdAt.getTime(), job.attempt]]);
    } else if (r < 0.8) {
      const page = await scheduler.list({ state: 'scheduled', limit: 5, offset: Math.floor(rnd() * 3), ...(rnd() < 0.5 ? { name } : {}) });
      seen.push(['list', page.map((j) => [j.id, j.runAt.getTime(), j.payload, Object.isFrozen(j.payload)])]);
    } else if (r < 0.97) {
      await clock.advance(Math.floor(rnd() * 20_000));
    } else {
      // A step of the wall clock: delays keep their length, dates stay put.
      await clock.set(clock.now() + (rnd() < 0.5 ? -1 : 1) * 3_600_000);
    }
    mostPacked = Math.max(mostPacked, packedCount(store));
  }
  await clock.advance(3 * 3_600_000);
  seen.push(['counts', await store.counts()]);
  await scheduler.stop();
  // Generated ids start with a prefix of each scheduler's own: compared without it.
  const prefix = (ids[0] ?? '').slice(0, 12);
  return { seen: JSON.parse(JSON.stringify(seen).split(prefix).join('#')) as unknown[], mostPacked };
}

describe('MemoryStore({ packed: true })', () => {
  test('answers, fires and orders jobs as a plain MemoryStore does (random calls, clock steps both ways)', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const plain = await script(new MemoryStore(), seed);
      const packed = await script(new MemoryStore({ packed: true }), seed);
      assert.equal(plain.mostPacked, 0);
      assert.ok(packed.mostPacked > 10, `seed ${seed}: at most ${packed.mostPacked} jobs were packed at once`);
      assert.deepEqual(packed.seen, plain.seen, `seed ${seed}`);
      // What was compared holds every kind of answer: runs, failures, cancels, reads and pages of jobs.
      const kinds = new Set(plain.seen.map((e) => (e as unknown[])[0]));
      for (const kind of ['run', 'completed', 'failed', 'cancel', 'reschedule', 'get', 'list']) assert.ok(kinds.has(kind), `seed ${seed}: no ${kind}`);
    }
  });

  test('holds plain jobs as bytes until they are read, and a read job as its record', async () => {
    const store = new MemoryStore({ packed: true });
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    const ran: number[] = [];
    scheduler.register('a', (job) => {
      ran.push(job.payload.n);
    });
    await scheduler.start();
    for (let i = 0; i < 50; i++) await scheduler.scheduleIn('a', 1000 + (i % 5), { n: i, text: 'x' });
    await scheduler.scheduleIn('a', 1000, { n: 50, text: 'x' }, { priority: 1 }); // an option: kept as a record
    assert.equal(packedCount(store), 50);
    const first = (await scheduler.list({ limit: 1 }))[0];
    assert.ok(first);
    // Read-only, as a plain MemoryStore's: a caller cannot change what the handler will get.
    assert.throws(() => ((first.payload as { n: number }).n = -1), TypeError);
    const read = await scheduler.get(first.id);
    assert.equal(read?.payload.n, 0);
    assert.throws(() => ((read?.payload as { n: number }).n = -1), TypeError);
    assert.equal(packedCount(store), 49, 'a job read by id is held as its record from then on');
    await clock.advance(1004);
    assert.deepEqual(ran, [50, ...[0, 5, 10, 15, 20, 25, 30, 35, 40, 45], ...[1, 6, 11, 16, 21, 26, 31, 36, 41, 46], ...[2, 7, 12, 17, 22, 27, 32, 37, 42, 47], ...[3, 8, 13, 18, 23, 28, 33, 38, 43, 48], ...[4, 9, 14, 19, 24, 29, 34, 39, 44, 49]]);
    assert.equal(packedCount(store), 0);
    await scheduler.stop();
  });

  test('a bad option is a ValidationError', () => {
    assert.throws(() => new MemoryStore({ packed: 'yes' } as unknown as { packed: boolean }), (e: unknown) => e instanceof ValidationError && /options\.packed/.test(e.message));
    assert.throws(() => new MemoryStore({ pack: true } as unknown as { packed: boolean }), (e: unknown) => e instanceof ValidationError && /Unknown option `options\.pack`/.test(e.message));
    assert.throws(() => new MemoryStore(null as unknown as { packed: boolean }), ValidationError);
    assert.doesNotThrow(() => new MemoryStore({}));
    assert.doesNotThrow(() => new MemoryStore({ packed: false }));
  });
});
