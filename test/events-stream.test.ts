/**
 * scheduler.events(): filtering, buffering from subscription time, the three
 * overflow policies, unsubscribing on loop exit or stop, and a consumer that
 * never reads (bounded memory, dispatch not held up).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Scheduler } from '../src/scheduler.js';
import { EventOverflowError, EventStream, type SchedulerEvent } from '../src/events.js';
import { virtualScheduler } from './helpers.js';

type Jobs = {
  'mail.send': { to: string };
  'mail.bulk.send': { count: number };
  mailer: null;
  mail: null;
  'report.daily': { format: 'pdf' | 'csv' };
};

type Event = SchedulerEvent<Jobs>;

/** Reads a stream to its end. */
async function collect(stream: AsyncIterable<Event>): Promise<Event[]> {
  const out: Event[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

const jobId = (e: Event): string | undefined => ('job' in e ? e.job.id : undefined);
const subscriptions = (scheduler: Scheduler<Jobs>): number => (scheduler as unknown as { streams: Set<unknown> }).streams.size;

describe('filtering', () => {
  it('by event types', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const stream = scheduler.events({ types: ['completed', 'failed'] });
    scheduler.register('mailer', () => 'ok');
    scheduler.register('mail', () => {
      throw new Error('no');
    });
    const a = await scheduler.scheduleIn('mailer', 10, null);
    const b = await scheduler.scheduleIn('mail', 20, null, { retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
    await clock.advance(100);
    await scheduler.stop();
    const events = await collect(stream);
    assert.deepEqual(
      events.map((e) => [e.type, jobId(e)]),
      [
        ['completed', a.id],
        ['failed', b.id],
      ],
    );
    const completed = events[0]!;
    assert.equal(completed.type, 'completed');
    if (completed.type === 'completed') assert.equal(completed.result, 'ok');
  });

  it('by job names: exact and prefix.* (a prefix needs the dot; events without a name are excluded)', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const exact = scheduler.events({ names: ['mail.send'] });
    const prefix = scheduler.events({ names: ['mail.*'] });
    const several = scheduler.events({ names: ['mailer', 'report.*'], types: ['scheduled', 'missingHandler'] });
    await scheduler.scheduleIn('mail.send', 10, { to: 'x' }, { id: 'send' });
    await scheduler.scheduleIn('mail.bulk.send', 10, { count: 2 }, { id: 'bulk' });
    await scheduler.scheduleIn('mailer', 10, null, { id: 'mailer' });
    await scheduler.scheduleIn('mail', 10, null, { id: 'mail' });
    await scheduler.scheduleIn('report.daily', 10, { format: 'pdf' }, { id: 'report' });
    await clock.advance(10); // no handlers: one missingHandler per name
    await scheduler.stop();
    assert.deepEqual(
      (await collect(exact)).map((e) => [e.type, jobId(e) ?? (e.type === 'missingHandler' ? e.name : '')]),
      [
        ['scheduled', 'send'],
        ['missingHandler', 'mail.send'],
      ],
    );
    assert.deepEqual(
      (await collect(prefix)).map((e) => [e.type, jobId(e) ?? (e.type === 'missingHandler' ? e.name : '')]).sort(),
      [
        ['missingHandler', 'mail.bulk.send'],
        ['missingHandler', 'mail.send'],
        ['scheduled', 'bulk'],
        ['scheduled', 'send'],
      ],
    );
    assert.deepEqual(
      (await collect(several)).map((e) => [e.type, jobId(e) ?? (e.type === 'missingHandler' ? e.name : '')]).sort(),
      [
        ['missingHandler', 'mailer'],
        ['missingHandler', 'report.daily'],
        ['scheduled', 'mailer'],
        ['scheduled', 'report'],
      ],
    );
  });

  it('by job ids, combined with types', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register('mailer', () => undefined);
    const byId = scheduler.events({ ids: ['b', 'c'] });
    const byIdAndType = scheduler.events({ ids: ['b'], types: ['started'] });
    for (const id of ['a', 'b', 'c']) await scheduler.scheduleIn('mailer', 10, null, { id });
    await clock.advance(10);
    await scheduler.stop();
    assert.deepEqual(
      (await collect(byId)).map((e) => [e.type, jobId(e)]),
      [
        ['scheduled', 'b'],
        ['scheduled', 'c'],
        ['started', 'b'],
        ['started', 'c'],
        ['completed', 'b'],
        ['completed', 'c'],
      ],
    );
    assert.deepEqual(
      (await collect(byIdAndType)).map((e) => [e.type, jobId(e)]),
      [['started', 'b']],
    );
  });

  it('without a filter: every event, in emission order, with the same payload fields as on()', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const stream = scheduler.events();
    const emitted: [string, unknown][] = [];
    for (const type of ['scheduled', 'started', 'completed', 'drained'] as const) {
      scheduler.on(type, (payload) => emitted.push([type, payload]));
    }
    scheduler.register('mail.send', (job) => `sent to ${job.payload.to}`);
    await scheduler.scheduleIn('mail.send', 10, { to: 'a@b.c' });
    await clock.advance(10);
    await scheduler.stop();
    const events = await collect(stream);
    assert.deepEqual(
      events.map((e) => e.type),
      ['scheduled', 'started', 'completed', 'drained'],
    );
    for (let i = 0; i < events.length; i++) {
      const { type, ...rest } = events[i]!;
      assert.equal(type, emitted[i]![0]);
      assert.deepEqual(rest, emitted[i]![1]);
    }
  });
});

