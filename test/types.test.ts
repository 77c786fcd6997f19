/**
 * Compile-time type tests: checked by `tsc --noEmit` (every `@ts-expect-error`
 * must be needed). The checks live in functions that are never called; at
 * run time this file is one trivial test.
 */
/* eslint-disable @typescript-eslint/no-unused-vars -- values here exist to be inspected with `typeof` */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, type JobContext, type JobInfo, type JobInfoOf, type SchedulerEvent, type SchedulerEvents } from '../src/index.js';

type Jobs = {
  'order.cancel': { orderId: string };
  'report.daily': { format: 'pdf' | 'csv' };
  ping: null;
};

/** True when X and Y are the same type (not merely assignable). */
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
function expectType<T extends true>(_ok?: T): void {}

export async function payloadsAndNames(scheduler: Scheduler<Jobs>): Promise<void> {
  await scheduler.scheduleIn('order.cancel', 1000, { orderId: 'A1' });
  await scheduler.scheduleAt('report.daily', new Date(), { format: 'csv' });
  await scheduler.scheduleIn('ping', 0, null);

  // @ts-expect-error: wrong payload type for the name
  await scheduler.scheduleIn('order.cancel', 1000, { orderId: 42 });
  // @ts-expect-error: payload of another name
  await scheduler.scheduleIn('order.cancel', 1000, { format: 'pdf' });
  // @ts-expect-error: a value outside the literal union
  await scheduler.scheduleAt('report.daily', Date.now(), { format: 'docx' });
  // @ts-expect-error: missing payload property
  await scheduler.scheduleIn('order.cancel', 1000, {});
  // @ts-expect-error: unknown job name
  await scheduler.scheduleIn('order.refund', 1000, { orderId: 'A1' });
  // @ts-expect-error: unknown job name in scheduleCron
  await scheduler.scheduleCron('report.weekly', '0 9 * * 1', { format: 'pdf' });
  // @ts-expect-error: wrong payload in scheduleEvery
  await scheduler.scheduleEvery('report.daily', 60_000, { format: 1 });
  // @ts-expect-error: unknown handler name
  scheduler.register('order.refund', () => undefined);
  // @ts-expect-error: unknown name to unregister
  scheduler.unregister('order.refund');
  // @ts-expect-error: delay must be a number
  await scheduler.scheduleIn('ping', '10s', null);
  // @ts-expect-error: unknown schedule option
  await scheduler.scheduleIn('ping', 10, null, { priorty: 1 });
  // @ts-expect-error: a backoff function cannot be stored with a job
  await scheduler.scheduleIn('ping', 10, null, { retry: { maxRetries: 1, backoff: () => 5 } });
  // A backoff function is fine for a handler.
  scheduler.register('ping', () => undefined, { retry: { maxRetries: 1, backoff: (attempt, error) => attempt * error.message.length } });

  await scheduler.scheduleMany([
    { name: 'order.cancel', payload: { orderId: 'A1' }, delay: 10 },
    { name: 'report.daily', payload: { format: 'pdf' }, at: new Date() },
  ]);
  await scheduler.scheduleMany([
    // @ts-expect-error: scheduleMany items correlate name and payload
    { name: 'order.cancel', payload: { format: 'pdf' }, delay: 10 },
  ]);
}

export function handlers(scheduler: Scheduler<Jobs>): void {
  scheduler.register('order.cancel', async (job) => {
    expectType<Equal<typeof job.payload, { orderId: string }>>();
    expectType<Equal<typeof job.name, 'order.cancel'>>();
    expectType<Equal<typeof job.attempt, number>>();
    expectType<Equal<typeof job.runAt, Date>>();
    expectType<Equal<typeof job.signal, AbortSignal>>();
    expectType<Equal<typeof job, JobContext<{ orderId: string }, 'order.cancel'>>>();
    // @ts-expect-error: not a field of this payload
    void job.payload.format;
    // @ts-expect-error: the context is read-only
    job.attempt = 2;
    return job.payload.orderId.toUpperCase();
  });
  scheduler.register('report.daily', (job) => {
    expectType<Equal<typeof job.payload.format, 'pdf' | 'csv'>>();
  });
  scheduler.register('ping', (job) => {
    expectType<Equal<typeof job.payload, null>>();
  });
}

export async function jobInfos(scheduler: Scheduler<Jobs>): Promise<void> {
  const info = await scheduler.scheduleIn('order.cancel', 1000, { orderId: 'A1' });
  expectType<Equal<typeof info, JobInfo<'order.cancel', { orderId: string }>>>();
  expectType<Equal<typeof info.payload.orderId, string>>();

  const listed = await scheduler.list();
  expectType<Equal<(typeof listed)[number], JobInfoOf<Jobs>>>();
  for (const job of listed) {
    // @ts-expect-error: the payload is a union until the name is narrowed
    void job.payload.orderId;
    if (job.name === 'order.cancel') {
      expectType<Equal<typeof job.payload, { orderId: string }>>();
    } else if (job.name === 'report.daily') {
      expectType<Equal<typeof job.payload, { format: 'pdf' | 'csv' }>>();
    } else {
      expectType<Equal<typeof job.name, 'ping'>>();
      expectType<Equal<typeof job.payload, null>>();
    }
  }

  const got = await scheduler.get('x');
  if (got?.name === 'report.daily') expectType<Equal<typeof got.payload.format, 'pdf' | 'csv'>>();
  const retried = await scheduler.retry('x', { at: new Date() });
  expectType<Equal<typeof retried, JobInfoOf<Jobs>>>();
  const moved = await scheduler.reschedule('x', Date.now());
  expectType<Equal<typeof moved, JobInfoOf<Jobs>>>();
  const cancelled = await scheduler.cancel('x');
  expectType<Equal<typeof cancelled, boolean>>();
}

