/**
 * Steps of the wall clock (issue 13 #5, SPEC §4): a delay (scheduleIn,
 * scheduleEvery, a retry backoff) is elapsed time and keeps its length when
 * the system clock is stepped; a date (scheduleAt) and a cron slot are wall
 * time and stay put. Driven by VirtualClock.set, and SystemClock's own step
 * detection with Date.now mocked.
 */
import { after, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { SystemClock, VirtualClock } from '../src/clock.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { MemoryStore } from '../src/store/memory.js';
import { StorePersistError } from '../src/errors.js';
import type { JobRecord } from '../src/store/store.js';
import { T0, collectEvents, record, until } from './helpers.js';
import { removeTempDirs, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

const MIN = 60_000;
const H = 60 * MIN;
type Jobs = { work: { n: number } };

/** A MemoryStore whose settles are refused (a full disk) while `failing`. */
class FlakySettle extends MemoryStore {
  constructor(public failing: boolean) {
    super();
  }

  override async settle(id: string, token: string, next: JobRecord): Promise<boolean> {
    if (this.failing) throw new StorePersistError('disk full (injected)');
    return super.settle(id, token, next);
  }
}

/** A MemoryStore that refuses its first `refusals` re-bases (a full disk), and logs every one asked. */
class RefusingShift extends MemoryStore {
  readonly shifts: number[] = [];
  constructor(private refusals: number) {
    super();
  }

  override async shift(deltaMs: number): Promise<void> {
    this.shifts.push(deltaMs);
    if (this.refusals-- > 0) throw new StorePersistError('disk full (injected)');
    await super.shift(deltaMs);
  }
}

/** A started scheduler on `store` (errors swallowed, a no-op `work` handler) holding job `old`, due in 50 min. */
async function withOldDelay(store: MemoryStore): Promise<{ clock: VirtualClock; scheduler: Scheduler<Jobs> }> {
  const clock = new VirtualClock(T0);
  const scheduler = new Scheduler<Jobs>({ clock, store });
  scheduler.on('error', () => undefined);
  scheduler.register('work', () => undefined);
  await scheduler.start();
  await scheduler.scheduleIn('work', 50 * MIN, { n: 1 }, { id: 'old' });
  return { clock, scheduler };
}

async function setup(options: { store?: JsonFileStore } = {}): Promise<{ scheduler: Scheduler<Jobs>; clock: VirtualClock; runs: { n: number; at: number }[] }> {
  const clock = new VirtualClock(T0);
  const scheduler = new Scheduler<Jobs>({ clock, ...(options.store ? { store: options.store } : {}) });
  const runs: { n: number; at: number }[] = [];
  scheduler.register('work', (job) => {
    runs.push({ n: job.payload.n, at: clock.now() });
  });
  await scheduler.start();
  return { scheduler, clock, runs };
}

describe('wall-clock steps', () => {
  it('stepped back 1 h: scheduleIn(50 min) still runs after 50 elapsed minutes, and clockChanged says so', async () => {
    const { scheduler, clock, runs } = await setup();
    const log = record(scheduler, clock, ['clockChanged']);
    await scheduler.scheduleIn('work', 50 * MIN, { n: 1 });
    await clock.advance(10 * MIN);
    await clock.set(clock.now() - H); // wall: T0 - 50 min
    assert.deepEqual(
      log.map((e) => e.payload),
      [{ deltaMs: -H }],
    );
    await clock.advance(40 * MIN - 1);
    assert.deepEqual(runs, [], 'not before 50 elapsed minutes');
    await clock.advance(1);
    assert.deepEqual(runs, [{ n: 1, at: T0 - 10 * MIN }]);
    await scheduler.stop();
  });

  it('stepped forward 1 h: scheduleIn(50 min) does not run early', async () => {
    const { scheduler, clock, runs } = await setup();
    await scheduler.scheduleIn('work', 50 * MIN, { n: 1 });
    await clock.set(T0 + H);
    assert.deepEqual(runs, [], 'a forward step does not make a delay due');
    await clock.advance(50 * MIN - 1);
    assert.deepEqual(runs, []);
    await clock.advance(1);
    assert.deepEqual(runs, [{ n: 1, at: T0 + H + 50 * MIN }]);
    await scheduler.stop();
  });

  it('scheduleAt and cron keep wall time; scheduleEvery and retry backoffs keep elapsed time', async () => {
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ clock, retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 30 * MIN } } });
    const runs: [number, number, number][] = [];
    scheduler.register('work', (job) => {
      runs.push([job.payload.n, job.attempt, clock.now() - T0]);
      if (job.payload.n === 4 && job.attempt === 1) throw new Error('once');
    });
    await scheduler.start();
    await scheduler.scheduleAt('work', T0 + 50 * MIN, { n: 1 });
    await scheduler.scheduleCron('work', '0 * * * *', { n: 2 }, { id: 'hourly' });
    await scheduler.scheduleEvery('work', 40 * MIN, { n: 3 }, { id: 'every40' });
    await scheduler.scheduleIn('work', 5 * MIN, { n: 4 });
    await clock.advance(5 * MIN); // n4 fails at +5, retries 30 min later (elapsed): wall +35
    await clock.set(T0 - 55 * MIN); // back 1 h
    await clock.advance(2 * H);
    const first = (n: number): [number, number, number] | undefined => runs.find((r) => r[0] === n);
    assert.deepEqual(first(1), [1, 1, 50 * MIN], 'scheduleAt: at its wall time, 60 elapsed minutes later than planned');
    assert.deepEqual(first(2), [2, 1, 60 * MIN], 'cron: its slot at wall 01:00 stays (00:00 was before the declaration and does not run again)');
    assert.deepEqual(first(3), [3, 1, -20 * MIN], 'every 40 min: 40 elapsed minutes after the declaration (+40 - 60)');
    assert.deepEqual(runs.find((r) => r[0] === 4 && r[1] === 2), [4, 2, -25 * MIN], 'the retry: 30 elapsed minutes after the failure (+35 - 60)');
    await scheduler.stop();
  });

  it('the same with options and in scheduleMany: a date keeps its wall time, a delay its elapsed time', async () => {
    // Jobs with options take the general request path (the plain ones above, the fast one).
    const { scheduler, clock, runs } = await setup();
    await scheduler.scheduleAt('work', T0 + 50 * MIN, { n: 1 }, { id: 'at', priority: 1 });
    await scheduler.scheduleIn('work', 50 * MIN, { n: 2 }, { id: 'in', priority: 1 });
    await scheduler.scheduleMany([
      { name: 'work', payload: { n: 3 }, at: T0 + 50 * MIN, options: { id: 'many-at' } },
      { name: 'work', payload: { n: 4 }, delay: 50 * MIN, options: { id: 'many-in' } },
      { name: 'work', payload: { n: 5 }, at: T0 + 50 * MIN },
      { name: 'work', payload: { n: 6 }, delay: 50 * MIN },
    ]);
    await clock.set(T0 - 60 * MIN); // back 1 h
    await clock.advance(2 * H);
    const at = (n: number): number | undefined => runs.find((r) => r.n === n)?.at;
    assert.deepEqual([1, 3, 5].map(at), [T0 + 50 * MIN, T0 + 50 * MIN, T0 + 50 * MIN], 'dates: at their wall time');
    assert.deepEqual([2, 4, 6].map(at), [T0 - 10 * MIN, T0 - 10 * MIN, T0 - 10 * MIN], 'delays: 50 elapsed minutes after the call');
    await scheduler.stop();
  });

  it('an every occurrence running across the step: its next slot keeps the elapsed interval', async () => {
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ clock });
    const runs: number[] = [];
    let release!: () => void;
    scheduler.register('work', async () => {
      runs.push(clock.now() - T0);
      if (runs.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    await scheduler.start();
    await scheduler.scheduleEvery('work', 10 * MIN, { n: 1 }, { id: 'e' });
    await clock.advance(11 * MIN); // the occurrence at +10 is still running
    await clock.set(clock.now() - H); // stepped back while it runs
    assert.equal((await scheduler.get('e'))?.state, 'running');
    release();
    await clock.advance(20 * MIN);
    // Slots 10 elapsed minutes apart: +10, then +20 wall before the step = -40 wall after it, then -30.
    assert.deepEqual(runs, [10 * MIN, 20 * MIN - H, 30 * MIN - H]);
    await scheduler.stop();
  });

  it('a running attempt’s timeout is elapsed time: it ends after its length, whichever way the clock is stepped', async () => {
    for (const delta of [H, -H]) {
      const clock = new VirtualClock(T0);
      const scheduler = new Scheduler<Jobs>({ clock });
      const failedAt: number[] = [];
      scheduler.on('failed', () => failedAt.push(clock.now()));
      scheduler.register('work', () => new Promise<void>(() => undefined), { timeout: 10 * MIN, retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1_000 } } });
      await scheduler.start();
      await scheduler.scheduleIn('work', 0, { n: 1 }, { id: 't' });
      await clock.advance(4 * MIN);
      await clock.set(clock.now() + delta); // stepped while the attempt runs, 6 min of its timeout left
      await clock.advance(6 * MIN - 1);
      assert.deepEqual(failedAt, [], `stepped ${delta}: not timed out before 10 elapsed minutes`);
      await clock.advance(1);
      assert.deepEqual(failedAt, [T0 + 10 * MIN + delta], `stepped ${delta}: timed out after 10 elapsed minutes`);
      await scheduler.stop();
    }
  });

  it('a step while a claim is in flight: the claimed occurrence and its dedupe window start in the new frame', async () => {
    // The store's re-base moved the records it had just claimed, but the claim answered with them
    // as they were: the occurrence ran in the old frame and its outcome wrote the old frame over
    // the re-base (the next slot an hour off; a dedupe window open for an extra hour).
    let gate: Promise<void> | undefined;
    class SlowClaim extends MemoryStore {
      override async claim(request: Parameters<MemoryStore['claim']>[0]): ReturnType<MemoryStore['claim']> {
        const result = await super.claim(request);
        if (gate) await gate;
        return result;
      }
    }
    const clock = new VirtualClock(T0);
    const store = new SlowClaim();
    const scheduler = new Scheduler<Jobs>({ clock, store });
    const runs: [string, number][] = [];
    scheduler.register('work', (job) => void runs.push([job.id, job.runAt.getTime() - T0]));
    await scheduler.start();
    await scheduler.scheduleEvery('work', 10 * MIN, { n: 1 }, { id: 'e' });
    await scheduler.scheduleIn('work', 10 * MIN, { n: 2 }, { id: 'd', dedupe: { key: 'k', ttlMs: 15 * MIN } });
    let open!: () => void;
    gate = new Promise<void>((resolve) => (open = resolve));
    await clock.advance(10 * MIN); // both claimed; the claim's answer is held
    assert.equal(runs.length, 0);
    await clock.set(clock.now() - H);
    gate = undefined;
    open();
    await clock.advance(0);
    assert.deepEqual(runs.map(([id]) => id).sort(), ['d', 'e']);
    // The occurrence ran slot +10 moved by the step (-50), and the next slot is 10 elapsed minutes on.
    assert.equal(runs.find(([id]) => id === 'e')?.[1], 10 * MIN - H);
    assert.equal((await scheduler.get('e'))?.runAt.getTime(), T0 + 20 * MIN - H);
    // The window (opened at +0 for 15 min) ends 15 elapsed minutes after it opened: -45 min.
    assert.deepEqual((await store.get('d'))?.dedupe, { key: 'k', until: T0 + 15 * MIN - H });
    await scheduler.stop();
  });

  it('JsonFileStore: the shift is durable: after a restart the delay still ends at the re-based time', async () => {
    const dir = await tempDir();
    const a = await setup({ store: new JsonFileStore(dir) });
    await a.scheduler.scheduleIn('work', 50 * MIN, { n: 1 }, { id: 'later' });
    await a.clock.set(T0 - H);
    await until(async () => (await a.scheduler.get('later'))?.runAt.getTime() === T0 - 10 * MIN);
    await a.scheduler.stop();
    const b = await setup({ store: new JsonFileStore(dir) });
    assert.equal((await b.scheduler.get('later'))?.runAt.getTime(), T0 - 10 * MIN);
    await b.scheduler.stop();
  });
});

