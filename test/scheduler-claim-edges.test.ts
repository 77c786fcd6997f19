/**
 * What happens between a claim and a start, paths no other test ran
 * (issue 19): a handler unregistered while the claim was in flight, a
 * schedule that has no slot left when its late occurrence is claimed, and a
 * running job replaced by a new one with its id. Events are collected and
 * checked afterwards.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory.js';
import type { ClaimRequest, ClaimResult, JobRecord } from '../src/store/store.js';
import { T0, collectEvents, virtualScheduler } from './helpers.js';

type Jobs = { work: { n: number } };

/** A MemoryStore whose next claim waits until the test opens the gate. */
class GatedStore extends MemoryStore {
  private gate: Promise<void> | undefined;
  private release: (() => void) | undefined;
  claims = 0;
  holdNextClaim(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  openGate(): void {
    this.release?.();
    this.gate = undefined;
  }
  override async claim(request: ClaimRequest): Promise<ClaimResult> {
    const result = await super.claim(request);
    if (result.jobs.length > 0) this.claims++;
    if (this.gate) await this.gate;
    return result;
  }
}

describe('between claim and start', () => {
  it('a handler unregistered while its job was being claimed: the job goes back unstarted, its attempt not counted, and runs once a handler comes back', async () => {
    const store = new GatedStore();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    const runs: { n: number; attempt: number }[] = [];
    const handler = (job: { payload: { n: number }; attempt: number }): void => {
      runs.push({ n: job.payload.n, attempt: job.attempt });
    };
    scheduler.register('work', handler);
    await scheduler.start();
    const log = collectEvents(scheduler);
    const { id } = await scheduler.scheduleIn('work', 10, { n: 1 });
    store.holdNextClaim();
    await clock.advance(10);
    assert.equal(store.claims, 1, 'claimed, not started yet');
    scheduler.unregister('work');
    store.openGate();
    await clock.advance(0);
    assert.deepEqual(runs, []);
    const back = await scheduler.get(id);
    assert.equal(back?.state, 'scheduled');
    assert.equal(back?.attempt, 0, 'the claim is not charged');
    assert.deepEqual(log.of('started'), []);
    scheduler.register('work', handler);
    await clock.advance(1000);
    assert.deepEqual(runs, [{ n: 1, attempt: 1 }]);
    assert.equal((await scheduler.get(id))?.state, 'completed');
    assert.deepEqual(log.of('error'), []);
    await scheduler.stop();
  });

  it("a schedule whose last slot passed while it waited: with misfire 'skip' it ends at the claim, without running", async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ misfireGraceMs: 0 });
    let runs = 0;
    scheduler.register('work', () => {
      runs++;
    });
    const log = collectEvents(scheduler);
    const { id } = await scheduler.scheduleEvery('work', 1000, { n: 1 }, { misfire: 'skip', endAt: new Date(T0 + 2500) });
    scheduler.pause();
    await clock.advance(5000);
    assert.equal(runs, 0);
    scheduler.resume();
    await clock.advance(0);
    assert.equal(runs, 0, 'no slot left to run');
    const info = await scheduler.get(id);
    assert.equal(info?.state, 'completed', 'the schedule ended');
    const misfired = log.of('misfired');
    assert.equal(misfired.length, 1);
    assert.equal(misfired[0]?.missed, 2, 'slots at +1 s and +2 s were missed');
    assert.deepEqual(log.of('started'), []);
    assert.deepEqual(log.of('error'), []);
    await clock.advance(10_000);
    assert.equal(runs, 0, 'and never runs again');
    await scheduler.stop();
  });

  it('a running job replaced by a new one with its id: the attempt is aborted with a lost event, its outcome ignored, the new job runs', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const seen: { n: number; aborted: boolean }[] = [];
    let finishFirst: (() => void) | undefined;
    scheduler.register('work', async (job) => {
      if (job.payload.n === 1) {
        await new Promise<void>((resolve) => (finishFirst = resolve));
      }
      seen.push({ n: job.payload.n, aborted: job.signal.aborted });
      return `done ${job.payload.n}`;
    });
    const log = collectEvents(scheduler);
    await scheduler.scheduleIn('work', 0, { n: 1 }, { id: 'r' });
    await clock.advance(0);
    assert.equal(scheduler.stats().running, 1);
    const replaced = await scheduler.scheduleIn('work', 50, { n: 2 }, { id: 'r', onDuplicate: 'replace' });
    assert.equal(replaced.state, 'scheduled');
    const lost = log.of('lost');
    assert.equal(lost.length, 1);
    assert.equal(lost[0]?.reason, 'replaced');
    assert.equal(lost[0]?.job.id, 'r');
    finishFirst?.();
    await clock.advance(0);
    assert.deepEqual(seen, [{ n: 1, aborted: true }], 'the old attempt saw its signal aborted');
    assert.deepEqual((await scheduler.get('r'))?.payload, { n: 2 }, "the old attempt's outcome did not overwrite the new job");
    assert.equal((await scheduler.get('r'))?.state, 'scheduled');
    await clock.advance(50);
    assert.deepEqual(seen.at(-1), { n: 2, aborted: false });
    const done = await scheduler.get('r');
    assert.equal(done?.state, 'completed');
    assert.equal(done?.result, 'done 2');
    assert.deepEqual(
      log.of('completed').map((e) => e.result),
      ['done 2'],
      'only the new job completed',
    );
    await scheduler.stop();
  });
  it('a cancel that waited for the store leaves alone the attempt of a newer job that took its id meanwhile (simulation seed 242082905)', async () => {
    // The cancel's store write resolves only when the test says so; by then a
    // new job with the id (onDuplicate 'replace') is running. Before the fix
    // the cancel aborted that attempt and freed its slot, and the store kept
    // the new job 'running' with nothing running it ('drained' came early).
    class SlowCancelStore extends MemoryStore {
      gate: Promise<void> | undefined;
      override async cancel(id: string, now: number): Promise<JobRecord | undefined> {
        const record = await super.cancel(id, now);
        await this.gate;
        return record;
      }
    }
    const store = new SlowCancelStore();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    const seen: { n: number; aborted: boolean }[] = [];
    let finish: (() => void) | undefined;
    scheduler.register('work', async (job) => {
      await new Promise<void>((resolve) => (finish = resolve));
      seen.push({ n: job.payload.n, aborted: job.signal.aborted });
      return `done ${job.payload.n}`;
    });
    await scheduler.start();
    const log = collectEvents(scheduler);
    await scheduler.scheduleIn('work', 60_000, { n: 1 }, { id: 'c' });
    let openGate: () => void = () => undefined;
    store.gate = new Promise<void>((resolve) => (openGate = resolve));
    const cancelling = scheduler.cancel('c');
    await clock.advance(0);
    const fresh = await scheduler.scheduleIn('work', 0, { n: 2 }, { id: 'c', onDuplicate: 'replace' });
    assert.equal(fresh.state, 'scheduled');
    await clock.advance(0);
    assert.equal(scheduler.stats().running, 1, 'the new job runs');
    openGate();
    assert.equal(await cancelling, true, 'the first job was cancelled');
    await clock.advance(0);
    assert.equal(scheduler.stats().running, 1, 'the new job still holds its slot');
    assert.deepEqual(log.of('lost'), [], 'no attempt was given up');
    finish?.();
    await clock.advance(0);
    assert.deepEqual(seen, [{ n: 2, aborted: false }], "the new job's signal was not aborted");
    const after = await scheduler.get('c');
    assert.equal(after?.state, 'completed');
    assert.equal(after?.result, 'done 2');
    await scheduler.stop();
  });
  for (const change of ['replace', 'cancel'] as const) {
    it(`a claimed job ${change === 'replace' ? 'replaced' : 'cancelled'} before its handler started never starts (simulation seed 197012713)`, async () => {
      const store = new GatedStore();
      const clock = new VirtualClock(T0);
      const scheduler = new Scheduler<Jobs>({ store, clock, concurrency: 4 });
      const runs: number[] = [];
      scheduler.register('work', (job) => {
        runs.push(job.payload.n);
      });
      await scheduler.start();
      const log = collectEvents(scheduler);
      await scheduler.scheduleIn('work', 10, { n: 1 }, { id: 'b' });
      store.holdNextClaim();
      await clock.advance(10);
      assert.equal(store.claims, 1, 'claimed, not started yet');
      assert.equal((await scheduler.get('b'))?.state, 'running', 'the store holds it as claimed');
      if (change === 'replace') {
        const info = await scheduler.scheduleIn('work', 50, { n: 2 }, { id: 'b', onDuplicate: 'replace' });
        assert.equal(info.state, 'scheduled');
      } else {
        assert.equal(await scheduler.cancel('b'), true);
      }
      store.openGate();
      await clock.advance(0);
      assert.deepEqual(runs, [], `the ${change}d version never starts`);
      assert.deepEqual(log.of('started'), []);
      await clock.advance(50);
      assert.deepEqual(runs, change === 'replace' ? [2] : [], change === 'replace' ? 'the new job runs at its time' : 'nothing runs');
      const after = await scheduler.get('b');
      assert.equal(after?.state, change === 'replace' ? 'completed' : 'cancelled');
      await scheduler.stop();
    });
  }
});

