/**
 * Attempt life cycle: per-attempt timeouts, cancelling a running job, graceful
 * stop (waiting, then aborting), restart recovery, idempotent start/stop,
 * `await using`, and stopOnSignals() in a child process.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { GodelayqError, JobTimeoutError, SchedulerStoppedError, ValidationError } from '../src/errors.js';
import type { SchedulerEvents } from '../src/events.js';
import { MemoryStore } from '../src/store/memory.js';
import type { StoreContext } from '../src/store/store.js';
import { T0, noUnhandledRejections, record, virtualScheduler } from './helpers.js';

type Jobs = {
  work: { ms: number };
  quick: null;
};

/** Waits `ms` on the virtual clock. */
const sleep = (clock: VirtualClock, ms: number): Promise<void> => new Promise((resolve) => clock.setTimer(clock.now() + ms, resolve));

/** Resolves when `signal` aborts; rejects with its reason (what a well-behaved handler does). */
const untilAborted = (signal: AbortSignal): Promise<never> =>
  new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error));
  });

/** A MemoryStore that counts open/close calls. */
class CountingStore extends MemoryStore {
  opens = 0;
  closes = 0;
  override async open(context: StoreContext): Promise<void> {
    this.opens++;
    await super.open(context);
  }
  override async close(): Promise<void> {
    this.closes++;
    await super.close();
  }
}

/** Tracks whether a promise has settled yet. */
function watch(promise: Promise<unknown>): { settled: boolean } {
  const state = { settled: false };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

describe('per-attempt timeout', () => {
  it('aborts job.signal with JobTimeoutError, fails the attempt, and retries per policy', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log = record(scheduler, clock, ['started', 'failed', 'retrying', 'dead', 'completed']);
    const aborts: [number, unknown][] = [];
    scheduler.register(
      'work',
      (job) => {
        job.signal.addEventListener('abort', () => aborts.push([clock.now() - T0, job.signal.reason]));
        return untilAborted(job.signal);
      },
      { timeout: 500, retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 100 } } },
    );
    const info = await scheduler.scheduleIn('work', 0, { ms: 0 });
    await clock.advance(10_000);
    assert.deepEqual(
      log.map((e) => [e.type, e.at - T0]),
      [
        ['started', 0],
        ['failed', 500],
        ['retrying', 500],
        ['started', 600],
        ['failed', 1100],
        ['dead', 1100],
      ],
    );
    const failed = log[1]!.payload as SchedulerEvents['failed'];
    assert.ok(failed.error instanceof JobTimeoutError);
    assert.equal(failed.error.code, 'ERR_JOB_TIMEOUT');
    assert.equal(failed.willRetry, true);
    assert.deepEqual(
      aborts.map(([at, reason]) => [at, reason instanceof JobTimeoutError]),
      [
        [500, true],
        [1100, true],
      ],
    );
    const job = await scheduler.get(info.id);
    assert.equal(job?.state, 'dead');
    assert.equal(job?.lastError?.name, 'JobTimeoutError');
    await scheduler.stop();
  });

  it('per-job timeout overrides the handler’s, which overrides the scheduler’s', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ timeout: 1000, retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
    const failedAt = new Map<string, number>();
    scheduler.on('failed', (e) => failedAt.set(e.job.id, clock.now() - T0));
    scheduler.register('work', (job) => untilAborted(job.signal), { timeout: 500 });
    scheduler.register('quick', (job) => untilAborted(job.signal));
    const fromScheduler = await scheduler.scheduleIn('quick', 0, null);
    const fromHandler = await scheduler.scheduleIn('work', 0, { ms: 0 });
    const fromJob = await scheduler.scheduleIn('work', 0, { ms: 0 }, { timeout: 200 });
    await clock.advance(5000);
    assert.equal(failedAt.get(fromScheduler.id), 1000);
    assert.equal(failedAt.get(fromHandler.id), 500);
    assert.equal(failedAt.get(fromJob.id), 200);
    await scheduler.stop();
  });

  it('a job that finishes in time is not aborted later; one that ignores the signal cannot complete after its timeout', async () => {
    await noUnhandledRejections(async () => {
      const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
      const log = record(scheduler, clock, ['completed', 'failed']);
      const signals = new Map<number, AbortSignal>();
      scheduler.register(
        'work',
        async (job) => {
          signals.set(job.payload.ms, job.signal);
          await sleep(clock, job.payload.ms);
          return job.payload.ms;
        },
        { timeout: 300 },
      );
      const inTime = await scheduler.scheduleIn('work', 0, { ms: 299 });
      const late = await scheduler.scheduleIn('work', 0, { ms: 1000 });
      await clock.advance(5000);
      assert.equal(signals.get(299)?.aborted, false, 'a finished attempt is never aborted');
      assert.equal(signals.get(1000)?.aborted, true);
      assert.deepEqual(
        log.map((e) => [e.type, e.id, e.at - T0]),
        [
          ['completed', inTime.id, 299],
          ['failed', late.id, 300],
        ],
      );
      assert.equal((await scheduler.get(late.id))?.state, 'dead');
      assert.equal((await scheduler.get(late.id))?.result, undefined);
      await scheduler.stop();
    });
  });
});

