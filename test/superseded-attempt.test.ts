/**
 * A job handed to this process again while its last attempt's outcome is
 * still being recorded (PostgreSQL simulation seed 289001066): a schedule's
 * next run, claimed with the settle that recorded the last one (or just
 * after it), before that settle's answer reached the attempt. The old
 * attempt's handler has ended, so nothing is lost until the store says so:
 * no `lost` event for an outcome that was recorded, and a `lost` event for
 * one the store refused.
 *
 * Real PostgreSQL (a store that answers asynchronously and claims ahead).
 * The race is made certain, not waited for: the store's answer to one
 * settle is held until the job's next run has started.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresStore } from '../src/postgres.js';
import { Scheduler } from '../src/scheduler.js';
import type { LostReason } from '../src/store/store.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { waitFor, withSchema } from './fixtures/postgres-helpers.js';

type Jobs = { tick: null; poke: null };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Held {
  /** The token of the held settle (job `id`'s first). */
  heldToken: string | undefined;
  /** What the held settle answered. */
  answer: boolean | undefined;
  /** What ended the hold: `release`, or the 10 s bound. */
  releasedBy: 'release' | 'bound' | undefined;
}

/**
 * Wraps `store` so that the first settle of job `id` is held until
 * `release` resolves (10 s at most): `before` sends it only then (and the
 * store stops renewing its lease meanwhile, as in a stalled process),
 * `after` sends it at once and holds its answer until then.
 */
function holdFirstSettle(store: PostgresStore, id: string, when: 'before' | 'after', release: Promise<void>): Held {
  const held: Held = { heldToken: undefined, answer: undefined, releasedBy: undefined };
  const until = async (): Promise<void> => {
    held.releasedBy = await Promise.race([
      release.then(() => 'release' as const),
      new Promise<'bound'>((resolve) => setTimeout(() => resolve('bound'), 10_000).unref()),
    ]);
  };
  type RenewItem = { id: string; token: string };
  const s = store as unknown as {
    settle: PostgresStore['settle'];
    renew: (items: RenewItem[]) => Promise<[string, LostReason][]>;
  };
  const settle = store.settle.bind(store);
  const renew = s.renew.bind(store);
  if (when === 'before') {
    // White box: the store's renewal call, for the held attempt's lease to lapse.
    s.renew = (items) => renew(items.filter((item) => item.token !== held.heldToken || held.answer !== undefined));
  }
  s.settle = async (jobId, token, next) => {
    if (jobId !== id || held.heldToken !== undefined) return settle(jobId, token, next);
    held.heldToken = token;
    if (when === 'before') await until();
    const answer = await settle(jobId, token, next);
    held.answer = answer;
    if (when === 'after') await until();
    return answer;
  };
  return held;
}

/** A handler that records each run's slot and resolves `second` when a second run starts. */
function ticker(): { starts: number[]; second: Promise<void>; handler: (job: { runAt: Date }) => void } {
  const starts: number[] = [];
  let resolve!: () => void;
  const second = new Promise<void>((r) => (resolve = r));
  return {
    starts,
    second,
    handler: (job) => {
      starts.push(job.runAt.getTime());
      if (starts.length === 2) resolve();
    },
  };
}

describe('a job handed out again while its last outcome is being recorded', { skip: postgresSkip, timeout: 120_000 }, () => {
  const server = usePostgresServer();

  it('is no loss when that outcome was recorded: no `lost` event, and the run is reported completed', async () => {
    await withSchema(server.url, async (schema) => {
      const store = new PostgresStore({ connectionString: server.url, schema });
      const tick = ticker();
      const { starts } = tick;
      // Its answer reaches the scheduler only once the next run has started.
      const held = holdFirstSettle(store, 'tick', 'after', tick.second);
      const scheduler = new Scheduler<Jobs>({ store, concurrency: 4 });
      const lost: string[] = [];
      const completed: number[] = [];
      scheduler.on('lost', (e) => lost.push(`${e.reason}: ${e.error.message}`));
      scheduler.on('completed', (e) => completed.push(e.job.runAt.getTime()));
      scheduler.register('tick', tick.handler, { concurrency: 2 });
      scheduler.register('poke', () => undefined);
      try {
        await scheduler.start();
        await scheduler.scheduleEvery('tick', 200, null, { id: 'tick' });
        // The first run's outcome is recorded and its answer held; once the next slot is due, an insert makes the scheduler claim.
        await waitFor(() => held.answer !== undefined, 10_000, 'the first outcome recorded');
        await sleep(300);
        await scheduler.scheduleIn('poke', 0, null);
        await waitFor(() => held.releasedBy !== undefined && completed.length >= 3, 20_000, 'the held answer and two more runs');
      } finally {
        await scheduler.stop();
      }
      assert.equal(held.answer, true, 'the held outcome was recorded');
      assert.equal(held.releasedBy, 'release', 'the next run started while the answer was held (the race this test is for)');
      assert.deepEqual(lost, [], 'an attempt whose outcome was recorded is not reported lost');
      assert.ok(completed.includes(starts[0]!), `the first run is reported completed (completed: ${completed.join(', ')}; first start ${starts[0]})`);
    });
  });

  it('is a loss when the store refuses that outcome (the lease lapsed first): one `lost` event for it', async () => {
    await withSchema(server.url, async (schema) => {
      const store = new PostgresStore({ connectionString: server.url, schema, leaseMs: 300 });
      const tick = ticker();
      const { starts } = tick;
      // Sent only once the lease has lapsed and the store has handed the job out again (the run started again).
      const held = holdFirstSettle(store, 'tick', 'before', tick.second);
      const scheduler = new Scheduler<Jobs>({ store, concurrency: 4 });
      const lost: { reason: LostReason; runAt: number }[] = [];
      const completed: number[] = [];
      scheduler.on('lost', (e) => lost.push({ reason: e.reason, runAt: e.job.runAt.getTime() }));
      scheduler.on('completed', (e) => completed.push(e.job.runAt.getTime()));
      scheduler.register('tick', tick.handler, { concurrency: 2 });
      scheduler.register('poke', () => undefined);
      try {
        await scheduler.start();
        await scheduler.scheduleEvery('tick', 60_000, null, { id: 'tick', startAt: Date.now() });
        // The first run's outcome is held unsent; once its 300 ms lease has lapsed, an insert makes the scheduler claim.
        await waitFor(() => held.heldToken !== undefined, 10_000, 'the first run ended');
        await sleep(600);
        await scheduler.scheduleIn('poke', 0, null);
        await waitFor(() => held.answer !== undefined && lost.length > 0, 20_000, 'the held settle refused and reported');
      } finally {
        await scheduler.stop();
      }
      assert.equal(held.releasedBy, 'release', 'the run started again before the outcome was sent');
      assert.equal(starts[1], starts[0], 'the lease lapsed and the same run started again');
      assert.equal(held.answer, false, 'the store refused the outcome of the attempt that lost its lease');
      assert.equal(lost.length, 1, `one lost event: ${JSON.stringify(lost)}`);
      assert.equal(lost[0]?.runAt, starts[0], 'it is the first run that is reported lost');
      // The slot ran again (the store's re-claim) and that run completes: one completed for it, not two.
      assert.ok(completed.filter((at) => at === starts[0]).length <= 1, `completed: ${completed.join(', ')}`);
    });
  });
});