describe('buffering and overflow', () => {
  it('events emitted before the first read are buffered, not lost', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register('mailer', () => undefined);
    const stream = scheduler.events({ types: ['scheduled', 'completed'] });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await scheduler.scheduleIn('mailer', i + 1, null)).id);
    await clock.advance(10);
    const first = await stream.next();
    assert.equal(first.done, false);
    assert.deepEqual([first.value.type, jobId(first.value)], ['scheduled', ids[0]]);
    await scheduler.stop();
    const rest = await collect(stream);
    assert.deepEqual(
      rest.map((e) => [e.type, jobId(e)]),
      [...ids.slice(1).map((id) => ['scheduled', id]), ...ids.map((id) => ['completed', id])],
    );
  });

  it('a live consumer gets events as they happen', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register('mailer', () => undefined);
    const seen: [string, number][] = [];
    const consumer = (async () => {
      for await (const e of scheduler.events({ types: ['completed'] })) seen.push([e.type, clock.now()]);
    })();
    await scheduler.scheduleIn('mailer', 100, null);
    await scheduler.scheduleIn('mailer', 200, null);
    await clock.advance(100);
    assert.equal(seen.length, 1);
    await clock.advance(100);
    assert.equal(seen.length, 2);
    await scheduler.stop();
    await consumer;
  });

  it("'dropOldest' (default) keeps the newest bufferSize events", async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const stream = scheduler.events({ types: ['scheduled'], bufferSize: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await scheduler.scheduleIn('mailer', 1000, null)).id);
    await scheduler.stop();
    assert.deepEqual((await collect(stream)).map(jobId), ids.slice(-3));
    assert.equal((stream as EventStream<Event>).dropped, 7);
  });

  it("'dropNewest' keeps the first bufferSize events", async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const stream = scheduler.events({ types: ['scheduled'], bufferSize: 3, overflow: 'dropNewest' });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await scheduler.scheduleIn('mailer', 1000, null)).id);
    await scheduler.stop();
    assert.deepEqual((await collect(stream)).map(jobId), ids.slice(0, 3));
    assert.equal((stream as EventStream<Event>).dropped, 7);
  });

  it("'error' delivers the buffer, then the iterator rejects with EventOverflowError; the subscription ends", async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const stream = scheduler.events({ types: ['scheduled'], bufferSize: 3, overflow: 'error' });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await scheduler.scheduleIn('mailer', 1000, null)).id);
    assert.equal(subscriptions(scheduler), 0, 'an overflowed stream is unsubscribed');
    const got: (string | undefined)[] = [];
    await assert.rejects(
      (async () => {
        for await (const e of stream) got.push(jobId(e));
      })(),
      (error: unknown) => error instanceof EventOverflowError && error.code === 'ERR_GODELAYQ',
    );
    assert.deepEqual(got, ids.slice(0, 3));
    const after = await stream.next();
    assert.equal(after.done, true, 'after the error the iterator is done');
    await scheduler.stop();
  });

  it("'error' does not trigger while the consumer keeps up", async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register('mailer', () => undefined);
    let count = 0;
    const consumer = (async () => {
      for await (const _e of scheduler.events({ types: ['completed'], bufferSize: 1, overflow: 'error' })) count++;
    })();
    for (let i = 0; i < 20; i++) await scheduler.scheduleIn('mailer', i * 10, null);
    await clock.advance(1000);
    await scheduler.stop();
    await consumer;
    assert.equal(count, 20);
  });
});

