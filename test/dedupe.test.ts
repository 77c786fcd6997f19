/**
 * `options.dedupe` through the Scheduler (issue 16 item 3): throttle and
 * debounce windows, the outcome on the returned JobInfo, events, a JSON
 * file store keeping a window across a restart, validation, and a store
 * without dedupe refusing the option. Store-level rules: store-conformance-dedupe.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StorePersistError, UnsupportedOptionError, ValidationError } from '../src/errors.js';
import { FaultyFs } from '../src/store/json-file/faulty-fs.js';
import { Scheduler } from '../src/scheduler.js';
import { MemoryStore } from '../src/store/memory.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { PostgresStore } from '../src/postgres.js';
import type { Store } from '../src/store/store.js';
import { VirtualClock } from '../src/clock.js';
import { T0, virtualScheduler } from './helpers.js';

type Jobs = { reindex: { doc: number }; mail: { to: string } };

describe('dedupe windows', () => {
  it('throttle: calls inside the window return the first job; the handler runs once', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const seen: number[] = [];
    scheduler.register('reindex', (job) => {
      seen.push(job.payload.doc);
    });
    const scheduled: string[] = [];
    scheduler.on('scheduled', (e) => scheduled.push(e.job.id));
    const first = await scheduler.scheduleIn('reindex', 100, { doc: 1 }, { dedupe: { key: 'doc', ttlMs: 10_000 } });
    const second = await scheduler.scheduleIn('reindex', 100, { doc: 2 }, { dedupe: { key: 'doc', ttlMs: 10_000 } });
    assert.equal(first.dedupe, 'created');
    assert.equal(second.dedupe, 'throttled');
    assert.equal(second.id, first.id);
    assert.deepEqual(second.payload, { doc: 1 });
    assert.deepEqual(scheduled, [first.id], 'a throttled call schedules nothing');
    await clock.advance(10_000);
    assert.deepEqual(seen, [1]);
    // The window (10 s from the first call) has ended: a new job.
    const third = await scheduler.scheduleIn('reindex', 0, { doc: 3 }, { dedupe: { key: 'doc', ttlMs: 10_000 } });
    assert.equal(third.dedupe, 'created');
    assert.notEqual(third.id, first.id);
    await clock.advance(10);
    assert.deepEqual(seen, [1, 3]);
    assert.equal((await scheduler.get(first.id))?.dedupe, undefined, 'get() does not report a call outcome');
    await scheduler.stop();
  });

  it('debounce: the last payload runs once, at the last call’s time; a rescheduled event per debounce', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const runs: { doc: number; at: number }[] = [];
    scheduler.register('reindex', (job) => {
      runs.push({ doc: job.payload.doc, at: clock.now() });
    });
    const moved: number[] = [];
    scheduler.on('rescheduled', (e) => moved.push(e.previousRunAt.getTime()));
    const dedupe = { key: 'search', ttlMs: 5_000, mode: 'debounce' } as const;
    const a = await scheduler.scheduleIn('reindex', 1000, { doc: 1 }, { dedupe, priority: 5, id: 'search-1' });
    assert.equal(a.id, 'search-1', 'an id names the created job');
    await clock.advance(500);
    const b = await scheduler.scheduleIn('reindex', 1000, { doc: 2 }, { dedupe });
    await clock.advance(500);
    const c = await scheduler.scheduleIn('reindex', 1000, { doc: 3 }, { dedupe, priority: 1, id: 'other' });
    assert.deepEqual([a.dedupe, b.dedupe, c.dedupe], ['created', 'debounced', 'debounced']);
    assert.equal(c.id, a.id);
    assert.equal(c.runAt.getTime(), T0 + 2000);
    assert.equal(c.priority, 5, 'a debounce changes only the payload and the due time');
    assert.deepEqual(moved, [T0 + 1000, T0 + 1500]);
    await clock.advance(5000);
    assert.deepEqual(runs, [{ doc: 3, at: T0 + 2000 }]);
    // Its job finished, the window is still open: debounce creates a new job.
    const d = await scheduler.scheduleIn('reindex', 10, { doc: 4 }, { dedupe });
    assert.equal(d.dedupe, 'created');
    await clock.advance(10);
    assert.deepEqual(runs.map((r) => r.doc), [3, 4]);
    await scheduler.stop();
  });

  it('scheduleAt and scheduleMany report per item; scheduleMany refuses two items of one window', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const first = await scheduler.scheduleAt('mail', T0 + 100, { to: 'a' }, { dedupe: { key: 'a', ttlMs: 1000 } });
    const many = await scheduler.scheduleMany([
      { name: 'mail', payload: { to: 'a' }, delay: 5, options: { dedupe: { key: 'a', ttlMs: 1000 } } },
      { name: 'mail', payload: { to: 'b' }, delay: 5, options: { dedupe: { key: 'b', ttlMs: 1000 } } },
      { name: 'reindex', payload: { doc: 1 }, delay: 5, options: { dedupe: { key: 'a', ttlMs: 1000 } } },
      { name: 'mail', payload: { to: 'c' }, delay: 5 },
    ]);
    assert.deepEqual(
      many.map((j) => j.dedupe),
      ['throttled', 'created', 'created', undefined],
    );
    assert.equal(many[0]?.id, first.id);
    await assert.rejects(
      scheduler.scheduleMany([
        { name: 'mail', payload: { to: 'x' }, delay: 5, options: { dedupe: { key: 'x', ttlMs: 1000 } } },
        { name: 'mail', payload: { to: 'y' }, delay: 5, options: { dedupe: { key: 'x', ttlMs: 1000, mode: 'debounce' } } },
      ]),
      (e: unknown) => e instanceof ValidationError && /`items\[1\]\.options\.dedupe\.key` to differ from that of items\[0\]/.test(e.message),
    );
    assert.equal(scheduler.stats().scheduled, 4);
    await scheduler.stop();
  });

  it('validates the option with clear errors and changes nothing', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const bad: [unknown, RegExp][] = [
      [null, /Expected `options.dedupe` to be/],
      ['k', /Expected `options.dedupe` to be/],
      [{ ttlMs: 10 }, /Expected `options.dedupe.key` to be a non-empty string/],
      [{ key: '', ttlMs: 10 }, /Expected `options.dedupe.key` to be a non-empty string/],
      [{ key: 'x'.repeat(257), ttlMs: 10 }, /at most 256 characters/],
      [{ key: 'k' }, /Expected `options.dedupe.ttlMs` to be an integer > 0, got undefined/],
      [{ key: 'k', ttlMs: 0 }, /`options.dedupe.ttlMs` to be an integer > 0, got 0/],
      [{ key: 'k', ttlMs: 1.5 }, /`options.dedupe.ttlMs` to be an integer > 0/],
      [{ key: 'k', ttlMs: 1e20 }, /`options.dedupe.ttlMs` to be an integer from 1 to/],
      [{ key: 'k', ttlMs: 10, mode: 'latest' }, /Expected `options.dedupe.mode` to be 'throttle' or 'debounce', got "latest"/],
      [{ key: 'k', ttlMs: 10, extra: 1 }, /Unknown option `options.dedupe.extra`/],
    ];
    for (const [dedupe, message] of bad) {
      await assert.rejects(scheduler.scheduleIn('mail', 10, { to: 'a' }, { dedupe } as never), (e: unknown) => e instanceof ValidationError && message.test(e.message), String(message));
    }
    await assert.rejects(
      scheduler.scheduleIn('mail', 10, { to: 'a' }, { dedupe: { key: 'k', ttlMs: 10 }, onDuplicate: 'keep' }),
      /Expected `options.onDuplicate` to be left out with `options.dedupe`/,
    );
    await assert.rejects(scheduler.scheduleEvery('mail', 1000, { to: 'a' }, { dedupe: { key: 'k', ttlMs: 10 } } as never), /Unknown option `options.dedupe`/);
    await assert.rejects(scheduler.scheduleCron('mail', '* * * * *', { to: 'a' }, { dedupe: { key: 'k', ttlMs: 10 } } as never), /Unknown option `options.dedupe`/);
    assert.equal(scheduler.stats().scheduled, 0);
    // Nothing was opened by the refused calls.
    assert.equal((await scheduler.scheduleIn('mail', 10, { to: 'a' }, { dedupe: { key: 'k', ttlMs: 10 } })).dedupe, 'created');
    await scheduler.stop();
  });

  it('JsonFileStore keeps a window across a restart', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'godelayq-dedupe-'));
    try {
      const clock = new VirtualClock(T0);
      const first = new Scheduler<Jobs>({ store: new JsonFileStore(dir), clock });
      await first.start();
      const a = await first.scheduleIn('mail', 60_000, { to: 'a' }, { dedupe: { key: 'a', ttlMs: 30_000 } });
      const d = await first.scheduleIn('mail', 60_000, { to: 'd1' }, { dedupe: { key: 'd', ttlMs: 30_000, mode: 'debounce' } });
      await first.stop();
      await clock.advance(1000);
      const second = new Scheduler<Jobs>({ store: new JsonFileStore(dir), clock });
      await second.start();
      const again = await second.scheduleIn('mail', 5, { to: 'b' }, { dedupe: { key: 'a', ttlMs: 30_000 } });
      assert.deepEqual([again.dedupe, again.id], ['throttled', a.id]);
      const moved = await second.scheduleIn('mail', 5, { to: 'd2' }, { dedupe: { key: 'd', ttlMs: 30_000, mode: 'debounce' } });
      assert.deepEqual([moved.dedupe, moved.id, moved.payload, moved.runAt.getTime()], ['debounced', d.id, { to: 'd2' }, T0 + 1005]);
      await second.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a window is elapsed time: a step of the system clock moves it (back by an hour: not throttled for that hour; forward: still open), on MemoryStore and JsonFileStore', async () => {
    // A window's end is an instant on the job clock; left in place by a step back by an hour, a
    // 5 s window stayed open for that hour and every call returned the old, finished job.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'godelayq-dedupe-step-'));
    try {
      for (const store of [new MemoryStore(), new JsonFileStore(dir)]) {
        const clock = new VirtualClock(T0);
        const scheduler = new Scheduler<Jobs>({ store, clock });
        const ran: string[] = [];
        scheduler.register('mail', (job) => void ran.push(job.payload.to));
        await scheduler.start();
        const window = { key: 'u7', ttlMs: 5000 };
        const first = await scheduler.scheduleIn('mail', 0, { to: 'a' }, { dedupe: window });
        await clock.advance(10);
        // JsonFileStore writes on the real file system: let the run be recorded before the step.
        while ((await scheduler.get(first.id))?.state !== 'completed') await new Promise((resolve) => setTimeout(resolve, 2));
        await clock.set(clock.now() - 3_600_000);
        await clock.advance(2000);
        const inside = await scheduler.scheduleIn('mail', 0, { to: 'b' }, { dedupe: window });
        assert.deepEqual([inside.dedupe, inside.id], ['throttled', first.id], `${store.constructor.name}: 2 s after the window opened, it is open`);
        await clock.advance(3000);
        const after = await scheduler.scheduleIn('mail', 0, { to: 'c' }, { dedupe: window });
        assert.equal(after.dedupe, 'created', `${store.constructor.name}: 5 s after it opened (elapsed), the window is closed`);
        await clock.advance(1000);
        await clock.set(clock.now() + 3_600_000);
        const forward = await scheduler.scheduleIn('mail', 0, { to: 'd' }, { dedupe: window });
        assert.deepEqual([forward.dedupe, forward.id], ['throttled', after.id], `${store.constructor.name}: 1 s into the window, a step forward by an hour leaves it open`);
        await clock.advance(100);
        assert.deepEqual(ran, ['a', 'c']);
        await scheduler.stop();
      }
      // The moved window is what the files hold.
      const clock = new VirtualClock(T0 + 6210);
      const reopened = new Scheduler<Jobs>({ store: new JsonFileStore(dir), clock });
      await reopened.start();
      const kept = await reopened.scheduleIn('mail', 0, { to: 'e' }, { dedupe: { key: 'u7', ttlMs: 5000 } });
      assert.equal(kept.dedupe, 'throttled', 'reopened 1.2 s into the moved window: still open (unmoved, it closed an hour ago)');
      await reopened.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a job of an ended window that starts later does not take its key back from the newer window (simulation seed 261007850)', async () => {
    // Every put of a record with a window pointed the key at that record: the old job's start
    // (its running record) took the key back, and a call inside the newer window created a job.
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register('reindex', () => undefined);
    const old = await scheduler.scheduleIn('reindex', 5000, { doc: 1 }, { dedupe: { key: 'doc', ttlMs: 100 } });
    await clock.advance(200);
    const newer = await scheduler.scheduleIn('reindex', 3_600_000, { doc: 2 }, { dedupe: { key: 'doc', ttlMs: 3_600_000 } });
    assert.deepEqual([old.dedupe, newer.dedupe], ['created', 'created'], 'the first window had ended');
    await clock.advance(4800);
    assert.equal((await scheduler.get(old.id))?.state, 'completed', 'the old window’s job ran');
    const inside = await scheduler.scheduleIn('reindex', 0, { doc: 3 }, { dedupe: { key: 'doc', ttlMs: 3_600_000 } });
    assert.deepEqual([inside.dedupe, inside.id], ['throttled', newer.id]);
    await scheduler.stop();
  });

  it('a refused insert that would have opened a newer window leaves the key on the window before it (JsonFileStore, disk full)', async () => {
    // Undoing the refused insert deleted its record and, with it, the key's only pointer: the
    // window before it, still open, was forgotten, and the next call created a job.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'godelayq-dedupe-'));
    try {
      const clock = new VirtualClock(T0);
      const fs = new FaultyFs();
      const scheduler = new Scheduler<Jobs>({ store: new JsonFileStore(dir, { fs }), clock });
      let release = (): void => undefined;
      scheduler.register('reindex', () => new Promise<void>((resolve) => (release = resolve)));
      scheduler.on('error', () => undefined);
      await scheduler.start();
      const window = { key: 'doc', ttlMs: 10_000 };
      const first = await scheduler.scheduleIn('reindex', 0, { doc: 1 }, { dedupe: { ...window, mode: 'debounce' } });
      await clock.advance(0);
      assert.equal((await scheduler.get(first.id))?.state, 'running');
      fs.failAt(1, 'ENOSPC', { only: ['write'] });
      // Its window's job has started: a debounce call creates a job, which the full disk refuses.
      await assert.rejects(scheduler.scheduleIn('reindex', 0, { doc: 2 }, { dedupe: { ...window, mode: 'debounce' } }), StorePersistError);
      fs.heal();
      const inside = await scheduler.scheduleIn('reindex', 0, { doc: 3 }, { dedupe: window });
      assert.deepEqual([inside.dedupe, inside.id], ['throttled', first.id], 'the refused call changed nothing');
      release();
      await scheduler.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is refused (never ignored) by a store without dedupe; PostgresStore has it', async () => {
    class PlainStore extends MemoryStore {
      override readonly features = {};
    }
    const scheduler = new Scheduler<Jobs>({ store: new PlainStore(), clock: new VirtualClock(T0) });
    await scheduler.start();
    await assert.rejects(
      scheduler.scheduleIn('mail', 10, { to: 'a' }, { dedupe: { key: 'k', ttlMs: 10 } }),
      (error: unknown) => error instanceof UnsupportedOptionError && /`options.dedupe` only with a store that supports dedupe.*PlainStore/.test(error.message),
    );
    assert.equal(scheduler.stats().scheduled, 0);
    await scheduler.stop();
    const postgres: Store = new PostgresStore({ connectionString: 'postgres://localhost/none' });
    assert.equal(postgres.features?.dedupe, true);
  });
});