describe('hung handlers do not block the scheduler', () => {
  it('a timed-out handler that never settles frees its slot at the timeout', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ concurrency: 1, retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
    const started: [string, number][] = [];
    scheduler.register('quick', () => {
      started.push(['quick', clock.now() - T0]);
    });
    scheduler.register(
      'work',
      () => {
        started.push(['hung', clock.now() - T0]);
        return new Promise(() => undefined);
      },
      { timeout: 100 },
    );
    await scheduler.scheduleIn('work', 0, { ms: 0 });
    await scheduler.scheduleIn('quick', 10, null);
    await clock.advance(1000);
    assert.deepEqual(started, [
      ['hung', 0],
      ['quick', 100],
    ]);
    await scheduler.stop({ timeout: 0 });
  });

  it('cancelling a running handler that never settles frees its slot', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ concurrency: 1 });
    const started: [string, number][] = [];
    scheduler.register('quick', () => {
      started.push(['quick', clock.now() - T0]);
    });
    scheduler.register('work', () => {
      started.push(['hung', clock.now() - T0]);
      return new Promise(() => undefined);
    });
    const hung = await scheduler.scheduleIn('work', 0, { ms: 0 });
    await scheduler.scheduleIn('quick', 10, null);
    await clock.advance(50);
    assert.equal(await scheduler.cancel(hung.id), true);
    await clock.advance(1000);
    assert.deepEqual(started, [
      ['hung', 0],
      ['quick', 50],
    ]);
    assert.equal(scheduler.stats().running, 0);
    await scheduler.stop({ timeout: 0 });
  });
});

describe('cancel a running job', () => {
  it('aborts its signal; it is never retried and emits no failed/retrying/dead', async () => {
    await noUnhandledRejections(async () => {
      const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 5, backoff: { type: 'fixed', delay: 10 } } });
      const log = record(scheduler, clock, ['started', 'failed', 'retrying', 'dead', 'completed', 'cancelled']);
      let signal: AbortSignal | undefined;
      let runs = 0;
      scheduler.register('work', (job) => {
        runs++;
        signal = job.signal;
        return untilAborted(job.signal);
      });
      const info = await scheduler.scheduleIn('work', 0, { ms: 0 });
      await clock.advance(100);
      assert.equal((await scheduler.get(info.id))?.state, 'running');
      assert.equal(await scheduler.cancel(info.id), true);
      assert.equal(signal?.aborted, true);
      assert.ok(signal.reason instanceof GodelayqError);
      await clock.advance(100_000);
      assert.equal(runs, 1);
      assert.deepEqual(
        log.map((e) => [e.type, e.at - T0]),
        [
          ['started', 0],
          ['cancelled', 100],
        ],
      );
      assert.equal((await scheduler.get(info.id))?.state, 'cancelled');
      assert.equal(await scheduler.cancel(info.id), false);
      assert.equal(scheduler.stats().running, 0);
      await scheduler.stop();
    });
  });

  it('a cancelled handler that ignores the signal and completes later records nothing', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log = record(scheduler, clock, ['completed', 'failed']);
    scheduler.register('work', async (job) => {
      await sleep(clock, job.payload.ms);
      return 'done anyway';
    });
    const info = await scheduler.scheduleIn('work', 0, { ms: 1000 });
    await clock.advance(10);
    assert.equal(await scheduler.cancel(info.id), true);
    await clock.advance(5000);
    assert.deepEqual(log, []);
    const job = await scheduler.get(info.id);
    assert.equal(job?.state, 'cancelled');
    assert.equal(job?.result, undefined);
    await scheduler.stop();
  });

  it('a cancelled handler that then throws records no failure', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log = record(scheduler, clock, ['failed', 'retrying', 'dead']);
    scheduler.register('work', async (job) => {
      await sleep(clock, job.payload.ms);
      throw new Error('failed after cancel');
    });
    const info = await scheduler.scheduleIn('work', 0, { ms: 1000 });
    await clock.advance(10);
    await scheduler.cancel(info.id);
    await clock.advance(5000);
    assert.deepEqual(log, []);
    assert.equal((await scheduler.get(info.id))?.lastError, undefined);
    await scheduler.stop();
  });
});

