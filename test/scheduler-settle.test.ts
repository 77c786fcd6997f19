/**
 * Outcomes the store refuses are kept and retried until it takes them
 * (issue 11 #6); stop() always returns within its timeout, even when store
 * calls never settle (issue 12 #1); an attempt that loses its job is aborted
 * with a `lost` event (issue 12 #6).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { StorePersistError } from '../src/errors.js';
import { MemoryStore } from '../src/store/memory.js';
import type { JobRecord, StoreContext } from '../src/store/store.js';
import type { SchedulerEvents } from '../src/events.js';
import { T0, record } from './helpers.js';

type Jobs = { work: { n: number } };

/** A MemoryStore whose settles fail while `failing`, and that keeps the context it was opened with. */
class FlakyStore extends MemoryStore {
  failing = false;
  settleCalls = 0;
  opened!: StoreContext;
  override async open(context: StoreContext): Promise<void> {
    this.opened = context;
    await super.open(context);
  }
  override async settle(id: string, token: string, next: JobRecord): Promise<boolean> {
    this.settleCalls++;
    if (this.failing) throw new StorePersistError('disk full (injected)');
    return super.settle(id, token, next);
  }
}

/** A started scheduler on a FlakyStore whose settles fail from now on, `work` returning 'done', and a log of `types`. */
async function refusingSettles(types: (keyof SchedulerEvents)[] = []): Promise<{ store: FlakyStore; clock: VirtualClock; scheduler: Scheduler<Jobs>; log: ReturnType<typeof record> }> {
  const store = new FlakyStore();
  const clock = new VirtualClock(T0);
  const scheduler = new Scheduler<Jobs>({ store, clock });
  const log = record(scheduler, clock, types);
  scheduler.register('work', () => 'done');
  await scheduler.start();
  store.failing = true;
  return { store, clock, scheduler, log };
}

/**
 * Stops (`stop`), then advances `clock` past every settle backoff and lets real-time work land:
 * the settles `store` was asked for after `stop` returned.
 */
async function settlesAfterStop(store: FlakyStore, clock: VirtualClock, stop: () => Promise<void>): Promise<number> {
  await stop();
  const calls = store.settleCalls;
  await clock.advance(120_000);
  // A real-time wait too: it can only let a late call in, never fail on a slow machine.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return store.settleCalls - calls;
}

describe('settles the store refuses', () => {
  it('are retried with backoff until the store takes them; the job stays running and drained waits', async () => {
    const { store, clock, scheduler, log } = await refusingSettles(['completed', 'drained', 'error']);
    await scheduler.scheduleIn('work', 0, { n: 1 });
    await clock.advance(0);
    assert.equal(store.settleCalls, 1);
    assert.equal(scheduler.stats().running, 1, 'the store still says running: stats are truthful');
    await clock.advance(100);
    assert.equal(store.settleCalls, 2, 'retried after 100 ms');
    await clock.advance(200);
    assert.equal(store.settleCalls, 3, 'then after 200 ms');
    await clock.advance(10_000);
    const calls = store.settleCalls;
    assert.ok(calls >= 6 && calls <= 8, `doubling waits: ${calls} calls in 10.3 s`);
    assert.deepEqual(
      log.filter((e) => e.type !== 'error').map((e) => e.type),
      [],
      'no completed, no drained while the outcome is unrecorded',
    );
    assert.ok(log.every((e) => e.type !== 'error' || (e.payload as SchedulerEvents['error']).error instanceof StorePersistError));
    store.failing = false; // space freed
    await clock.advance(30_000);
    assert.deepEqual(
      log.filter((e) => e.type !== 'error').map((e) => e.type),
      ['completed', 'drained'],
    );
    assert.equal(scheduler.stats().running, 0);
    assert.equal(scheduler.stats().completed, 1);
    await scheduler.stop();
  });

  it('an outcome still unrecorded when stop() gives up is left running for crash recovery; stop() returns in time', async () => {
    const { store, clock, scheduler } = await refusingSettles();
    await scheduler.scheduleIn('work', 0, { n: 1 }, { id: 'j' });
    await clock.advance(0);
    const t0 = Date.now();
    await scheduler.stop({ timeout: 200 });
    assert.ok(Date.now() - t0 < 2000, `stop took ${Date.now() - t0} ms`);
    store.failing = false;
    const again = new Scheduler<Jobs>({ store, clock });
    const runs: number[] = [];
    again.register('work', (job) => {
      runs.push(job.attempt);
    });
    await again.start();
    await clock.advance(60_000);
    assert.deepEqual(runs, [2], 'recovered as a lost attempt, then run again (at least once)');
    await again.stop();
  });

  it('stop retrying once the job is cancelled: its outcome no longer matters, so no more store calls or errors', async () => {
    const { store, clock, scheduler, log } = await refusingSettles(['completed', 'cancelled', 'error']);
    await scheduler.scheduleIn('work', 0, { n: 1 }, { id: 'j' });
    await clock.advance(350); // tries at 0, 100 and 300 ms; the next waits until 700
    assert.equal(store.settleCalls, 3);
    assert.equal(await scheduler.cancel('j'), true, 'the cancel is recorded (only settles fail)');
    const calls = store.settleCalls;
    const errors = log.filter((e) => e.type === 'error').length;
    await clock.advance(120_000);
    assert.equal(store.settleCalls, calls, 'no settle tried after the cancel');
    assert.equal(log.filter((e) => e.type === 'error').length, errors, 'no error reported after the cancel');
    assert.deepEqual(
      log.filter((e) => e.type !== 'error').map((e) => e.type),
      ['cancelled'],
    );
    assert.equal((await store.get('j'))?.state, 'cancelled');
    assert.equal(scheduler.stats().running, 0);
    await scheduler.stop();
  });

  it('stop retrying once stop() gave up on them: none is tried after stop() returned', async () => {
    const { store, clock, scheduler } = await refusingSettles();
    await scheduler.scheduleIn('work', 0, { n: 1 }, { id: 'j' });
    await clock.advance(150); // tries at 0 and 100 ms; the next waits until 300
    assert.equal(await settlesAfterStop(store, clock, () => scheduler.stop({ timeout: 100 })), 0, 'no settle tried after stop() returned');
    assert.equal((await store.get('j'))?.state, 'running', 'left for crash recovery');
  });
});

