/**
 * pause({ everywhere: true }) and remoteEvents on PostgresStore, against a
 * real PostgreSQL server. Each scheduler has its own store (its own pool,
 * sessions and LISTEN connection: to the database, separate processes).
 * Pause: another scheduler stops claiming and says so; one started while
 * paused stays paused; the pause outlives the process that set it; a store
 * that missed the notice cannot claim (the claim statement refuses) and
 * learns the pause from that reply; one without notices picks pause and
 * resume up from its poll. Events: another scheduler's completed / failed /
 * dead / progress arrive marked remote, each once, a result too long for a
 * NOTIFY included; nothing is published while nobody listens. Each "does
 * not start" check follows a control showing the same scheduler starts a
 * due job promptly when not paused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Scheduler } from '../src/scheduler.js';
import { PostgresStore } from '../src/postgres.js';
import type { SchedulerEvent } from '../src/events.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { claimNow, job, liveContext, waitFor, withSchema } from './fixtures/postgres-helpers.js';

type Jobs = { work: { n: number; big?: number }; fail: { n: number }; hold: null; report: { n: number } };
type Results = { work: { n: number; pad: string } };
const POLL_MS = 200;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Node {
  scheduler: Scheduler<Jobs, Results>;
  store: PostgresStore;
  started: string[];
  log: { type: 'paused' | 'resumed'; everywhere: boolean; origin: string }[];
  /** Ends the running `hold` job. */
  release(): void;
}

/** A scheduler on its own store; with handlers unless `idle`. */
async function node(url: string, schema: string, options: { idle?: boolean; pollMs?: number; concurrency?: number; remoteEvents?: boolean } = {}): Promise<Node> {
  const store = new PostgresStore({ connectionString: url, schema, pollMs: options.pollMs ?? POLL_MS });
  const scheduler = new Scheduler<Jobs, Results>({ store, concurrency: options.concurrency ?? 10, retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 10 } }, remoteEvents: options.remoteEvents === true });
  const n: Node = { scheduler, store, started: [], log: [], release: () => undefined };
  scheduler.on('paused', (e) => n.log.push({ type: 'paused', ...e }));
  scheduler.on('resumed', (e) => n.log.push({ type: 'resumed', ...e }));
  if (options.idle !== true) {
    scheduler.on('started', (e) => n.started.push(e.job.id));
    scheduler.register('work', (j) => ({ n: j.payload.n, pad: 'x'.repeat(j.payload.big ?? 0) }));
    scheduler.register('fail', (j) => {
      throw new TypeError(`bad input ${j.payload.n}`);
    });
    scheduler.register('hold', () => new Promise<void>((resolve) => (n.release = resolve)));
    scheduler.register('report', async (j) => {
      await j.progress({ step: 1, n: j.payload.n });
    });
  }
  await scheduler.start();
  return n;
}

/** Cuts a store off its notices (its LISTEN connection): what it learns then comes from its replies and its poll. */
async function cut(store: PostgresStore): Promise<void> {
  await (store as unknown as { listener: { stop(): Promise<void> } }).listener.stop();
}