describe('subscription end', () => {
  it('leaving the loop (break) removes the subscription', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register('mailer', () => undefined);
    for (let i = 0; i < 3; i++) await scheduler.scheduleIn('mailer', 10, null);
    const consumer = (async () => {
      for await (const e of scheduler.events({ types: ['completed'] })) {
        if (e.type === 'completed') break;
      }
    })();
    assert.equal(subscriptions(scheduler), 1);
    await clock.advance(10);
    await consumer;
    assert.equal(subscriptions(scheduler), 0);
    await scheduler.stop();
  });

  it('a throw inside the loop removes the subscription too', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const consumer = (async () => {
      for await (const _e of scheduler.events()) throw new Error('consumer failed');
    })();
    await scheduler.scheduleIn('mailer', 10, null);
    await assert.rejects(consumer, /consumer failed/);
    assert.equal(subscriptions(scheduler), 0);
    await scheduler.stop();
  });

  it('return() while a read is pending resolves that read as done', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const stream = scheduler.events();
    const pending = stream.next();
    await stream.return!();
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.equal(subscriptions(scheduler), 0);
    await scheduler.stop();
  });

  it('stopping the scheduler ends a waiting iterator', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    let ended = false;
    const consumer = (async () => {
      for await (const _e of scheduler.events({ types: ['completed'] })) {
        // nothing completes
      }
      ended = true;
    })();
    await scheduler.scheduleIn('mailer', 10, null);
    await new Promise((r) => setImmediate(r));
    assert.equal(ended, false);
    await scheduler.stop();
    await consumer;
    assert.equal(ended, true);
    assert.equal(subscriptions(scheduler), 0);
  });
});

describe('a consumer that never reads', () => {
  it('100k jobs: every job completes, the idle stream holds at most bufferSize events, memory stays bounded', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = (): number => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const N = 100_000;
    const { scheduler, clock } = await virtualScheduler<Jobs>({ concurrency: 50 });
    let completed = 0;
    scheduler.on('completed', () => completed++);
    scheduler.register('mail.send', () => undefined);
    const before = heap();
    const idle = scheduler.events({ bufferSize: 1024 }) as EventStream<Event>;
    const idleSmall = scheduler.events({ types: ['completed'], bufferSize: 16, overflow: 'dropNewest' }) as EventStream<Event>;
    const chunk = 10_000;
    for (let i = 0; i < N; i += chunk) {
      await scheduler.scheduleMany(Array.from({ length: chunk }, (_, k) => ({ name: 'mail.send' as const, payload: { to: `u${i + k}@x` }, delay: 1000 })));
    }
    await clock.advance(1000);
    await clock.runAll();
    assert.equal(completed, N);
    const internals = idle as unknown as { count: number; buffer: unknown[] };
    assert.equal(internals.buffer.length, 1024);
    assert.equal(internals.count, 1024);
    // scheduled + started + completed per job, and one drained at least.
    assert.ok(idle.dropped >= 3 * N - 1024, `dropped ${idle.dropped}`);
    assert.equal((idleSmall as unknown as { count: number }).count, 16);
    assert.equal(idleSmall.dropped, N - 16);
    const grown = heap() - before;
    // Unbounded buffering of 300k events would take well over 100 MB.
    assert.ok(grown < 40 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MB`);
    // The buffered events are the newest ones.
    const last = await idle.next();
    assert.equal(last.done, false);
    await scheduler.stop();
  });
});