/**
 * A daily schedule (misfire 'skip') that missed three days, claimed by a new scheduler `b` while
 * the store refuses settles: its plan (skip to the next slot) cannot be recorded. A settle that
 * holds no attempt.
 */
async function refusedMisfirePlan(): Promise<{ store: FlakyStore; clock: VirtualClock; b: Scheduler<Jobs> }> {
  const store = new FlakyStore();
  const clock = new VirtualClock(T0);
  const a = new Scheduler<Jobs>({ store, clock });
  a.register('work', () => undefined);
  await a.start();
  await a.scheduleCron('work', '0 9 * * *', { n: 1 }, { id: 'daily', misfire: 'skip' });
  await a.stop();
  await clock.advance(3 * 24 * 3_600_000);
  store.failing = true;
  const b = new Scheduler<Jobs>({ store, clock });
  b.register('work', () => undefined);
  await b.start();
  await clock.advance(0); // claimed; the skip to the next slot cannot be recorded
  return { store, clock, b };
}

describe('settles that hold no attempt', () => {
  it('a misfire plan the store keeps refusing is not tried after stop() returned', async () => {
    const { store, clock, b } = await refusedMisfirePlan();
    await clock.advance(150); // tries at 0 and 100 ms; the next waits until 300
    assert.equal(store.settleCalls, 2);
    assert.equal(await settlesAfterStop(store, clock, () => b.stop({ timeout: 100 })), 0, 'no settle tried after stop() returned');
    assert.equal((await store.get('daily'))?.state, 'running', 'left for crash recovery');
  });
});

describe('reads while a settle is held up', () => {
  it('get() and list() answer at once while a misfire replan waits for a full disk (found by the simulation: readsWait)', async () => {
    const { store, clock, b } = await refusedMisfirePlan();
    const got = await Promise.race([b.get('daily'), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 2000))]);
    if (got === 'hung' || got === undefined) assert.fail(`get() answered ${String(got)}`);
    assert.equal(got.state, 'scheduled', 'the record as planned');
    assert.ok(got.runAt.getTime() > clock.now());
    const listed = await Promise.race([b.list(), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 2000))]);
    assert.notEqual(listed, 'hung');
    store.failing = false;
    await clock.advance(60_000);
    assert.equal((await store.get('daily'))?.state, 'scheduled');
    await b.stop();
  });
});