describe('pause({ everywhere: true }) on PostgresStore', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  it('stops claims in another scheduler until that one resumes', async () => {
    await withSchema(server.url, async (schema) => {
      const a = await node(server.url, schema, { idle: true });
      const b = await node(server.url, schema);
      try {
        const control = await a.scheduler.scheduleIn('work', 0, { n: 1 });
        await waitFor(() => b.started.includes(control.id), 60_000, 'control: b starts a due job');

        await a.scheduler.pause({ everywhere: true });
        assert.deepEqual(a.log, [{ type: 'paused', everywhere: true, origin: 'local' }]);
        await waitFor(() => b.log.length === 1, 60_000, 'b hears the pause');
        assert.deepEqual(b.log[0], { type: 'paused', everywhere: true, origin: 'remote' });

        const held = await a.scheduler.scheduleIn('work', 0, { n: 2 });
        await sleep(10 * POLL_MS);
        assert.equal(b.started.includes(held.id), false, 'not started while paused everywhere');
        assert.equal((await a.scheduler.get(held.id))?.state, 'scheduled');

        await b.scheduler.resume({ everywhere: true });
        await waitFor(() => b.started.includes(held.id), 60_000, 'b starts the job after its own resume');
        await waitFor(() => a.log.length === 2, 60_000, 'a hears the resume');
        assert.deepEqual(a.log[1], { type: 'resumed', everywhere: true, origin: 'remote' });
        assert.equal(a.scheduler.isPaused({ everywhere: true }), false);
      } finally {
        await b.scheduler.stop();
        await a.scheduler.stop();
      }
    });
  });

  it('a scheduler started while paused stays paused; the pause outlives the one that set it', async () => {
    await withSchema(server.url, async (schema) => {
      const a = await node(server.url, schema, { idle: true });
      await a.scheduler.pause({ everywhere: true });
      const held = await a.scheduler.scheduleIn('work', 0, { n: 1 });
      await a.scheduler.stop();
      const b = await node(server.url, schema);
      try {
        assert.equal(b.scheduler.isPaused({ everywhere: true }), true, 'paused at start');
        assert.deepEqual(b.log, [{ type: 'paused', everywhere: true, origin: 'remote' }]);
        await sleep(10 * POLL_MS);
        assert.equal(b.started.length, 0, 'the due job did not start');
        await b.scheduler.resume({ everywhere: true });
        await waitFor(() => b.started.includes(held.id), 60_000, 'control: resumed, it starts');
      } finally {
        await b.scheduler.stop();
      }
    });
  });

  it('a store that missed the notice cannot claim: the claim refuses, and it learns the pause from that reply', async () => {
    await withSchema(server.url, async (schema) => {
      const a = new PostgresStore({ connectionString: server.url, schema });
      const b = new PostgresStore({ connectionString: server.url, schema, pollMs: 60_000 });
      const ctx = liveContext();
      const heard: boolean[] = [];
      await a.open(liveContext());
      await b.open({ ...ctx, pauseChanged: (state) => heard.push(state.paused) });
      try {
        await cut(b);
        // Inserted by b: its claims ask for the name at once.
        await b.insert([{ record: job('due', { runAt: Date.now() - 1000 }), onDuplicate: 'reject' }]);
        assert.deepEqual(await a.setPaused(true), { paused: true, version: 1 });
        await sleep(500);
        assert.equal(b.pauseState().paused, false, 'b did not hear the pause (cut off, no poll)');
        assert.deepEqual((await b.claim(claimNow())).jobs, [], 'the claim took nothing');
        assert.deepEqual(b.pauseState(), { paused: true, version: 1 });
        assert.deepEqual(heard, [true], 'b told its scheduler');
        assert.equal((await a.get('due'))?.state, 'scheduled');
        await a.setPaused(false);
        assert.deepEqual((await b.claim(claimNow())).jobs.map((j) => j.id), ['due'], 'control: resumed, the same claim takes it');
        assert.deepEqual(heard, [true, false]);
      } finally {
        await b.close();
        await a.close();
      }
    });
  });

  it('a scheduler that missed the notice learns the pause from its claim after a settle (claiming ahead), and starts nothing', async () => {
    await withSchema(server.url, async (schema) => {
      const a = await node(server.url, schema, { idle: true });
      const hold = await a.scheduler.scheduleIn('hold', 0, null, { priority: 10 });
      const held = await a.scheduler.scheduleIn('work', 0, { n: 2 });
      const b = await node(server.url, schema, { pollMs: 60_000, concurrency: 1 });
      try {
        await waitFor(() => b.started.includes(hold.id), 60_000, 'b runs hold');
        await cut(b.store);
        await a.scheduler.pause({ everywhere: true });
        await sleep(5 * POLL_MS);
        assert.equal(b.log.length, 0, 'b did not hear the pause (cut off)');
        b.release();
        await waitFor(() => b.log.length === 1, 60_000, 'the refused claim tells b');
        assert.deepEqual(b.log[0], { type: 'paused', everywhere: true, origin: 'remote' });
        await sleep(5 * POLL_MS);
        assert.equal(b.started.includes(held.id), false, 'the due job was not claimed');
        assert.equal((await a.scheduler.get(held.id))?.state, 'scheduled');
        await b.scheduler.resume({ everywhere: true });
        await waitFor(() => b.started.includes(held.id), 60_000, 'control: resumed, b claims it');
      } finally {
        await b.scheduler.stop();
        await a.scheduler.stop();
      }
    });
  });

  it('a scheduler that missed the notices picks the pause and the resume up within its poll interval', async () => {
    await withSchema(server.url, async (schema) => {
      const a = await node(server.url, schema, { idle: true });
      const b = await node(server.url, schema);
      try {
        await cut(b.store);
        const control = await a.scheduler.scheduleIn('work', 0, { n: 1 });
        await waitFor(() => b.started.includes(control.id), 60_000, 'control: b finds due jobs by polling');
        await a.scheduler.pause({ everywhere: true });
        await waitFor(() => b.log.length === 1, 60_000, 'b polls the pause');
        const held = await a.scheduler.scheduleIn('work', 0, { n: 2 });
        await sleep(10 * POLL_MS);
        assert.equal(b.started.includes(held.id), false, 'not started while paused');
        await a.scheduler.resume({ everywhere: true });
        await waitFor(() => b.log.length === 2, 60_000, 'b polls the resume');
        await waitFor(() => b.started.includes(held.id), 60_000, 'and starts the job');
      } finally {
        await b.scheduler.stop();
        await a.scheduler.stop();
      }
    });
  });
});