export function listeners(scheduler: Scheduler<Jobs>): void {
  scheduler.on('completed', (e) => {
    expectType<Equal<typeof e.job, JobInfoOf<Jobs>>>();
    expectType<Equal<typeof e.result, unknown>>();
    expectType<Equal<typeof e.durationMs, number>>();
    if (e.job.name === 'order.cancel') expectType<Equal<typeof e.job.payload, { orderId: string }>>();
  });
  scheduler.on('failed', (e) => {
    expectType<Equal<typeof e.error, Error>>();
    expectType<Equal<typeof e.willRetry, boolean>>();
    expectType<Equal<typeof e.nextRunAt, Date | undefined>>();
  });
  scheduler.on('retrying', (e) => {
    expectType<Equal<typeof e.attempt, number>>();
    expectType<Equal<typeof e.nextRunAt, Date>>();
  });
  scheduler.on('missingHandler', (e) => {
    expectType<Equal<typeof e.name, string>>();
  });
  scheduler.on('error', (e) => {
    expectType<Equal<typeof e.error, Error>>();
  });
  // @ts-expect-error: unknown event name
  scheduler.on('finished', () => undefined);
  scheduler.on('dead', (e) => {
    // @ts-expect-error: dead has no result
    void e.result;
  });
  const payload: SchedulerEvents<Jobs>['started'] = { job: undefined as unknown as JobInfoOf<Jobs>, lateness: 0 };
  void payload;
}

export async function eventStream(scheduler: Scheduler<Jobs>): Promise<void> {
  for await (const e of scheduler.events({ names: ['order.*'], bufferSize: 10, overflow: 'dropNewest' })) {
    expectType<Equal<typeof e, SchedulerEvent<Jobs>>>();
    // @ts-expect-error: `result` exists only once narrowed to 'completed'
    void e.result;
    switch (e.type) {
      case 'completed':
        expectType<Equal<typeof e.result, unknown>>();
        expectType<Equal<typeof e.job, JobInfoOf<Jobs>>>();
        if (e.job.name === 'order.cancel') expectType<Equal<typeof e.job.payload.orderId, string>>();
        break;
      case 'missingHandler':
        expectType<Equal<typeof e.name, string>>();
        // @ts-expect-error: missingHandler carries no job
        void e.job;
        break;
      case 'failed':
        expectType<Equal<typeof e.willRetry, boolean>>();
        expectType<Equal<typeof e.error, Error>>();
        break;
      case 'drained':
        break;
      default:
        break;
    }
  }
  // A `types` filter narrows the union to those types.
  for await (const e of scheduler.events({ types: ['completed', 'missingHandler'] })) {
    expectType<Equal<typeof e.type, 'completed' | 'missingHandler'>>();
    if (e.type === 'completed') expectType<Equal<typeof e.durationMs, number>>();
    else expectType<Equal<typeof e.name, string>>();
    // @ts-expect-error: 'failed' is filtered out
    if (e.type === 'failed') void e;
  }
  // @ts-expect-error: unknown event type in the filter
  scheduler.events({ types: ['finished'] });
  // @ts-expect-error: unknown overflow policy
  scheduler.events({ overflow: 'block' });
}

export async function untypedScheduler(): Promise<void> {
  // Without a job map any name and JSON payload type-checks.
  const scheduler = new Scheduler();
  await scheduler.scheduleIn('anything', 10, { any: ['thing'] });
  scheduler.register('anything', (job) => {
    expectType<Equal<typeof job.payload, unknown>>();
  });
}

type Results = { 'report.daily': { rows: number }; ping: 'pong' };

export async function typedResults(scheduler: Scheduler<Jobs, Results>): Promise<void> {
  scheduler.register('report.daily', async () => ({ rows: 3 }));
  scheduler.register('ping', () => 'pong' as const);
  // A name without a declared result may return anything.
  scheduler.register('order.cancel', () => new Date());
  // @ts-expect-error: the declared result type is { rows: number }
  scheduler.register('report.daily', () => ({ rows: 'three' }));
  // @ts-expect-error: a Promise of the wrong result
  scheduler.register('ping', async () => 'pang');
  scheduler.on('completed', (e) => {
    if (e.name === 'report.daily') {
      expectType<Equal<typeof e.result, { rows: number }>>();
      expectType<Equal<typeof e.job.result, { rows: number } | undefined>>();
    } else if (e.name === 'order.cancel') {
      expectType<Equal<typeof e.result, unknown>>();
    }
  });
  const info = await scheduler.scheduleIn('ping', 0, null);
  expectType<Equal<typeof info.result, 'pong' | undefined>>();
  const job = await scheduler.get('x');
  if (job?.name === 'report.daily') expectType<Equal<typeof job.result, { rows: number } | undefined>>();
}

it('type tests compile (checked by tsc --noEmit)', () => {
  assert.equal(typeof payloadsAndNames, 'function');
});