describe('stop()', () => {
  it('waits for running jobs to complete, starts nothing new, then resolves', async () => {
    const store = new MemoryStore();
    const { scheduler, clock } = await virtualScheduler<Jobs>({ store });
    const log = record(scheduler, clock, ['started', 'completed']);
    let signal: AbortSignal | undefined;
    scheduler.register('work', async (job) => {
      signal = job.signal;
      await sleep(clock, job.payload.ms);
      return 'finished';
    });
    const running = await scheduler.scheduleIn('work', 0, { ms: 1000 });
    const later = await scheduler.scheduleIn('work', 500, { ms: 1 });
    await clock.advance(100);
    const stopping = scheduler.stop();
    const state = watch(stopping);
    await clock.advance(899);
    assert.equal(state.settled, false, 'stop() resolved while a job was still running');
    await clock.advance(1);
    await stopping;
    assert.equal(signal?.aborted, false);
    assert.deepEqual(
      log.map((e) => [e.type, e.id, e.at - T0]),
      [
        ['started', running.id, 0],
        ['completed', running.id, 1000],
      ],
    );
    assert.equal((await store.get(running.id))?.state, 'completed');
    assert.equal((await store.get(running.id))?.result, 'finished');
    assert.equal((await store.get(later.id))?.state, 'scheduled');
    await assert.rejects(scheduler.scheduleIn('quick', 0, null), SchedulerStoppedError);
  });

  it('rejects schedule calls while stopping with SchedulerStoppedError', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register('work', (job) => sleep(clock, job.payload.ms));
    await scheduler.scheduleIn('work', 0, { ms: 100 });
    await clock.advance(0);
    const stopping = scheduler.stop();
    await assert.rejects(scheduler.scheduleIn('quick', 0, null), SchedulerStoppedError);
    await clock.advance(100);
    await stopping;
  });

  it('{ timeout } aborts what still runs at timeout minus the close reserve; after start() it runs again, the attempt handed back (attempt 1)', async () => {
    await noUnhandledRejections(async () => {
      const store = new MemoryStore();
      const { scheduler, clock } = await virtualScheduler<Jobs>({ store });
      const log = record(scheduler, clock, ['started', 'completed', 'failed', 'retrying', 'dead']);
      const seen: { attempt: number; at: number; signal: AbortSignal }[] = [];
      scheduler.register('work', async (job) => {
        seen.push({ attempt: job.attempt, at: clock.now() - T0, signal: job.signal });
        if (seen.length === 1) await sleep(clock, 10_000); // ignores its signal
        return `run ${seen.length}`;
      });
      const info = await scheduler.scheduleIn('work', 0, { ms: 0 });
      await clock.advance(100);
      // stop() resolves within its timeout: attempts get all but a fifth (at most 2 s), kept to hand back and close.
      const stopping = scheduler.stop({ timeout: 500 });
      const state = watch(stopping);
      await clock.advance(399);
      assert.equal(state.settled, false);
      assert.equal(seen[0]!.signal.aborted, false);
      await clock.advance(1);
      await stopping;
      assert.equal(seen[0]!.signal.aborted, true);
      assert.ok(seen[0]!.signal.reason instanceof SchedulerStoppedError);
      assert.deepEqual(
        log.map((e) => e.type),
        ['started'],
        'an attempt aborted by stop() is not a failure',
      );

      await scheduler.start();
      await clock.advance(0);
      // Handed back by stop(): the aborted attempt is not counted, so it runs again as attempt 1.
      assert.deepEqual(
        seen.map((s) => [s.attempt, s.at]),
        [
          [1, 0],
          [1, 500],
        ],
      );
      await clock.advance(20_000); // the abandoned first attempt resolves now: ignored
      const job = await scheduler.get(info.id);
      assert.equal(job?.state, 'completed');
      assert.equal(job?.attempt, 1);
      assert.equal(job?.result, 'run 2');
      assert.deepEqual(
        log.map((e) => [e.type, e.at - T0]),
        [
          ['started', 0],
          ['started', 500],
          ['completed', 500],
        ],
      );
      await scheduler.stop();
    });
  });

  it('stop({ timeout: 0 }) aborts running jobs at once', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    let signal: AbortSignal | undefined;
    scheduler.register('work', (job) => {
      signal = job.signal;
      return untilAborted(job.signal);
    });
    await scheduler.scheduleIn('work', 0, { ms: 0 });
    await clock.advance(0);
    const stopping = scheduler.stop({ timeout: 0 });
    await clock.advance(0);
    await stopping;
    assert.equal(signal?.aborted, true);
  });

  it('is idempotent: concurrent calls, calls after stop and before start', async () => {
    const store = new CountingStore();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    await scheduler.stop();
    assert.equal(store.opens, 0);
    await scheduler.start();
    scheduler.register('work', (job) => sleep(clock, job.payload.ms));
    await scheduler.scheduleIn('work', 0, { ms: 100 });
    await clock.advance(0);
    const a = scheduler.stop();
    const b = scheduler.stop();
    const c = scheduler.stop({ timeout: 5 });
    await clock.advance(100);
    await Promise.all([a, b, c]);
    await scheduler.stop();
    await scheduler.stop({ timeout: 0 });
    assert.equal(store.closes, 1);
  });

  it('stop() validates its timeout', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    for (const timeout of [-1, Number.NaN, Infinity]) {
      await assert.rejects(async () => scheduler.stop({ timeout }), ValidationError);
    }
    await scheduler.stop();
  });
});