describe('remoteEvents on PostgresStore', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  it('delivers completed, failed, dead and progress from another scheduler, marked remote, each once; a result too long for a NOTIFY too', async () => {
    await withSchema(server.url, async (schema) => {
      const listener = await node(server.url, schema, { idle: true, remoteEvents: true });
      const deaf = await node(server.url, schema, { idle: true });
      const worker = await node(server.url, schema);
      const got: SchedulerEvent<Jobs, Results>[] = [];
      const local: { type: string; id: string; origin: string }[] = [];
      let deafHeard = 0;
      for (const type of ['completed', 'failed', 'dead', 'progress'] as const) {
        listener.scheduler.on(type, (e) => got.push({ type, ...e } as SchedulerEvent<Jobs, Results>));
        deaf.scheduler.on(type, () => deafHeard++);
        worker.scheduler.on(type, (e) => local.push({ type, id: e.job.id, origin: e.origin ?? 'local' }));
      }
      try {
        await waitFor(() => worker.store.eventListeners(), 60_000, 'the worker learns that a scheduler listens');
        const ok = await listener.scheduler.scheduleIn('work', 0, { n: 21 });
        const big = await listener.scheduler.scheduleIn('work', 0, { n: 1, big: 20_000 });
        const bad = await listener.scheduler.scheduleIn('fail', 0, { n: 1 });
        const prog = await listener.scheduler.scheduleIn('report', 0, { n: 3 });
        await waitFor(() => got.filter((e) => e.type === 'completed').length === 3 && got.some((e) => e.type === 'dead'), 60_000, 'the remote events');

        const okEvent = got.find((e) => e.type === 'completed' && e.job.id === ok.id);
        assert.ok(okEvent && okEvent.type === 'completed' && okEvent.origin === 'remote');
        assert.deepEqual(okEvent.result, { n: 21, pad: '' });
        assert.ok(okEvent.job.runAt instanceof Date && okEvent.job.runAt.getTime() === ok.runAt.getTime());
        const bigEvent = got.find((e) => e.type === 'completed' && e.job.id === big.id);
        assert.ok(bigEvent && bigEvent.type === 'completed' && bigEvent.origin === 'remote');
        assert.equal((bigEvent.result as Results['work']).pad.length, 20_000, 'sent through the events table, whole');
        const failed = got.find((e) => e.type === 'failed');
        assert.ok(failed && failed.type === 'failed' && failed.origin === 'remote' && failed.job.id === bad.id);
        assert.ok(failed.error instanceof Error && failed.error.name === 'TypeError' && failed.error.message === 'bad input 1');
        const dead = got.find((e) => e.type === 'dead');
        assert.ok(dead && dead.type === 'dead' && dead.origin === 'remote' && dead.job.id === bad.id);
        const progress = got.find((e) => e.type === 'progress');
        assert.ok(progress && progress.type === 'progress' && progress.origin === 'remote' && progress.job.id === prog.id);
        assert.deepEqual(progress.progress, { step: 1, n: 3 });

        for (const id of [ok.id, big.id, prog.id]) assert.equal(got.filter((e) => e.type === 'completed' && e.job.id === id).length, 1);
        assert.equal(got.filter((e) => e.type === 'failed').length, 1);
        await sleep(500);
        for (const id of [ok.id, big.id, prog.id]) assert.deepEqual(local.filter((e) => e.type === 'completed' && e.id === id).map((e) => e.origin), ['local']);
        assert.deepEqual(local.filter((e) => e.id === bad.id).map((e) => `${e.type}:${e.origin}`), ['failed:local', 'dead:local']);
        assert.equal(deafHeard, 0, 'a scheduler without remoteEvents hears nothing of the others');
      } finally {
        await worker.scheduler.stop();
        await deaf.scheduler.stop();
        await listener.scheduler.stop();
      }
    });
  });

  it('publishes nothing while no scheduler listens; starts within moments of one listening', async () => {
    await withSchema(server.url, async (schema) => {
      // A raw LISTEN on the events channel: it sees every publication, but does not say it listens.
      const spy = new pg.Client({ connectionString: server.url });
      const messages: string[] = [];
      await spy.connect();
      spy.on('notification', (m) => messages.push(m.payload ?? ''));
      await spy.query(`LISTEN "${schema}.events"`);
      const owner = await node(server.url, schema, { idle: true });
      const worker = await node(server.url, schema);
      let listener: Node | undefined;
      try {
        const quiet = await owner.scheduler.scheduleIn('work', 0, { n: 1 });
        await owner.scheduler.waitFor(quiet, { timeout: 60_000 });
        const next = await owner.scheduler.scheduleIn('work', 0, { n: 2 });
        await owner.scheduler.waitFor(next, { timeout: 60_000 });
        await sleep(200);
        assert.deepEqual(messages, [], 'nobody listened: nothing was published');
        assert.equal(worker.store.eventListeners(), false);

        listener = await node(server.url, schema, { idle: true, remoteEvents: true });
        const heard: string[] = [];
        listener.scheduler.on('completed', (e) => heard.push(e.job.id));
        await waitFor(() => worker.store.eventListeners(), 60_000, 'the worker learns that a scheduler listens');
        const loud = await owner.scheduler.scheduleIn('work', 0, { n: 3 });
        await waitFor(() => heard.includes(loud.id), 60_000, 'the listener gets the event');
        assert.ok(messages.length >= 1, 'control: the spy sees publications once a scheduler listens');
      } finally {
        await listener?.scheduler.stop();
        await worker.scheduler.stop();
        await owner.scheduler.stop();
        await spy.end();
      }
    });
  });
});
