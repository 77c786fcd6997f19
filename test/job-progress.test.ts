/**
 * job.progress() and job.log(): stored on the job while it runs (get, list,
 * the `progress` event), kept when it finishes, logs bounded by keepLogs;
 * bad values, reports after the handler returned or from an attempt that
 * lost its job, and a store that cannot keep them are refused.
 * (Store side: store-conformance-job-control.ts; other processes:
 * job-progress-shared.test.ts.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory.js';
import { GodelayqError, UnsupportedOptionError, ValidationError } from '../src/errors.js';
import type { JobContext } from '../src/types.js';
import { T0, collectEvents, until } from './helpers.js';

type Jobs = { import: { rows: number }; noisy: null };

async function setup(options: ConstructorParameters<typeof Scheduler>[0] = {}): Promise<{ scheduler: Scheduler<Jobs>; clock: VirtualClock }> {
  const clock = new VirtualClock(T0);
  const scheduler = new Scheduler<Jobs>({ clock, retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } }, ...options });
  await scheduler.start();
  return { scheduler, clock };
}

describe('job.progress and job.log', () => {
  it('store progress and logs on the running job (get, list, the progress event) and keep them when it completes', async () => {
    const { scheduler, clock } = await setup();
    const events = collectEvents(scheduler, ['progress']);
    let release!: () => void;
    scheduler.register('import', async (job) => {
      await job.log('started');
      await job.progress(10);
      await job.progress({ done: job.payload.rows, of: 100 });
      await job.log('halfway');
      await new Promise<void>((resolve) => (release = resolve));
    });
    const job = await scheduler.scheduleIn('import', 0, { rows: 50 });
    await clock.advance(0);
    await until(async () => (await scheduler.get(job.id))?.logs?.length === 2);
    const running = await scheduler.get(job.id);
    assert.equal(running?.state, 'running');
    assert.deepEqual(running?.progress, { done: 50, of: 100 });
    assert.deepEqual(running?.logs, ['started', 'halfway']);
    assert.deepEqual((await scheduler.list({ state: 'running' }))[0]?.progress, { done: 50, of: 100 });
    assert.deepEqual(
      events.of('progress').map((e) => [e.job.id, e.progress, e.job.progress]),
      [
        [job.id, 10, 10],
        [job.id, { done: 50, of: 100 }, { done: 50, of: 100 }],
      ],
    );
    release();
    await until(async () => (await scheduler.get(job.id))?.state === 'completed');
    const done = await scheduler.get(job.id);
    assert.deepEqual(done?.progress, { done: 50, of: 100 });
    assert.deepEqual(done?.logs, ['started', 'halfway']);
    assert.deepEqual(events.of('error'), []);
    await scheduler.stop();
  });

  it('keeps the newest keepLogs lines (scheduler default, register override, 0 = none)', async () => {
    const { scheduler, clock } = await setup({ keepLogs: 3 });
    scheduler.register('import', async (job) => {
      for (let i = 1; i <= 5; i++) await job.log(`line ${i}`);
    });
    scheduler.register(
      'noisy',
      async (job) => {
        await job.log('dropped');
      },
      { keepLogs: 0 },
    );
    const a = await scheduler.scheduleIn('import', 0, { rows: 1 });
    const b = await scheduler.scheduleIn('noisy', 0, null);
    await clock.advance(0);
    await until(async () => (await scheduler.get(a.id))?.state === 'completed' && (await scheduler.get(b.id))?.state === 'completed');
    assert.deepEqual((await scheduler.get(a.id))?.logs, ['line 3', 'line 4', 'line 5']);
    assert.equal((await scheduler.get(b.id))?.logs, undefined);
    await scheduler.stop();
  });

  it('writes reports the handler did not await before its outcome, in call order', async () => {
    const { scheduler, clock } = await setup();
    scheduler.register('import', (job) => {
      void job.progress(1);
      void job.log('a');
      void job.progress(2);
      void job.log('b');
    });
    const job = await scheduler.scheduleIn('import', 0, { rows: 1 });
    await clock.advance(0);
    await until(async () => (await scheduler.get(job.id))?.state === 'completed');
    const done = await scheduler.get(job.id);
    assert.equal(done?.progress, 2);
    assert.deepEqual(done?.logs, ['a', 'b']);
    await scheduler.stop();
  });

  it('refuses bad values with ValidationError, and reports after the handler returned or from a cancelled attempt', async () => {
    const { scheduler, clock } = await setup();
    const seen: unknown[] = [];
    let kept: JobContext<{ rows: number }, 'import'> | undefined;
    let release!: () => void;
    scheduler.register('import', async (job) => {
      kept = job;
      for (const bad of [undefined, Number.NaN, () => 1, { a: 1n }]) seen.push(await job.progress(bad as never).catch((e: unknown) => e));
      seen.push(await job.log(5 as never).catch((e: unknown) => e));
      if (job.payload.rows === 2) await new Promise<void>((resolve) => (release = resolve));
    });
    const first = await scheduler.scheduleIn('import', 0, { rows: 1 });
    await clock.advance(0);
    await until(async () => (await scheduler.get(first.id))?.state === 'completed');
    assert.equal(seen.length, 5);
    for (const error of seen) assert.ok(error instanceof ValidationError, String(error));
    assert.match(String(seen[4]), /Expected `line` to be a string, got 5/);
    assert.equal((await scheduler.get(first.id))?.progress, undefined, 'refused values change nothing');
    await assert.rejects(kept!.progress(1), (e: unknown) => e instanceof GodelayqError && /got it finished/.test(e.message));
    await assert.rejects(kept!.log('late'), /got it finished/);

    const second = await scheduler.scheduleIn('import', 0, { rows: 2 });
    await clock.advance(0);
    await until(async () => (await scheduler.get(second.id))?.state === 'running' && kept?.id === second.id);
    const running = kept!;
    assert.equal(await scheduler.cancel(second.id), true);
    await assert.rejects(running.progress(5), /to own its job, got it cancelled, replaced or taken over/);
    assert.equal((await scheduler.get(second.id))?.progress, undefined);
    release();
    await scheduler.stop();
  });

  it('refuses a progress value or log line larger than maxPayloadBytes with ValidationError', async () => {
    const { scheduler, clock } = await setup({ maxPayloadBytes: 64 });
    const seen: unknown[] = [];
    scheduler.register('import', async (job) => {
      seen.push(await job.progress({ note: 'x'.repeat(100) }).catch((e: unknown) => e), await job.log('y'.repeat(100)).catch((e: unknown) => e));
      await job.progress('small');
    });
    const job = await scheduler.scheduleIn('import', 0, { rows: 1 });
    await clock.advance(0);
    await until(async () => (await scheduler.get(job.id))?.state === 'completed');
    assert.equal(seen.length, 2);
    for (const error of seen) assert.ok(error instanceof ValidationError && /64/.test(error.message), String(error));
    assert.equal((await scheduler.get(job.id))?.progress, 'small');
    assert.equal((await scheduler.get(job.id))?.logs, undefined);
    await scheduler.stop();
  });

  it('is refused with UnsupportedOptionError on a store that cannot keep it, the job still completing', async () => {
    const store = new MemoryStore();
    Object.defineProperty(store, 'progress', { value: undefined });
    const { scheduler, clock } = await setup({ store });
    const seen: unknown[] = [];
    scheduler.register('import', async (job) => {
      seen.push(await job.progress(1).catch((e: unknown) => e), await job.log('x').catch((e: unknown) => e));
      return 'ok';
    });
    const job = await scheduler.scheduleIn('import', 0, { rows: 1 });
    await clock.advance(0);
    await until(async () => (await scheduler.get(job.id))?.state === 'completed');
    assert.equal(seen.length, 2);
    for (const error of seen) assert.match(String(error), /UnsupportedOptionError: Expected a store that records progress and logs .* got MemoryStore/);
    await scheduler.stop();
  });

  it('refuses keepLogs with UnsupportedOptionError on a store that cannot keep logs', () => {
    const store = new MemoryStore();
    Object.defineProperty(store, 'progress', { value: undefined });
    assert.throws(() => new Scheduler({ store, keepLogs: 5 }), (e: unknown) => e instanceof UnsupportedOptionError && e.code === 'ERR_UNSUPPORTED' && /`options.keepLogs` only with a store that records progress and logs.*MemoryStore/.test(e.message));
    const scheduler = new Scheduler<Jobs>({ store });
    assert.throws(() => scheduler.register('import', () => undefined, { keepLogs: 5 }), /`register options.keepLogs` only with a store/);
  });

  it('validates keepLogs', () => {
    assert.throws(() => new Scheduler({ keepLogs: -1 }), /Expected `options.keepLogs` to be an integer from 0 to 1000000, got -1/);
    assert.throws(() => new Scheduler({ keepLogs: 1.5 }), ValidationError);
    assert.throws(() => new Scheduler<Jobs>().register('import', () => undefined, { keepLogs: 'all' as never }), /register options.keepLogs/);
  });
});
