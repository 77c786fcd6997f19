/**
 * Payload and result limits, strict names, store and message checks
 * (issue 11 #7 and #14, issue 15 #6–#8).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { SchedulerStoppedError, ValidationError } from '../src/errors.js';
import { MemoryStore } from '../src/store/memory.js';
import { T0 } from './helpers.js';

type Jobs = { work: unknown; other: unknown };

async function started(options: ConstructorParameters<typeof Scheduler<Jobs>>[0] = {}): Promise<{ scheduler: Scheduler<Jobs>; clock: VirtualClock; store: MemoryStore }> {
  const clock = new VirtualClock(T0);
  const store = new MemoryStore();
  const scheduler = new Scheduler<Jobs>({ clock, store, ...options });
  await scheduler.start();
  return { scheduler, clock, store };
}

const rejectsWith = (re: RegExp) => (e: unknown): boolean => e instanceof ValidationError && re.test(e.message);

describe('maxPayloadBytes', () => {
  it('rejects a payload over the limit (UTF-8 bytes of its JSON), accepts one at the limit, and stores nothing', async () => {
    const { scheduler, store } = await started({ maxPayloadBytes: 100 });
    const atLimit = 'x'.repeat(98); // "xxx…" = 100 bytes of JSON
    await scheduler.scheduleIn('work', 10, atLimit);
    await assert.rejects(scheduler.scheduleIn('work', 10, `${atLimit}x`), rejectsWith(/at most 100 bytes.*got 101 bytes/));
    // Multi-byte characters count in bytes: 34 × 'é' (2 bytes each) + quotes = 70 bytes; 50 × '€' (3 bytes) = 152.
    await scheduler.scheduleIn('work', 10, { s: 'é'.repeat(34) });
    await assert.rejects(scheduler.scheduleIn('work', 10, { s: '€'.repeat(50) }), rejectsWith(/at most 100 bytes/));
    assert.equal(store.counts().scheduled, 2);
    await scheduler.stop();
  });

  it('defaults to 1 MiB and refuses a limit above 256 MiB', async () => {
    const { scheduler } = await started();
    await assert.rejects(scheduler.scheduleIn('work', 0, { blob: 'x'.repeat(1 << 20) }), rejectsWith(/at most 1048576 bytes/));
    await scheduler.scheduleIn('work', 0, { blob: 'x'.repeat((1 << 20) - 20) });
    await scheduler.stop();
    assert.throws(() => new Scheduler({ maxPayloadBytes: 2 ** 29 }), rejectsWith(/at most 268435456/));
    assert.throws(() => new Scheduler({ maxPayloadBytes: 0 }), rejectsWith(/maxPayloadBytes/));
  });

  it('a handler result over the limit completes the job, is not stored, and an error event names the job', async () => {
    const { scheduler, clock } = await started({ maxPayloadBytes: 1000 });
    const errors: { error: Error; jobId?: string }[] = [];
    const completed: unknown[] = [];
    scheduler.on('error', (e) => errors.push(e));
    scheduler.on('completed', (e) => completed.push(e.result));
    scheduler.register('work', () => 'y'.repeat(5000));
    scheduler.register('other', () => new Date(T0));
    const big = await scheduler.scheduleIn('work', 0, null);
    const date = await scheduler.scheduleIn('other', 0, null);
    await clock.advance(0);
    assert.equal((await scheduler.get(big.id))?.state, 'completed');
    assert.equal((await scheduler.get(big.id))?.result, undefined);
    assert.equal((await scheduler.get(date.id))?.result, undefined);
    assert.equal(completed.length, 2, 'the raw value is still in the completed event');
    assert.deepEqual(
      errors.map((e) => e.jobId),
      [big.id, date.id],
    );
    assert.match(errors[0]?.error.message ?? '', /result of job .* at most 1000 bytes/);
    assert.match(errors[1]?.error.message ?? '', /ISO string/);
    await scheduler.stop();
  });
});

describe('payload messages', () => {
  it('a payload nested 20,000 deep says the nesting limit', async () => {
    const { scheduler } = await started();
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = { a: deep };
    await assert.rejects(scheduler.scheduleIn('work', 0, deep), rejectsWith(/nest at most 1000 levels/));
    await scheduler.stop();
  });

  it('a Date in a payload hints at an ISO string; a Date whose getTime throws is a ValidationError', async () => {
    const { scheduler } = await started();
    await assert.rejects(scheduler.scheduleIn('work', 0, { at: new Date(T0) }), rejectsWith(/payload\.at.*ISO string/));
    class Broken extends Date {
      override getTime(): number {
        throw new Error('boom');
      }
    }
    await assert.rejects(scheduler.scheduleAt('work', new Broken(), null), rejectsWith(/getTime\(\) throws/));
    await scheduler.stop();
  });
});

describe('strict, store and lifecycle checks', () => {
  it('strict: true rejects a name with no registered handler and names the registered ones', async () => {
    const { scheduler } = await started({ strict: true });
    scheduler.register('work', () => undefined);
    await assert.rejects(scheduler.scheduleIn('other', 0, null), rejectsWith(/registered handler \(strict: true\), got "other"; registered: work/));
    await assert.rejects(scheduler.scheduleCron('other', '* * * * *', null), rejectsWith(/strict/));
    await scheduler.scheduleIn('work', 0, null);
    await scheduler.stop();
    // The default keeps allowing it (handlers may live in another process).
    const lax = await started();
    await lax.scheduler.scheduleIn('other', 0, null);
    await lax.scheduler.stop();
  });

  it('a store that is not a Store is refused at construction, with a hint for a folder path', () => {
    assert.throws(() => new Scheduler({ store: './data' as unknown as MemoryStore }), rejectsWith(/new JsonFileStore\("\.\/data"\)/));
    assert.throws(() => new Scheduler({ store: { open() {} } as unknown as MemoryStore }), rejectsWith(/without close, insert/));
  });

  it('after stop(), calls say the scheduler was stopped', async () => {
    const { scheduler } = await started();
    await scheduler.stop();
    await assert.rejects(scheduler.scheduleIn('work', 0, null), (e: unknown) => e instanceof SchedulerStoppedError && /was stopped/.test(e.message));
  });
});