describe('faults around clock steps (found by the simulation)', () => {
  it('readyRecheck: a due job waiting for a busy handler, then the clock stepped back, does not start before its date', async () => {
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ clock });
    const starts: [number, number][] = [];
    let release!: () => void;
    scheduler.register(
      'work',
      async (job) => {
        starts.push([job.payload.n, clock.now() - T0]);
        if (job.payload.n === 1) await new Promise<void>((resolve) => (release = resolve));
      },
      { concurrency: 1 },
    );
    await scheduler.start();
    await scheduler.scheduleAt('work', T0, { n: 1 });
    await scheduler.scheduleAt('work', T0 + MIN, { n: 2 });
    await clock.advance(2 * MIN); // n2 is due and waits: n1 holds the only slot
    await clock.set(T0 - H + 2 * MIN); // stepped back 1 h: n2's date is an hour away again
    release();
    await clock.advance(H - MIN - 1);
    assert.deepEqual(starts, [[1, 0]], 'n2 did not start before its wall-clock date');
    await clock.advance(1);
    assert.deepEqual(starts, [[1, 0], [2, MIN]]);
    await scheduler.stop();
  });

  it('shiftRetry: a re-base the store refuses is retried until it lands', async () => {
    const store = new RefusingShift(2);
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ clock, store });
    const errors = record(scheduler, clock, ['error']);
    const runs: number[] = [];
    scheduler.register('work', () => {
      runs.push(clock.now() - T0);
    });
    await scheduler.start();
    await scheduler.scheduleIn('work', 50 * MIN, { n: 1 }, { id: 'later' });
    await clock.set(T0 + H); // forward 1 h: the delay must still end 50 elapsed minutes after it was set
    assert.equal(runs.length, 0, 'not run by the step while the re-base is refused');
    await clock.advance(1000);
    assert.deepEqual(store.shifts, [H, H, H], 'refused twice, retried with backoff, then taken');
    assert.equal(errors.length, 2, 'each refusal is an error event');
    assert.equal((await scheduler.get('later'))?.runAt.getTime(), T0 + H + 50 * MIN);
    await clock.advance(50 * MIN);
    assert.deepEqual(runs, [H + 50 * MIN]);
    await scheduler.stop();
  });

  it('a delay scheduled while a re-base is owed is not moved by it: the re-base lands first, or the call is refused', async () => {
    const { clock, scheduler } = await withOldDelay(new RefusingShift(2));
    await clock.set(T0 + H); // the re-base is refused once by the step...
    await assert.rejects(scheduler.scheduleIn('work', 10 * MIN, { n: 2 }, { id: 'refused' }), StorePersistError, '...and once by the call');
    assert.equal(await scheduler.get('refused'), undefined, 'the refused call changed nothing');
    const fresh = await scheduler.scheduleIn('work', 10 * MIN, { n: 3 }, { id: 'fresh' });
    assert.equal(fresh.runAt.getTime(), T0 + H + 10 * MIN);
    await clock.advance(1000);
    assert.equal((await scheduler.get('fresh'))?.runAt.getTime(), T0 + H + 10 * MIN, 'not moved by the step it never saw');
    assert.equal((await scheduler.get('old'))?.runAt.getTime(), T0 + H + 50 * MIN, 'the older delay moved with the step');
    await scheduler.stop();
  });

  it('calls made while a re-base is owed reach the store in call order: a cancel does not overtake the insert before it (seed 206001968)', async () => {
    const { clock, scheduler } = await withOldDelay(new RefusingShift(1));
    await clock.set(T0 + H); // the re-base is refused once: owed
    // Neither awaited before the next: the insert waits for the re-base, and the cancel behind it must too.
    const inserted = scheduler.scheduleAt('work', T0 + 3 * H, { n: 2 }, { id: 'x' });
    const cancelled = scheduler.cancel('x');
    const replaced = scheduler.scheduleIn('work', 20 * MIN, { n: 3 }, { id: 'y' });
    const retried = scheduler.retry('y');
    assert.equal((await inserted).state, 'scheduled');
    assert.equal(await cancelled, true, 'the cancel found the job inserted before it');
    assert.equal((await scheduler.get('x'))?.state, 'cancelled');
    assert.equal((await replaced).runAt.getTime(), T0 + H + 20 * MIN);
    // retry() of a scheduled job is refused: it reached the store after the insert, which made y exist.
    await assert.rejects(retried, /to be dead or cancelled, got state 'scheduled'/, 'retry saw the job inserted before it');
    assert.equal((await scheduler.get('old'))?.runAt.getTime(), T0 + H + 50 * MIN, 'the re-base landed first');
    await scheduler.stop();
  });

  it('a refused re-base refuses the insert waiting on it; a cancel behind it then finds no job', async () => {
    const { clock, scheduler } = await withOldDelay(new RefusingShift(2));
    await clock.set(T0 + H);
    const inserted = scheduler.scheduleIn('work', 10 * MIN, { n: 2 }, { id: 'x' });
    const cancelled = scheduler.cancel('x');
    await assert.rejects(inserted, StorePersistError);
    assert.equal(await cancelled, false, 'nothing to cancel: the insert before it changed nothing');
    assert.equal(await scheduler.get('x'), undefined);
    await scheduler.stop();
  });

  it('a step while an outcome waits to be recorded re-bases it: an every slot and a retry backoff keep elapsed time (seed 160088024)', async () => {
    const store = new FlakySettle(true);
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ clock, store, retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 10 * MIN } } });
    const events = collectEvents(scheduler, ['completed', 'failed']);
    scheduler.register('work', (job) => {
      if (job.payload.n === 2) throw new Error('flaky');
    });
    await scheduler.start();
    await scheduler.scheduleEvery('work', 10 * MIN, { n: 1 }, { id: 'e' });
    await scheduler.scheduleIn('work', 10 * MIN, { n: 2 }, { id: 'j' });
    await clock.advance(10 * MIN); // both ran; their outcomes are refused and retried
    assert.equal((await scheduler.get('e'))?.state, 'running');
    assert.equal((await scheduler.get('j'))?.state, 'running');
    await clock.set(clock.now() - H);
    store.failing = false;
    await clock.advance(1000);
    const e = await scheduler.get('e');
    const j = await scheduler.get('j');
    // Computed before the step: next slot +20 min, retry +20 min (wall, old frame); both are elapsed time.
    assert.equal(e?.runAt.getTime(), T0 + 20 * MIN - H, 'the next every slot moved with the step');
    assert.equal(j?.state, 'scheduled');
    assert.equal(j?.runAt.getTime(), T0 + 20 * MIN - H, 'the retry backoff moved with the step');
    const completed = events.of('completed').find((x) => x.job.id === 'e');
    assert.equal(completed?.nextRunAt?.getTime(), T0 + 20 * MIN - H, 'completed reports the recorded next run');
    const failed = events.of('failed').find((x) => x.job.id === 'j');
    assert.equal(failed?.nextRunAt?.getTime(), T0 + 20 * MIN - H, 'failed reports the recorded retry time');
    await scheduler.stop();
  });

  it('a step while a misfire plan waits to be recorded: misfired reports the catch-up as recorded, in the new frame (seed 196013933)', async () => {
    const store = new FlakySettle(false);
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ clock, store });
    const events = collectEvents(scheduler, ['misfired', 'started']);
    scheduler.register('work', () => undefined);
    await scheduler.start();
    await scheduler.scheduleEvery('work', 10 * MIN, { n: 1 }, { id: 'e' });
    scheduler.pause();
    await clock.advance(35 * MIN); // slots +10, +20, +30 pass unclaimed
    store.failing = true;
    scheduler.resume(); // the claim plans a catch-up at +30 ('once'); recording it is refused and retried
    await clock.advance(100);
    assert.deepEqual(events.of('misfired'), [], 'not before the plan is recorded');
    await clock.set(clock.now() - H);
    store.failing = false;
    await clock.advance(1000);
    const misfired = events.of('misfired');
    assert.equal(misfired.length, 1);
    assert.equal(misfired[0]?.missed, 2);
    assert.equal(misfired[0]?.runAt?.getTime(), T0 + 30 * MIN - H, 'the catch-up slot as recorded (moved with the step)');
    const started = events.of('started').find((x) => x.job.id === 'e');
    assert.equal(started?.job.runAt.getTime(), T0 + 30 * MIN - H, 'and the catch-up that runs is that slot');
    await scheduler.stop();
  });

  it('retryWaitStep: a settle retry waiting across a backward step waits elapsed time, not the step', async () => {
    class FlakySettle extends MemoryStore {
      failing = true;
      calls = 0;
      override async settle(id: string, token: string, next: JobRecord): Promise<boolean> {
        this.calls++;
        if (this.failing) throw new StorePersistError('disk full (injected)');
        return super.settle(id, token, next);
      }
    }
    const store = new FlakySettle();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ clock, store });
    scheduler.register('work', () => undefined);
    await scheduler.start();
    await scheduler.scheduleIn('work', 0, { n: 1 }, { id: 'j' });
    await clock.advance(0);
    assert.equal(store.calls, 1, 'the first settle was refused; a retry waits 100 ms');
    store.failing = false;
    await clock.set(clock.now() - H);
    await clock.advance(100);
    assert.equal(store.calls, 2, 'retried 100 elapsed ms later, not an hour later');
    assert.equal((await scheduler.get('j'))?.state, 'completed');
    await scheduler.stop();
  });
});

