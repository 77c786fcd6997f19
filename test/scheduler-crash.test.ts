/**
 * The crash rule (issue 11 item 5, SPEC §5): an attempt that was running
 * when its process died counts as a failed attempt (ProcessCrashError), the
 * retry policy applies, and a job that keeps crashing its process ends dead
 * instead of running at every restart.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { LeaseLostError, ProcessCrashError, StorePersistError } from '../src/errors.js';
import { MemoryStore } from '../src/store/memory.js';
import { JsonFileStore } from '../src/store/json-file.js';
import type { JobRecord, NewJobRecord } from '../src/store/store.js';
import { T0, record } from './helpers.js';
import { removeTempDirs, tempDir } from './json-file-helpers.js';
import { storeContext } from './store-conformance.js';

after(removeTempDirs);

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));

type Jobs = { poison: { n: number } };

/**
 * A MemoryStore that hands the jobs of its next claim back as lost once
 * `handBack` is set (as after a crash; `bump` raises their attempt as that
 * claim would have) and refuses settles (a full disk) while `failing`.
 */
class LostAndFlaky extends MemoryStore {
  failing = true;
  handBack = false;

  constructor(private readonly bump: number) {
    super();
  }

  override async claim(request: Parameters<MemoryStore['claim']>[0]): ReturnType<MemoryStore['claim']> {
    const result = await super.claim(request);
    if (!this.handBack || result.jobs.length === 0) return result;
    this.handBack = false;
    return { ...result, jobs: result.jobs.map((j) => ({ ...j, lost: 'crash' as const, attempt: j.attempt + this.bump })) };
  }

  override async settle(id: string, token: string, next: JobRecord): Promise<boolean> {
    if (this.failing) throw new StorePersistError('disk full (injected)');
    return super.settle(id, token, next);
  }
}