describe('start()', () => {
  it('is idempotent: concurrent calls open the store once; jobs run once', async () => {
    const store = new CountingStore();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    await Promise.all([scheduler.start(), scheduler.start(), scheduler.start()]);
    await scheduler.start();
    assert.equal(store.opens, 1);
    let runs = 0;
    scheduler.register('quick', () => {
      runs++;
    });
    await scheduler.scheduleIn('quick', 10, null);
    await clock.advance(100);
    assert.equal(runs, 1);
    await scheduler.stop();
  });

  it('stop then start again on the same store keeps the jobs', async () => {
    const store = new MemoryStore();
    const { scheduler, clock } = await virtualScheduler<Jobs>({ store });
    let runs = 0;
    scheduler.register('quick', () => {
      runs++;
    });
    const info = await scheduler.scheduleIn('quick', 1000, null);
    await scheduler.stop();
    await scheduler.start();
    assert.equal((await scheduler.get(info.id))?.state, 'scheduled');
    await clock.advance(1000);
    assert.equal(runs, 1);
    await scheduler.stop();
  });

  it('a store that fails to open rejects start(); a later start() can succeed', async () => {
    class FlakyStore extends MemoryStore {
      fail = true;
      override async open(context: StoreContext): Promise<void> {
        if (this.fail) throw new Error('disk not ready');
        await super.open(context);
      }
    }
    const store = new FlakyStore();
    const scheduler = new Scheduler<Jobs>({ store, clock: new VirtualClock(T0) });
    await assert.rejects(scheduler.start(), /disk not ready/);
    await assert.rejects(scheduler.scheduleIn('quick', 0, null), SchedulerStoppedError);
    store.fail = false;
    await scheduler.start();
    await scheduler.scheduleIn('quick', 0, null);
    await scheduler.stop();
  });
});

describe('async disposal', () => {
  it('`await using` stops the scheduler at the end of the block, after running jobs finish', async () => {
    const clock = new VirtualClock(T0);
    const store = new CountingStore();
    let outer: Scheduler<Jobs> | undefined;
    let finished = false;
    let disposal: Promise<void> | undefined;
    {
      await using scheduler = new Scheduler<Jobs>({ store, clock });
      outer = scheduler;
      await scheduler.start();
      scheduler.register('work', async (job) => {
        await sleep(clock, job.payload.ms);
        finished = true;
      });
      await scheduler.scheduleIn('work', 0, { ms: 50 });
      await clock.advance(0);
      // The block ends while the job runs: disposal must wait for it.
      disposal = clock.advance(50);
    }
    await disposal;
    assert.equal(finished, true);
    assert.equal(store.closes, 1);
    await assert.rejects(outer.scheduleIn('quick', 0, null), SchedulerStoppedError);
  });

  it('[Symbol.asyncDispose]() is stop()', async () => {
    const store = new CountingStore();
    const { scheduler } = await virtualScheduler<Jobs>({ store });
    await scheduler[Symbol.asyncDispose]();
    assert.equal(store.closes, 1);
    await scheduler[Symbol.asyncDispose]();
    assert.equal(store.closes, 1);
  });
});

describe('stopOnSignals()', () => {
  it('on SIGTERM the child stops gracefully (its handler sees the abort) and exits by itself', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/stop-on-signals.ts', import.meta.url));
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      cwd,
      env: { ...process.env, STOP_TIMEOUT: '100' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes('started\n')) resolve();
        });
        void exited.then(() => reject(new Error(`child exited before its job started: ${stdout} ${stderr}`)));
      });
      child.kill('SIGTERM');
      const result = await exited;
      assert.equal(result.signal, 'SIGTERM', `child should re-raise SIGTERM; got ${JSON.stringify(result)}; stderr: ${stderr}`);
      assert.equal(result.code, null);
      assert.match(stdout, /^started\naborted SchedulerStoppedError\n/);
      assert.equal(stderr, '');
    } finally {
      clearTimeout(watchdog);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('the returned function removes the signal listeners', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const before = process.listenerCount('SIGTERM');
    const remove = scheduler.stopOnSignals({ signals: ['SIGTERM'] });
    assert.equal(process.listenerCount('SIGTERM'), before + 1);
    remove();
    assert.equal(process.listenerCount('SIGTERM'), before);
    await scheduler.stop();
  });
});
