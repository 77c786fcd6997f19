/**
 * removeOnComplete / removeOnFail through the Scheduler (issue 16 item 6):
 * per job, per name (register), per schedule and as defaults, with job →
 * name → default precedence; waitFor still answers for a removed job it was
 * waiting for; JsonFileStore keeps pending removals across a restart;
 * validation; a store without removal refuses. Store-level rules:
 * store-conformance-removal.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JobFailedError, JobNotFoundError, UnsupportedOptionError, UnrecoverableError, ValidationError } from '../src/errors.js';
import { Scheduler } from '../src/scheduler.js';
import { MemoryStore } from '../src/store/memory.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { PostgresStore } from '../src/postgres.js';
import type { Store } from '../src/store/store.js';
import { VirtualClock } from '../src/clock.js';
import { T0, virtualScheduler } from './helpers.js';

type Jobs = { ok: { n: number }; bad: { n: number }; tick: null };

async function ids(scheduler: Scheduler<Jobs>): Promise<string[]> {
  return (await scheduler.list()).map((j) => j.id).sort();
}

describe('per-job retention', () => {
  it('removeOnComplete: true removes the job at completion; a waitFor made before still gets its result', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register('ok', (job) => job.payload.n * 2);
    const gone = await scheduler.scheduleIn('ok', 10, { n: 21 }, { id: 'gone', removeOnComplete: true });
    const kept = await scheduler.scheduleIn('ok', 10, { n: 1 }, { id: 'kept' });
    const result = scheduler.waitFor(gone);
    await clock.advance(10);
    assert.equal(await result, 42);
    assert.equal(await scheduler.get('gone'), undefined);
    assert.equal((await scheduler.get(kept.id))?.state, 'completed');
    assert.equal(scheduler.stats().completed, 1);
    await assert.rejects(scheduler.waitFor('gone'), JobNotFoundError, 'after removal: no such job');
    await scheduler.stop();
  });

  it('removeOnFail: a waitFor made before rejects with the final error; removeOnComplete does not touch dead jobs', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register('bad', () => {
      throw new UnrecoverableError('no');
    });
    const a = await scheduler.scheduleIn('bad', 0, { n: 1 }, { id: 'a', removeOnFail: true });
    await scheduler.scheduleIn('bad', 0, { n: 2 }, { id: 'b', removeOnComplete: true });
    const wait = assert.rejects(scheduler.waitFor(a), (e: unknown) => e instanceof JobFailedError && e.message.includes('`a`'));
    await clock.advance(1);
    await wait;
    assert.deepEqual(await ids(scheduler), ['b']);
    assert.equal((await scheduler.get('b'))?.state, 'dead');
    await scheduler.stop();
  });

  it('precedence: the job’s own, then register’s, then the scheduler’s; false turns a wider one off', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ removeOnComplete: true });
    scheduler.register('ok', () => undefined, { removeOnComplete: { count: 2 } });
    scheduler.register('tick', () => undefined);
    for (let i = 1; i <= 4; i++) await scheduler.scheduleIn('ok', i, { n: i }, { id: `ok${i}` });
    await scheduler.scheduleIn('ok', 5, { n: 5 }, { id: 'own', removeOnComplete: false });
    await scheduler.scheduleIn('tick', 6, null, { id: 'default' });
    await scheduler.scheduleIn('tick', 7, null, { id: 'tick-own', removeOnComplete: { ageMs: 1000 } });
    await clock.advance(10);
    // ok: the newest 2 with the name's count; own: kept (false); tick: the default removes at once, tick-own waits 1 s.
    assert.deepEqual(await ids(scheduler), ['ok3', 'ok4', 'own', 'tick-own']);
    await clock.advance(1000);
    assert.equal((await scheduler.get('tick-own'))?.state, 'completed', 'past its age, still there until another job finishes');
    await scheduler.scheduleIn('ok', 0, { n: 9 }, { id: 'later', removeOnComplete: false });
    await clock.advance(1);
    assert.deepEqual(await ids(scheduler), ['later', 'ok3', 'ok4', 'own'], 'the age passed: removed when a later job finished');
    await scheduler.stop();
  });

  it('count: 0 and ageMs: 0 remove at once; a cancelled job follows keepCompleted only', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register('ok', () => undefined);
    await scheduler.scheduleIn('ok', 0, { n: 1 }, { id: 'c0', removeOnComplete: { count: 0 } });
    await scheduler.scheduleIn('ok', 0, { n: 2 }, { id: 'a0', removeOnComplete: { ageMs: 0 } });
    await scheduler.scheduleIn('ok', 50, { n: 3 }, { id: 'cancelled', removeOnComplete: true });
    await clock.advance(1);
    assert.equal(await scheduler.cancel('cancelled'), true);
    assert.deepEqual(await ids(scheduler), ['cancelled']);
    await scheduler.stop();
  });

  it('a schedule’s policy applies when the schedule ends', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    let runs = 0;
    scheduler.register('tick', () => {
      runs++;
    });
    await scheduler.scheduleEvery('tick', 1000, null, { id: 'three', limit: 3, removeOnComplete: true });
    await clock.advance(2000);
    assert.equal((await scheduler.get('three'))?.state, 'scheduled', 'an occurrence does not end the schedule');
    await clock.advance(1000);
    assert.equal(runs, 3);
    assert.equal(await scheduler.get('three'), undefined);
    // Re-declaring with another policy is another schedule (the policy is part of its identity).
    await scheduler.scheduleEvery('tick', 1000, null, { id: 's', removeOnComplete: true });
    await assert.rejects(scheduler.scheduleEvery('tick', 1000, null, { id: 's', removeOnComplete: { count: 1 } }), /already exists|Duplicate/i);
    await scheduler.stop();
  });

  it('JsonFileStore keeps a pending removal across a restart', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'godelayq-removal-'));
    try {
      const clock = new VirtualClock(T0);
      const first = new Scheduler<Jobs>({ store: new JsonFileStore(dir), clock });
      first.register('ok', () => undefined);
      await first.start();
      await first.scheduleIn('ok', 0, { n: 1 }, { id: 'aged', removeOnComplete: { ageMs: 60_000 } });
      await first.scheduleIn('ok', 0, { n: 2 }, { id: 'now', removeOnComplete: true });
      await clock.advance(1);
      await waitUntil(async () => (await first.get('aged'))?.state === 'completed' && (await first.get('now')) === undefined);
      await first.stop();
      await clock.advance(60_000);
      const second = new Scheduler<Jobs>({ store: new JsonFileStore(dir), clock });
      second.register('ok', () => undefined);
      await second.start();
      assert.deepEqual(await ids(second), ['aged'], 'the immediate removal was journaled');
      await second.scheduleIn('ok', 0, { n: 3 }, { id: 'next' });
      await clock.advance(1);
      await waitUntil(async () => (await second.get('aged')) === undefined);
      assert.deepEqual(await ids(second), ['next']);
      await second.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('validates policies with clear errors, everywhere they are given', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const bad: [unknown, RegExp][] = [
      ['yes', /Expected `options.removeOnComplete` to be true, false, \{ count \}, \{ ageMs \} or \{ count, ageMs \}, got "yes"/],
      [null, /Expected `options.removeOnComplete` to be true, false/],
      [{}, /with neither key/],
      [{ count: -1 }, /Expected `options.removeOnComplete.count` to be an integer >= 0, got -1|`options.removeOnComplete.count`/],
      [{ ageMs: 1.5 }, /`options.removeOnComplete.ageMs`/],
      [{ count: 1e12 }, /`options.removeOnComplete.count` to be an integer from 0 to/],
      [{ age: 10 }, /Unknown option `options.removeOnComplete.age`/],
    ];
    for (const [policy, message] of bad) {
      await assert.rejects(scheduler.scheduleIn('ok', 10, { n: 1 }, { removeOnComplete: policy } as never), (e: unknown) => e instanceof ValidationError && message.test(e.message), String(message));
    }
    await assert.rejects(scheduler.scheduleCron('tick', '* * * * *', null, { removeOnFail: 'x' } as never), /`options.removeOnFail`/);
    assert.throws(() => scheduler.register('ok', () => undefined, { removeOnFail: { count: 'x' } } as never), /`register options.removeOnFail.count`/);
    assert.throws(() => new Scheduler<Jobs>({ removeOnComplete: 3 } as never), /`options.removeOnComplete` to be true, false/);
    assert.equal(scheduler.stats().scheduled, 0);
    await scheduler.stop();
  });

  it('is refused (never ignored) by a store without removal; PostgresStore has it; false is accepted', async () => {
    class PlainStore extends MemoryStore {
      override readonly features = {};
    }
    const refused = (what: string) => (error: unknown) =>
      error instanceof UnsupportedOptionError && new RegExp(`\`${what}\` only with a store that supports removal.*PlainStore`).test(error.message);
    assert.throws(() => new Scheduler<Jobs>({ store: new PlainStore(), removeOnFail: { ageMs: 5 } }), refused('options.removeOnFail'));
    const scheduler = new Scheduler<Jobs>({ store: new PlainStore(), clock: new VirtualClock(T0), removeOnComplete: false });
    assert.throws(() => scheduler.register('ok', () => undefined, { removeOnComplete: { count: 3 } }), refused('register options.removeOnComplete'));
    await scheduler.start();
    await assert.rejects(scheduler.scheduleIn('ok', 10, { n: 1 }, { removeOnComplete: true }), refused('options.removeOnComplete'));
    assert.equal((await scheduler.scheduleIn('ok', 10, { n: 1 }, { removeOnComplete: false })).state, 'scheduled');
    await scheduler.stop();
    const postgres: Store = new PostgresStore({ connectionString: 'postgres://localhost/none' });
    assert.equal(postgres.features?.removal, true);
  });
});

/** Polls `check` (a durable store's writes are real I/O) until it holds, within a generous bound. */
async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