function runChild(dir: string, how: 'exit' | 'kill'): Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: Record<string, unknown>[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, 'crash', dir, how], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child did not end in 60 s; stdout: ${out}; stderr: ${err}`));
    }, 60_000);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      const lines = out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, signal, lines, stderr: err });
    });
  });
}

/** A job claimed in `store` and left running, as a process that died mid-attempt leaves it. */
async function leaveRunning(store: MemoryStore | JsonFileStore, overrides: Partial<NewJobRecord> = {}): Promise<JobRecord> {
  await store.open(storeContext({ now: () => T0 }));
  const record: NewJobRecord = {
    id: 'poison',
    name: 'poison',
    payload: { n: 1 },
    state: 'scheduled',
    runAt: T0,
    createdAt: T0,
    attempt: 0,
    priority: 0,
    retry: { maxRetries: 2, backoff: { type: 'fixed', delay: 1000 } },
    ...overrides,
  };
  await store.insert([{ record, onDuplicate: 'reject' }]);
  const { jobs } = await store.claim({ now: T0, limit: 1, capacity: () => 1, token: () => 'tk' });
  const claimed = jobs[0] as JobRecord;
  await store.close();
  return claimed;
}

describe('crash rule: a lost attempt counts against the retry policy', () => {
  for (const how of ['exit', 'kill'] as const) {
    it(`a handler that ${how === 'exit' ? 'calls process.exit' : 'SIGKILLs its process'} with maxRetries 2 starts 3 times over restarts, then ends dead with ProcessCrashError`, async () => {
      const dir = await tempDir();
      const runs: Awaited<ReturnType<typeof runChild>>[] = [];
      for (let i = 0; i < 6; i++) {
        const run = await runChild(dir, how);
        runs.push(run);
        if (run.lines.some((l) => 'fatal' in l)) assert.fail(`child failed: ${JSON.stringify(run.lines)} ${run.stderr}`);
        if (run.code === 0) break;
      }
      const lines = runs.flatMap((r) => r.lines);
      const starts = lines.filter((l) => 'started' in l).map((l) => l.started);
      assert.deepEqual(starts, [1, 2, 3], `starts over ${runs.length} runs: ${JSON.stringify(lines)}`);
      assert.equal(runs.length, 4, 'three crashing runs, then one that records the death');
      assert.equal(runs.at(-1)?.code, 0);
      // Each restart charges the lost attempt: two retries, then dead.
      assert.deepEqual(
        lines.filter((l) => 'failed' in l),
        [
          { failed: 1, error: 'ProcessCrashError', willRetry: true },
          { failed: 2, error: 'ProcessCrashError', willRetry: true },
          { failed: 3, error: 'ProcessCrashError', willRetry: false },
        ],
      );
      assert.deepEqual(
        lines.filter((l) => 'dead' in l),
        [{ dead: 3, error: 'ProcessCrashError', lastError: 'ProcessCrashError' }],
      );

      // A clock the test moves: "never runs again" is checked a day later, not after a sleep.
      const clock = new VirtualClock(Date.now());
      const scheduler = new Scheduler<Jobs>({ store: new JsonFileStore(dir), unref: true, clock });
      const started: number[] = [];
      scheduler.register('poison', (job) => {
        started.push(job.attempt);
      });
      await scheduler.start();
      const job = await scheduler.get('poison');
      assert.equal(job?.state, 'dead');
      assert.equal(job?.attempt, 3);
      assert.deepEqual(job?.lastError?.name, 'ProcessCrashError');
      assert.equal(scheduler.stats().scheduled, 0, 'nothing left to run');
      await clock.advance(24 * 3_600_000);
      assert.deepEqual(started, [], 'a dead job never runs again');
      await scheduler.stop();
    });
  }

  it('a recovered attempt with retries left waits its backoff, then runs as the next attempt', async () => {
    const store = new MemoryStore();
    await leaveRunning(store);
    const clock = new VirtualClock(T0 + 5000);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    const log = record(scheduler, clock, ['failed', 'retrying', 'started', 'completed', 'dead']);
    const attempts: number[] = [];
    scheduler.register('poison', (job) => {
      attempts.push(job.attempt);
      return 'ok';
    });
    await scheduler.start();
    await clock.advance(999);
    assert.deepEqual(attempts, [], 'not before the backoff of the lost attempt');
    await clock.advance(1);
    assert.deepEqual(attempts, [2]);
    assert.deepEqual(
      log.map((e) => [e.type, e.at - T0]),
      [
        ['failed', 5000],
        ['retrying', 5000],
        ['started', 6000],
        ['completed', 6000],
      ],
    );
    const failed = log[0]?.payload as { job: { attempt: number; state: string; lastError?: { name: string } }; error: Error; willRetry: boolean; nextRunAt: Date };
    assert.ok(failed.error instanceof ProcessCrashError);
    assert.equal(failed.job.attempt, 1);
    assert.equal(failed.job.state, 'scheduled');
    assert.equal(failed.job.lastError?.name, 'ProcessCrashError');
    assert.equal(failed.willRetry, true);
    assert.equal(failed.nextRunAt.getTime(), T0 + 6000);
    const job = await scheduler.get('poison');
    assert.equal(job?.state, 'completed');
    assert.equal(job?.attempt, 2);
    await scheduler.stop();
  });

  it('a recovered attempt rescheduled before it came due keeps its charge: at the new time the lost attempt is charged, then the retry waits its backoff', async () => {
    // Decision (issue 17, seed 182946485): a reschedule moves when the job is
    // next due; it does not erase the lost attempt. When the job comes due the
    // charge is taken first, exactly as if it had been due at recovery.
    const store = new MemoryStore();
    await leaveRunning(store);
    // The clock was stepped back an hour: the recovered job (due T0) is not due yet.
    const start = T0 - 3_600_000;
    const clock = new VirtualClock(start);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    const log = record(scheduler, clock, ['rescheduled', 'failed', 'started', 'completed']);
    const attempts: number[] = [];
    scheduler.register('poison', (job) => {
      attempts.push(job.attempt);
    });
    await scheduler.start();
    await scheduler.reschedule('poison', start + 500);
    await clock.advance(1499);
    assert.deepEqual(attempts, [], 'the charge comes first, then the backoff of 1000 ms');
    await clock.advance(1);
    assert.deepEqual(attempts, [2]);
    assert.deepEqual(
      log.map((e) => [e.type, e.at - start]),
      [
        ['rescheduled', 0],
        ['failed', 500],
        ['started', 1500],
        ['completed', 1500],
      ],
    );
    const failed = log[1]?.payload as { error: Error; willRetry: boolean; nextRunAt: Date };
    assert.ok(failed.error instanceof ProcessCrashError);
    assert.equal(failed.willRetry, true);
    assert.equal(failed.nextRunAt.getTime(), start + 1500);
    await scheduler.stop();
  });

  it('a recovered attempt that was the last one allowed goes dead without running; a schedule goes on to its next slot', async () => {
    const store = new MemoryStore();
    await leaveRunning(store, { retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1000 } } });
    const clock = new VirtualClock(T0 + 5000);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    const log = record(scheduler, clock, ['failed', 'dead', 'started']);
    scheduler.register('poison', () => 'ok');
    await scheduler.start();
    await clock.advance(10_000);
    assert.deepEqual(
      log.map((e) => e.type),
      ['failed', 'dead'],
    );
    const dead = log[1]?.payload as { job: { state: string; attempt: number }; error: Error };
    assert.ok(dead.error instanceof ProcessCrashError);
    assert.equal(dead.job.state, 'dead');
    assert.equal(dead.job.attempt, 1);
    const job = await scheduler.get('poison');
    assert.equal(job?.state, 'dead');
    assert.equal(job?.lastError?.name, 'ProcessCrashError');
    await scheduler.stop();
  });

  it('a recovered attempt charged dead follows removeOnFail, and its error names the attempt that was lost', async () => {
    const store = new MemoryStore();
    await leaveRunning(store, { retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1000 } } });
    const clock = new VirtualClock(T0 + 5000);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    const log = record(scheduler, clock, ['dead', 'started']);
    scheduler.register('poison', () => 'ok', { removeOnFail: true });
    await scheduler.start();
    await clock.advance(10_000);
    assert.deepEqual(
      log.map((e) => e.type),
      ['dead'],
    );
    const dead = log[0]?.payload as { error: Error };
    assert.ok(dead.error instanceof ProcessCrashError);
    assert.match(dead.error.message, /^Attempt 1 of job poison was running when its process died/);
    assert.equal(await scheduler.get('poison'), undefined, 'removed as it went dead (removeOnFail)');
    await scheduler.stop();
  });

  it('a clock step while the charge of a lost attempt waits to be recorded: failed reports the retry as recorded, in the new frame (seed 234033002)', async () => {
    const MIN = 60_000;
    const store = new LostAndFlaky(0);
    await leaveRunning(store, { retry: { maxRetries: 2, backoff: { type: 'fixed', delay: 10 * MIN } } });
    store.handBack = true;
    const clock = new VirtualClock(T0 + 5000);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    scheduler.on('error', () => undefined);
    const failed: { nextRunAt: number | undefined; error: string }[] = [];
    scheduler.on('failed', (e) => failed.push({ nextRunAt: e.nextRunAt?.getTime(), error: e.error.name }));
    const attempts: number[] = [];
    scheduler.register('poison', (job) => {
      attempts.push(job.attempt);
    });
    await scheduler.start();
    await clock.advance(10); // the claim charges the lost attempt: retry at +10 min; recording it is refused and retried
    assert.deepEqual(failed, [], 'not before the charge is recorded');
    const chargedAt = T0 + 5000;
    await clock.set(clock.now() - 60 * MIN);
    store.failing = false;
    await clock.advance(1000);
    const job = await scheduler.get('poison');
    assert.equal(job?.state, 'scheduled');
    assert.equal(job?.runAt.getTime(), chargedAt + 10 * MIN - 60 * MIN, 'the retry backoff is elapsed time: it moved with the step');
    assert.deepEqual(failed, [{ nextRunAt: chargedAt + 10 * MIN - 60 * MIN, error: 'ProcessCrashError' }], 'failed reports the retry time as recorded');
    await clock.advance(10 * MIN);
    assert.deepEqual(attempts, [2], 'the retry runs at the recorded time');
    await scheduler.stop();
  });

  it('the same for an every schedule: dead names the lost occurrence’s slot as re-based, in the new frame (seed 247047301)', async () => {
    const MIN = 60_000;
    // Its first claim as a restart finds it: the occurrence was running in a process that died.
    const store = new LostAndFlaky(1);
    store.handBack = true;
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    scheduler.on('error', () => undefined);
    const dead: number[] = [];
    scheduler.on('dead', (e) => dead.push(e.job.runAt.getTime()));
    const slots: number[] = [];
    scheduler.register('poison', (job) => void slots.push(job.runAt.getTime()));
    await scheduler.start();
    await scheduler.scheduleEvery('poison', 10 * MIN, { n: 1 }, { id: 'e', retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1000 } } });
    await clock.advance(10 * MIN); // slot +10 claimed as lost: charged (dead, no retries left); recording it is refused and retried
    await clock.set(clock.now() - 60 * MIN);
    store.failing = false;
    await clock.advance(1000);
    assert.deepEqual(dead, [T0 + 10 * MIN - 60 * MIN], 'the slot moved with the step, as the schedule did');
    await clock.advance(10 * MIN);
    assert.deepEqual(slots, [T0 + 20 * MIN - 60 * MIN], 'the next slot runs 10 elapsed minutes on, after the dead one');
    await scheduler.stop();
  });

  it('a lapsed lease (lost: lease) is charged the same way, with LeaseLostError', async () => {
    // A store that hands out a record the way RedisStore does after a lease lapses.
    const store = new MemoryStore();
    const claimed = await leaveRunning(store, { retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 0 } } });
    const clock = new VirtualClock(T0 + 5000);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    const errors: Error[] = [];
    scheduler.on('failed', ({ error }) => errors.push(error));
    const original = store.claim.bind(store);
    store.claim = async (request) => {
      const result = await original(request);
      return { ...result, jobs: result.jobs.map((j) => (j.lost ? { ...j, lost: 'lease' as const } : j)) };
    };
    const attempts: number[] = [];
    scheduler.register('poison', (job) => {
      attempts.push(job.attempt);
    });
    await scheduler.start();
    await clock.advance(10);
    assert.equal(claimed.attempt, 1);
    assert.deepEqual(attempts, [2]);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof LeaseLostError);
    await scheduler.stop();
  });
});