describe('stop() with a store that never answers', () => {
  it('returns within its timeout even when settle and close hang forever', async () => {
    class HangingStore extends MemoryStore {
      hang = false;
      override settle(id: string, token: string, next: JobRecord): Promise<boolean> {
        return this.hang ? new Promise(() => undefined) : super.settle(id, token, next);
      }
      override close(): Promise<void> {
        return this.hang ? new Promise(() => undefined) : super.close();
      }
    }
    const store = new HangingStore();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ store, clock, unref: true });
    const errors: string[] = [];
    scheduler.on('error', ({ error }) => errors.push(error.message));
    let release!: () => void;
    scheduler.register('work', () => new Promise<void>((resolve) => (release = resolve)));
    await scheduler.start();
    await scheduler.scheduleIn('work', 0, { n: 1 });
    await clock.advance(0);
    store.hang = true;
    release();
    const t0 = Date.now();
    await scheduler.stop({ timeout: 300 });
    const took = Date.now() - t0;
    assert.ok(took < 1500, `stop took ${took} ms with a 300 ms timeout`);
    assert.ok(errors.some((m) => /did not close within/.test(m)), errors.join('; '));
  });
});

describe('lost attempts', () => {
  it("the store's lost() aborts the attempt with its reason, emits lost, frees the slot, and ignores its outcome", async () => {
    const store = new FlakyStore();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ store, clock, concurrency: 1 });
    const log = record(scheduler, clock, ['lost', 'completed', 'started']);
    const signals: AbortSignal[] = [];
    const tokens: string[] = [];
    let release!: () => void;
    scheduler.register('work', (job) => {
      signals.push(job.signal);
      tokens.push(job.token);
      return job.payload.n === 1 ? new Promise<void>((resolve) => (release = resolve)) : 'second';
    });
    await scheduler.start();
    await scheduler.scheduleIn('work', 0, { n: 1 }, { id: 'a' });
    await scheduler.scheduleIn('work', 0, { n: 2 }, { id: 'b' });
    await clock.advance(0);
    assert.equal(tokens.length, 1, 'concurrency 1: b waits');
    const running = (await store.get('a')) as JobRecord;
    store.opened.lost?.('a', running.token as string, 'lease');
    await clock.advance(0);
    assert.equal(signals[0]?.aborted, true);
    assert.equal((signals[0]?.reason as Error).name, 'LeaseLostError');
    const lost = log.find((e) => e.type === 'lost')?.payload as SchedulerEvents['lost'];
    assert.equal(lost.reason, 'lease');
    assert.equal(lost.job.id, 'a');
    assert.equal(tokens.length, 2, 'the slot was freed: b ran');
    assert.notEqual(tokens[0], tokens[1], 'each attempt has its own fencing token');
    release();
    await clock.advance(0);
    assert.deepEqual(
      log.filter((e) => e.type === 'completed').map((e) => e.id),
      ['b'],
      "the lost attempt's outcome is not recorded",
    );
    // A lost() for a token that is not the running attempt's is ignored.
    store.opened.lost?.('b', 'not-a-token', 'lease');
    assert.equal(log.filter((e) => e.type === 'lost').length, 1);
    await scheduler.stop();
  });

  it('a job handed out again while its attempt still runs here (lease lapsed, notice not yet come) aborts that attempt first: never two at once (redis sim seed 216000251)', async () => {
    const store = new FlakyStore();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ store, clock, concurrency: 2, retry: { maxRetries: 3, backoff: { type: 'fixed', delay: 0 } } });
    const log = record(scheduler, clock, ['lost', 'started']);
    const signals: AbortSignal[] = [];
    scheduler.register('work', (job) => {
      signals.push(job.signal);
      return new Promise<void>(() => undefined); // runs until aborted (and after)
    });
    await scheduler.start();
    await scheduler.scheduleIn('work', 0, { n: 1 }, { id: 'a' });
    await clock.advance(0);
    assert.equal(signals.length, 1);
    // What a shared store's lease recovery does, its notice to this process not sent.
    const running = (await store.get('a')) as JobRecord;
    const recovered: JobRecord = { ...running, state: 'scheduled', lost: 'lease' };
    delete recovered.token;
    assert.equal(await store.settle('a', running.token as string, recovered), true);
    store.opened.wake();
    await clock.advance(0);
    await clock.advance(0);
    assert.equal(signals.length, 2, 'attempt 2 started');
    assert.equal(signals[0]?.aborted, true, 'attempt 1 was aborted before it');
    assert.equal((signals[0]?.reason as Error).name, 'LeaseLostError');
    assert.equal(signals[1]?.aborted, false);
    assert.equal(log.filter((e) => e.type === 'lost').length, 1);
    // One slot of two in use: another job starts.
    await scheduler.scheduleIn('work', 0, { n: 2 }, { id: 'b' });
    await clock.advance(0);
    assert.equal(signals.length, 3, 'b started: attempt 1 no longer holds a slot');
    await scheduler.stop({ timeout: 100 });
  });
});