describe('SystemClock step detection', () => {
  it('reports a jump of Date.now beyond 1 s (both ways) and absorbs smaller drift', (t) => {
    let wall = Date.now();
    const skew = (): number => wall;
    t.mock.method(Date, 'now', skew);
    const clock = new SystemClock();
    const steps: number[] = [];
    const off = clock.onStep((d) => steps.push(d));
    clock.checkStep();
    wall += 500; // drift below the threshold
    clock.checkStep();
    wall += 3_600_000;
    clock.checkStep();
    wall -= 7_200_000;
    clock.checkStep();
    off();
    wall += 3_600_000;
    clock.checkStep();
    assert.equal(steps.length, 2);
    assert.ok(Math.abs((steps[0] as number) - 3_600_000) < 200, `forward step ${steps[0]}`);
    assert.ok(Math.abs((steps[1] as number) + 7_200_000) < 200, `backward step ${steps[1]}`);
  });

  it('a timer wake-up after a backward step re-bases a scheduler delay before deciding it is due', async (t) => {
    let offset = 0;
    const realNow = Date.now.bind(Date);
    t.mock.method(Date, 'now', () => realNow() + offset);
    const clock = new SystemClock();
    const scheduler = new Scheduler<Jobs>({ clock, unref: true });
    const changed: number[] = [];
    const runs: number[] = [];
    scheduler.on('clockChanged', ({ deltaMs }) => changed.push(deltaMs));
    scheduler.register('work', () => {
      runs.push(Date.now());
    });
    await scheduler.start();
    const info = await scheduler.scheduleIn('work', 300, { n: 1 });
    offset = -3_600_000; // the wall clock is stepped back 1 h right after scheduling
    await until(() => runs.length === 1, 10_000);
    assert.equal(changed.length, 1);
    assert.ok(Math.abs((changed[0] as number) + 3_600_000) < 500);
    // It ran about 300 ms after scheduling, not an hour later: its due time moved with the step.
    const job = await scheduler.get(info.id);
    assert.ok(Math.abs((job?.runAt.getTime() as number) - (info.runAt.getTime() - 3_600_000)) < 500);
    await scheduler.stop();
    mock.restoreAll();
  });
});
