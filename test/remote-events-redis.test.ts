/**
 * remoteEvents: true on RedisStore, with real processes on a real
 * redis-server: the completed / failed / dead / progress events of jobs run
 * in another process arrive here marked `origin: 'remote'`, rebuilt (dates,
 * errors, stored result); the process that ran them emits each once, as
 * local; a scheduler without the option gets none; and while no process
 * listens nothing is published at all.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Scheduler } from '../src/scheduler.js';
import { RedisStore } from '../src/redis.js';
import type { SchedulerEvent } from '../src/events.js';
import { deletePrefix, redisSkip, useRedisServer } from './redis-server.js';
import { spawnWorker, waitFor, type Worker, type WorkerEvent } from './fixtures/redis-workers.js';
import type { ManyChildConfig, ManyJobs } from './fixtures/control-many-child.js';

const CHILD = fileURLToPath(new URL('./fixtures/control-many-child.ts', import.meta.url));
type Results = { 'work.ok': { double: number; pid: number } };
type ChildEvent = WorkerEvent & { origin?: string };

const seen = (worker: Worker, ev: string, id?: string): ChildEvent[] => (worker.events as ChildEvent[]).filter((e) => e.ev === ev && (id === undefined || e.id === id));

describe('remoteEvents on RedisStore, many processes', { skip: redisSkip }, () => {
  const server = useRedisServer();

  it('delivers completed, failed, dead and progress from another process, marked remote, each once', async () => {
    const prefix = 'remote-a';
    const listener = new Scheduler<ManyJobs, Results>({ store: new RedisStore({ url: server.url, prefix }), remoteEvents: true });
    const got: SchedulerEvent<ManyJobs, Results>[] = [];
    for (const type of ['completed', 'failed', 'dead', 'progress'] as const) listener.on(type, (e) => got.push({ type, ...e } as SchedulerEvent<ManyJobs, Results>));
    const stream = listener.events({ types: ['completed'], names: ['work.ok'] });
    // Off by default: a scheduler without the option sees nothing of the child's work.
    const deaf = new Scheduler<ManyJobs>({ store: new RedisStore({ url: server.url, prefix }) });
    let deafHeard = 0;
    for (const type of ['completed', 'failed', 'dead', 'progress'] as const) deaf.on(type, () => deafHeard++);
    await listener.start();
    await deaf.start();
    const config: ManyChildConfig = { url: server.url, prefix, remoteEvents: true };
    const worker = await spawnWorker(config, undefined, CHILD);
    try {
      await waitFor(() => seen(worker, 'heard').length === 1, 60_000, 'the child learns that a process listens');
      const ok = await listener.scheduleIn('work.ok', 0, { n: 21 });
      const bad = await listener.scheduleIn('work.fail', 0, { n: 1 });
      const prog = await listener.scheduleIn('work.progress', 0, { n: 3 });
      await waitFor(() => got.filter((e) => e.type === 'completed').length === 2 && got.some((e) => e.type === 'dead'), 60_000, 'the remote events');

      const completed = got.filter((e) => e.type === 'completed');
      const okEvent = completed.find((e) => e.job.id === ok.id);
      assert.ok(okEvent && okEvent.type === 'completed' && okEvent.name === 'work.ok');
      assert.equal(okEvent.origin, 'remote');
      assert.deepEqual(okEvent.result, { double: 42, pid: worker.pid }, 'the stored result');
      assert.equal(okEvent.job.state, 'completed');
      assert.ok(okEvent.job.runAt instanceof Date && okEvent.job.runAt.getTime() === ok.runAt.getTime());
      assert.ok(okEvent.job.createdAt instanceof Date);
      assert.equal(typeof okEvent.durationMs, 'number');

      const failed = got.find((e) => e.type === 'failed');
      assert.ok(failed && failed.type === 'failed');
      assert.equal(failed.job.id, bad.id);
      assert.equal(failed.origin, 'remote');
      assert.equal(failed.willRetry, false);
      assert.ok(failed.error instanceof Error);
      assert.equal(failed.error.name, 'TypeError');
      assert.equal(failed.error.message, 'bad input 1');
      const dead = got.find((e) => e.type === 'dead');
      assert.ok(dead && dead.type === 'dead' && dead.origin === 'remote' && dead.job.id === bad.id && dead.job.state === 'dead');
      assert.equal(dead.error.message, 'bad input 1');

      const progress = got.find((e) => e.type === 'progress');
      assert.ok(progress && progress.type === 'progress' && progress.origin === 'remote' && progress.job.id === prog.id);
      assert.deepEqual(progress.progress, { step: 1, n: 3 });

      // Each event once here...
      for (const id of [ok.id, prog.id]) assert.equal(got.filter((e) => e.type === 'completed' && e.job.id === id).length, 1);
      assert.equal(got.filter((e) => e.type === 'failed').length, 1);
      assert.equal(got.filter((e) => e.type === 'dead').length, 1);
      // ...the stream filters remote events like local ones...
      const streamed = await stream.next();
      assert.equal(streamed.done, false);
      assert.equal(streamed.value?.job.id, ok.id);
      assert.equal(streamed.value?.origin, 'remote');
      // ...and in the process that ran them: once, as local (its own publications are not echoed back).
      await waitFor(() => seen(worker, 'completed').length === 2 && seen(worker, 'dead').length === 1, 60_000, 'the child emitted its events');
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const id of [ok.id, prog.id]) assert.deepEqual(seen(worker, 'completed', id).map((e) => e.origin), ['local']);
      assert.deepEqual(seen(worker, 'failed', bad.id).map((e) => e.origin), ['local']);
      assert.deepEqual(seen(worker, 'dead', bad.id).map((e) => e.origin), ['local']);
      assert.deepEqual(seen(worker, 'progress', prog.id).map((e) => e.origin), ['local']);
      assert.equal(deafHeard, 0, 'a scheduler without remoteEvents hears nothing of other processes');
    } finally {
      await stream.return?.();
      await worker.stop();
      await deaf.stop();
      await listener.stop();
      await deletePrefix(server.url, prefix);
    }
  });

  it('publishes nothing while no process listens; starts within moments of one listening', async () => {
    const prefix = 'remote-b';
    // A raw subscriber on the events channel: it sees every publication, but does not say it listens.
    const spy = new Redis(server.url);
    const messages: string[] = [];
    spy.on('message', (_channel: string, message: string) => messages.push(message));
    await spy.subscribe(`${prefix}:events`);
    const owner = new Scheduler<ManyJobs>({ store: new RedisStore({ url: server.url, prefix }) });
    await owner.start();
    const worker = await spawnWorker({ url: server.url, prefix } satisfies ManyChildConfig, undefined, CHILD);
    let listener: Scheduler<ManyJobs> | undefined;
    try {
      const quiet = await owner.scheduleIn('work.ok', 0, { n: 1 });
      await waitFor(() => seen(worker, 'completed', quiet.id).length === 1, 60_000, 'the child ran a job');
      // A publication would have reached the spy long before this job's successor completed.
      const next = await owner.scheduleIn('work.ok', 0, { n: 2 });
      await waitFor(() => seen(worker, 'completed', next.id).length === 1, 60_000, 'the child ran another');
      assert.deepEqual(messages, [], 'nobody listened: nothing was published');

      listener = new Scheduler<ManyJobs>({ store: new RedisStore({ url: server.url, prefix }), remoteEvents: true });
      const heard: string[] = [];
      listener.on('completed', (e) => heard.push(e.job.id));
      await listener.start();
      await waitFor(() => seen(worker, 'heard').length === 1, 60_000, 'the child learns that a process listens');
      const loud = await owner.scheduleIn('work.ok', 0, { n: 3 });
      await waitFor(() => heard.includes(loud.id), 60_000, 'the listener gets the event');
      // Redis writes the publication to each subscriber in turn: the spy may hear it a moment after the listener.
      await waitFor(() => messages.length >= 1, 60_000, 'control: the spy sees publications once a process listens');
    } finally {
      await worker.stop();
      await listener?.stop();
      await owner.stop();
      spy.disconnect();
      await deletePrefix(server.url, prefix);
    }
  });
});
