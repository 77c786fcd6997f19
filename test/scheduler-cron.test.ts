import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory.js';
import { DuplicateJobError, ValidationError } from '../src/errors.js';
import { T0, record, virtualScheduler } from './helpers.js';

type Jobs = { tick: null; report: { format: 'pdf' | 'csv' } };
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const iso = (ms: number): string => new Date(ms).toISOString();

/** Registers `tick` recording each run's slot (job.runAt) and the time it started. */
function recordRuns(scheduler: Scheduler<Jobs>, clock: VirtualClock): { slot: string; at: string }[] {
  const runs: { slot: string; at: string }[] = [];
  scheduler.register('tick', (job) => {
    runs.push({ slot: iso(job.runAt.getTime()), at: iso(clock.now()) });
  });
  return runs;
}

describe('scheduleCron: slots', () => {
  it('every 5 s for a minute (6 fields): 12 runs, each at its slot', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const runs = recordRuns(scheduler, clock);
    await scheduler.scheduleCron('tick', '*/5 * * * * *', null);
    await clock.advance(60 * S);
    const expected = Array.from({ length: 12 }, (_, i) => iso(T0 + (i + 1) * 5 * S));
    assert.deepEqual(runs.map((r) => r.slot), expected);
    assert.deepEqual(runs.map((r) => r.at), expected);
    await scheduler.stop();
  });

  it('weekdays 09:00 in Asia/Shanghai across a week', async () => {
    // 2027-01-01 is a Friday; 09:00 in Shanghai (UTC+8) is 01:00Z.
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const runs = recordRuns(scheduler, clock);
    const info = await scheduler.scheduleCron('tick', '0 9 * * 1-5', null, { tz: 'Asia/Shanghai' });
    assert.equal(info.cron?.tz, 'Asia/Shanghai');
    assert.equal(info.cron?.nextRunAt?.toISOString(), '2027-01-01T01:00:00.000Z');
    await clock.advance(7 * D);
    assert.deepEqual(runs.map((r) => r.slot), [
      '2027-01-01T01:00:00.000Z',
      '2027-01-04T01:00:00.000Z',
      '2027-01-05T01:00:00.000Z',
      '2027-01-06T01:00:00.000Z',
      '2027-01-07T01:00:00.000Z',
    ]);
    await scheduler.stop();
  });

  it('defaults to UTC; @daily names work', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const runs = recordRuns(scheduler, clock);
    await scheduler.scheduleCron('tick', '@daily', null);
    await clock.advance(3 * D);
    assert.deepEqual(runs.map((r) => r.slot), [iso(T0 + D), iso(T0 + 2 * D), iso(T0 + 3 * D)]);
    await scheduler.stop();
  });

  it('limit and endAt end the schedule (state completed)', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const runs = recordRuns(scheduler, clock);
    const a = await scheduler.scheduleCron('tick', '0 * * * *', null, { id: 'limited', limit: 3 });
    await clock.advance(10 * H);
    assert.equal(runs.length, 3);
    assert.equal((await scheduler.get(a.id))?.state, 'completed');
    runs.length = 0;
    const b = await scheduler.scheduleCron('tick', '0 * * * *', null, { id: 'ends', endAt: clock.now() + 2 * H + 30 * M });
    await clock.advance(10 * H);
    assert.deepEqual(runs.map((r) => r.slot), [iso(T0 + 11 * H), iso(T0 + 12 * H)]);
    assert.equal((await scheduler.get(b.id))?.state, 'completed');
    await scheduler.stop();
  });

  it('rejects invalid, never-firing and bad-tz schedules with ValidationError naming the expression', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    await assert.rejects(scheduler.scheduleCron('tick', 'not a cron', null), (e: unknown) => e instanceof ValidationError && e.message.includes('not a cron'));
    await assert.rejects(scheduler.scheduleCron('tick', '0 0 30 2 *', null), (e: unknown) => e instanceof ValidationError && e.message.includes('0 0 30 2 *'));
    await assert.rejects(scheduler.scheduleCron('tick', '0 9 * * *', null, { tz: 'Mars/Olympus' }), ValidationError);
    await assert.rejects(scheduler.scheduleEvery('tick', 0, null), ValidationError);
    await assert.rejects(scheduler.scheduleCron('tick', '0 9 * * *', null, { misfire: 'sometimes' as 'once' }), ValidationError);
    assert.equal((await scheduler.list()).length, 0);
    await scheduler.stop();
  });
});

describe('scheduleCron: DST', () => {
  it('America/New_York daily 02:30: spring-forward day runs at most once, fall-back day exactly once', async () => {
    // 2027-03-14 02:00 EST -> 03:00 EDT; 2027-11-07 02:00 EDT -> 01:00 EST.
    const start = Date.UTC(2027, 2, 12, 12);
    const { scheduler, clock } = await virtualScheduler<Jobs>({}, start);
    const runs = recordRuns(scheduler, clock);
    await scheduler.scheduleCron('tick', '30 2 * * *', null, { tz: 'America/New_York' });
    await clock.advance(4 * D);
    const spring = runs.map((r) => r.slot);
    assert.equal(spring[0], '2027-03-13T07:30:00.000Z');
    assert.equal(spring[spring.length - 1], '2027-03-16T06:30:00.000Z');
    const onTheDay = spring.filter((s) => s.startsWith('2027-03-14'));
    assert.ok(onTheDay.length <= 1, `spring-forward day ran ${onTheDay.length} times`);
    assert.equal(new Set(spring).size, spring.length, 'no slot twice');
    await clock.set(Date.UTC(2027, 10, 5, 12));
    runs.length = 0;
    await clock.advance(3 * D);
    // 02:30 exists once on 2027-11-07 (after the fall-back, EST).
    assert.deepEqual(runs.map((r) => r.slot).filter((s) => s >= '2027-11-06'), [
      '2027-11-06T06:30:00.000Z',
      '2027-11-07T07:30:00.000Z',
      '2027-11-08T07:30:00.000Z',
    ]);
    await scheduler.stop();
  });

  it('America/New_York 01:30 on the fall-back day (01:30 happens twice) runs once', async () => {
    const start = Date.UTC(2027, 10, 6, 12);
    const { scheduler, clock } = await virtualScheduler<Jobs>({}, start);
    const runs = recordRuns(scheduler, clock);
    await scheduler.scheduleCron('tick', '0 30 1 * * *', null, { tz: 'America/New_York' });
    await clock.advance(2 * D);
    const slots = runs.map((r) => r.slot);
    const nov7 = slots.filter((s) => s === '2027-11-07T05:30:00.000Z' || s === '2027-11-07T06:30:00.000Z');
    assert.equal(nov7.length, 1, `ran ${nov7.length} times on the repeated hour: ${slots.join(', ')}`);
    assert.ok(slots.includes('2027-11-08T06:30:00.000Z'));
    await scheduler.stop();
  });

  it('Europe/London: daily 01:30 across both transitions, never twice', async () => {
    // 2027-03-28 01:00 GMT -> 02:00 BST; 2027-10-31 02:00 BST -> 01:00 GMT.
    const { scheduler, clock } = await virtualScheduler<Jobs>({}, Date.UTC(2027, 2, 26, 12));
    const runs = recordRuns(scheduler, clock);
    await scheduler.scheduleCron('tick', '30 1 * * *', null, { tz: 'Europe/London' });
    await clock.advance(4 * D);
    const spring = runs.map((r) => r.slot);
    assert.equal(spring[0], '2027-03-27T01:30:00.000Z');
    assert.ok(spring.includes('2027-03-29T00:30:00.000Z'));
    assert.ok(spring.filter((s) => s.startsWith('2027-03-28')).length <= 1);
    await clock.set(Date.UTC(2027, 9, 29, 12));
    runs.length = 0;
    await clock.advance(3 * D);
    const autumn = runs.map((r) => r.slot);
    const oct31 = autumn.filter((s) => s === '2027-10-31T00:30:00.000Z' || s === '2027-10-31T01:30:00.000Z');
    assert.equal(oct31.length, 1, autumn.join(', '));
    await scheduler.stop();
  });
});

describe('scheduleEvery / scheduleCron: what a bad interval or zone is reported as', () => {
  it('scheduleEvery(1.5) and scheduleEvery(2 ** 53) name the interval, not the anchor derived from it', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    for (const every of [1.5, 2 ** 53]) {
      await assert.rejects(
        scheduler.scheduleEvery('tick', every, null),
        (e: unknown) => e instanceof ValidationError && e.message.startsWith('Expected `interval`') && !/anchor/.test(e.message),
        String(every),
      );
    }
    await assert.rejects(
      scheduler.scheduleCron('tick', '0 9 * * *', null, { tz: 'EST' }),
      (e: unknown) => e instanceof ValidationError && e.message.includes("'America/New_York'"),
    );
    assert.equal((await scheduler.list()).length, 0);
    await scheduler.stop();
  });
});

describe('scheduleCron: DST, interval expressions follow elapsed time (cronie)', () => {
  it('New York fall back 2027-11-07: `*/5` runs every 5 minutes through the repeated hour, `0 *` runs both 01:00', async () => {
    // 02:00 EDT = 06:00Z -> 01:00 EST. 05:00Z = 01:00 EDT, 06:00Z = 01:00 EST, 07:00Z = 02:00 EST.
    const { scheduler, clock } = await virtualScheduler<Jobs>({}, Date.UTC(2027, 10, 7, 4, 58));
    const runs = recordRuns(scheduler, clock);
    await scheduler.scheduleCron('tick', '*/5 * * * *', null, { tz: 'America/New_York' });
    await scheduler.scheduleCron('report', '0 * * * *', { format: 'pdf' }, { tz: 'America/New_York' });
    const hourly: string[] = [];
    scheduler.register('report', (job) => {
      hourly.push(iso(job.runAt.getTime()));
    });
    await clock.advance(2 * H + 2 * M);
    const expected = Array.from({ length: 25 }, (_, i) => iso(Date.UTC(2027, 10, 7, 5) + i * 5 * M));
    assert.deepEqual(runs.map((r) => r.slot), expected);
    assert.deepEqual(runs.map((r) => r.at), expected, 'each ran at its slot');
    assert.deepEqual(hourly, ['2027-11-07T05:00:00.000Z', '2027-11-07T06:00:00.000Z', '2027-11-07T07:00:00.000Z']);
    await scheduler.stop();
  });

  it('New York spring forward 2027-03-14: `30 *` runs at 01:30 EST then 03:30 EDT', async () => {
    // 02:00 EST = 07:00Z -> 03:00 EDT; 02:30 does not exist.
    const { scheduler, clock } = await virtualScheduler<Jobs>({}, Date.UTC(2027, 2, 14, 6));
    const runs = recordRuns(scheduler, clock);
    await scheduler.scheduleCron('tick', '30 * * * *', null, { tz: 'America/New_York' });
    await clock.advance(2 * H);
    assert.deepEqual(runs.map((r) => r.slot), ['2027-03-14T06:30:00.000Z', '2027-03-14T07:30:00.000Z']);
    await scheduler.stop();
  });

  it('Lord Howe spring forward 2027-10-03: `0 *` never runs twice 30 minutes apart', async () => {
    // 02:00 +10:30 = 15:30Z (10-02) -> 02:30 +11. 01:00 = 14:30Z, 02:00 does not exist, 03:00 = 16:00Z.
    const { scheduler, clock } = await virtualScheduler<Jobs>({}, Date.UTC(2027, 9, 2, 14));
    const runs = recordRuns(scheduler, clock);
    await scheduler.scheduleCron('tick', '0 * * * *', null, { tz: 'Australia/Lord_Howe' });
    await clock.advance(3 * H);
    assert.deepEqual(runs.map((r) => r.slot), ['2027-10-02T14:30:00.000Z', '2027-10-02T16:00:00.000Z', '2027-10-02T17:00:00.000Z']);
    await scheduler.stop();
  });
});

describe('scheduleCron: misfire after 3 h of downtime', () => {
  async function downtime(misfire: 'once' | 'skip' | 'all'): Promise<{ runs: { slot: string; at: string }[]; missed: number[] }> {
    const clock = new VirtualClock(T0);
    const store = new MemoryStore();
    const first = new Scheduler<Jobs>({ clock, store });
    await first.start();
    await first.scheduleCron('tick', '*/5 * * * *', null, { id: 'five', misfire });
    await clock.advance(1 * M);
    await first.stop();
    await clock.advance(3 * H); // stopped: nothing fires
    const second = new Scheduler<Jobs>({ clock, store });
    const runs = recordRuns(second, clock);
    const missed: number[] = [];
    second.on('misfired', (e) => missed.push(e.missed));
    await second.start();
    // Declaring the same schedule again at start-up keeps the existing one.
    await second.scheduleCron('tick', '*/5 * * * *', null, { id: 'five', misfire });
    await clock.advance(9 * M); // until T0 + 3h10m
    await second.stop();
    return { runs, missed };
  }

  it("'once' runs one catch-up (the latest missed slot) then continues", async () => {
    const { runs, missed } = await downtime('once');
    assert.deepEqual(runs, [
      { slot: iso(T0 + 3 * H), at: iso(T0 + 3 * H + M) },
      { slot: iso(T0 + 3 * H + 5 * M), at: iso(T0 + 3 * H + 5 * M) },
      { slot: iso(T0 + 3 * H + 10 * M), at: iso(T0 + 3 * H + 10 * M) },
    ]);
    assert.deepEqual(missed, [35]);
  });

  it("'skip' runs none of the missed slots", async () => {
    const { runs, missed } = await downtime('skip');
    assert.deepEqual(runs.map((r) => r.slot), [iso(T0 + 3 * H + 5 * M), iso(T0 + 3 * H + 10 * M)]);
    assert.deepEqual(missed, [36]);
  });

  it("'all' runs every missed slot in order, then continues", async () => {
    const { runs, missed } = await downtime('all');
    const expected = Array.from({ length: 36 }, (_, i) => iso(T0 + (i + 1) * 5 * M));
    assert.deepEqual(runs.slice(0, 36).map((r) => r.slot), expected);
    assert.ok(runs.slice(0, 36).every((r) => r.at === iso(T0 + 3 * H + M)), 'catch-up runs happen at restart');
    assert.deepEqual(runs.slice(36).map((r) => r.slot), [iso(T0 + 3 * H + 5 * M), iso(T0 + 3 * H + 10 * M)]);
    assert.deepEqual(missed, []);
  });
});

describe('scheduleCron: overlap, failures, clock jumps', () => {
  it('occurrences never overlap; a slot missed while the previous run is still going is a misfire', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    let running = 0;
    let maxRunning = 0;
    const slots: string[] = [];
    const log = record(scheduler, clock, ['misfired']);
    scheduler.register('tick', async (job) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      slots.push(iso(job.runAt.getTime()));
      await new Promise<void>((resolve) => clock.setTimer(clock.now() + 2500, resolve));
      running--;
    });
    await scheduler.scheduleCron('tick', '* * * * * *', null);
    await clock.advance(10 * S);
    assert.equal(maxRunning, 1);
    // Runs at 1 s (ends 3.5 s): slot 2 s is missed (3 s is due), the latest (3 s) runs at 3.5 s, and so on.
    assert.deepEqual(slots, [iso(T0 + 1 * S), iso(T0 + 3 * S), iso(T0 + 6 * S), iso(T0 + 8 * S)]);
    assert.deepEqual(log.map((e) => (e.payload as { missed: number }).missed), [1, 2, 1]);
    await scheduler.stop({ timeout: 0 });
  });

  it('a failed occurrence retries with backoff keeping its slot; a dead one does not end the schedule', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log = record(scheduler, clock, ['failed', 'dead', 'completed']);
    const attempts: { slot: string; at: string; attempt: number }[] = [];
    scheduler.register(
      'tick',
      (job) => {
        attempts.push({ slot: iso(job.runAt.getTime()), at: iso(clock.now()), attempt: job.attempt });
        throw new Error('boom');
      },
      { retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 10 * S } } },
    );
    const info = await scheduler.scheduleCron('tick', '0 * * * *', null);
    await clock.advance(2 * H + 10 * S);
    assert.deepEqual(attempts, [
      { slot: iso(T0 + H), at: iso(T0 + H), attempt: 1 },
      { slot: iso(T0 + H), at: iso(T0 + H + 10 * S), attempt: 2 },
      { slot: iso(T0 + 2 * H), at: iso(T0 + 2 * H), attempt: 1 },
      { slot: iso(T0 + 2 * H), at: iso(T0 + 2 * H + 10 * S), attempt: 2 },
    ]);
    assert.deepEqual(log.map((e) => e.type), ['failed', 'failed', 'dead', 'failed', 'failed', 'dead']);
    const job = await scheduler.get(info.id);
    assert.equal(job?.state, 'scheduled');
    assert.equal(job?.id, info.id);
    assert.equal(job?.cron?.nextRunAt?.toISOString(), iso(T0 + 3 * H));
    await scheduler.stop();
  });

  it('a backwards clock jump after a run does not run that slot again', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const runs = recordRuns(scheduler, clock);
    await scheduler.scheduleCron('tick', '0 * * * *', null);
    await clock.advance(H);
    assert.equal(runs.length, 1);
    await clock.set(clock.now() - H + 1); // back to just after T0
    await clock.advance(H);
    assert.equal(runs.length, 1, 'slot T0+1h must not run twice');
    await clock.advance(H);
    assert.deepEqual(runs.map((r) => r.slot), [iso(T0 + H), iso(T0 + 2 * H)]);
    await scheduler.stop();
  });

  it("a forward jump of 3 h runs what the misfire policy says ('once': one run, 2 missed)", async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const runs = recordRuns(scheduler, clock);
    const missed: number[] = [];
    scheduler.on('misfired', (e) => missed.push(e.missed));
    await scheduler.scheduleCron('tick', '0 * * * *', null);
    await clock.set(T0 + 3 * H + 30 * M);
    assert.deepEqual(runs.map((r) => r.slot), [iso(T0 + 3 * H)]);
    assert.deepEqual(missed, [2]);
    await scheduler.stop();
  });
});

describe('scheduleCron / scheduleEvery: one id, cancel, reschedule, re-declare', () => {
  it('re-declaring the same schedule keeps it; another expression under the same id is rejected', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const a = await scheduler.scheduleCron('report', '0 9 * * *', { format: 'pdf' });
    const b = await scheduler.scheduleCron('report', '0 9 * * *', { format: 'pdf' });
    assert.equal(a.id, b.id);
    assert.equal((await scheduler.list()).length, 1);
    await assert.rejects(scheduler.scheduleCron('report', '0 10 * * *', { format: 'pdf' }, { id: a.id }), DuplicateJobError);
    const replaced = await scheduler.scheduleCron('report', '0 10 * * *', { format: 'pdf' }, { id: a.id, onDuplicate: 'replace' });
    assert.equal(replaced.cron?.expression, '0 10 * * *');
    await scheduler.stop();
  });

  it('a re-declaration that changes any option is another schedule (DuplicateJobError); the same declaration is kept', async () => {
    // What a deploy that edits a schedule's options sees at start-up: never the old options kept silently.
    const { scheduler } = await virtualScheduler<Jobs>();
    scheduler.register('tick', () => undefined);
    const cronBase = { id: 'c', limit: 5, misfire: 'all', misfireGraceMs: 1000, retry: { maxRetries: 2, backoff: { type: 'fixed', delay: 1000 } }, timeout: 5000, priority: 1, removeOnComplete: true, startAt: T0 + H, endAt: T0 + 30 * D } as const;
    const everyBase = { ...cronBase, id: 'e' };
    await scheduler.scheduleCron('tick', '0 9 * * *', null, { ...cronBase, tz: 'Europe/Paris' });
    await scheduler.scheduleEvery('tick', 10 * M, null, everyBase);
    // The same declarations again: kept, one job each.
    assert.equal((await scheduler.scheduleCron('tick', '0 9 * * *', null, { ...cronBase, tz: 'Europe/Paris' })).id, 'c');
    assert.equal((await scheduler.scheduleEvery('tick', 10 * M, null, everyBase)).id, 'e');
    const changes: [string, Record<string, unknown>][] = [
      ['limit', { limit: 6 }],
      ['no limit', { limit: undefined }],
      ['misfire', { misfire: 'once' }],
      ['misfireGraceMs', { misfireGraceMs: 2000 }],
      ['retry', { retry: { maxRetries: 2, backoff: { type: 'fixed', delay: 2000 } } }],
      ['timeout', { timeout: 6000 }],
      ['priority', { priority: 2 }],
      ['removeOnComplete', { removeOnComplete: false }],
      ['removeOnFail', { removeOnFail: true }],
      ['startAt', { startAt: T0 + 2 * H }],
      ['endAt', { endAt: T0 + 31 * D }],
      ['group', { group: 'g' }],
    ];
    for (const [label, change] of changes) {
      await assert.rejects(scheduler.scheduleCron('tick', '0 9 * * *', null, { ...cronBase, tz: 'Europe/Paris', ...change } as never), DuplicateJobError, `cron, ${label}`);
      await assert.rejects(scheduler.scheduleEvery('tick', 10 * M, null, { ...everyBase, ...change } as never), DuplicateJobError, `every, ${label}`);
    }
    await assert.rejects(scheduler.scheduleCron('tick', '0 9 * * *', null, { ...cronBase, tz: 'Europe/Berlin' }), DuplicateJobError, 'cron, tz');
    await assert.rejects(scheduler.scheduleEvery('tick', 11 * M, null, everyBase), DuplicateJobError, 'every, interval');
    const kept = await scheduler.get('c');
    assert.deepEqual([kept?.cron?.expression, kept?.cron?.tz, kept?.priority], ['0 9 * * *', 'Europe/Paris', 1]);
    assert.equal((await scheduler.list()).length, 2);
    await scheduler.stop();
  });

  it('default ids: one per declaration, told apart by expression, interval, time zone and payload, the same at every start-up', async () => {
    const declare = async (scheduler: Scheduler<Jobs>): Promise<string[]> => [
      (await scheduler.scheduleCron('report', '0 9 * * *', { format: 'pdf' })).id,
      (await scheduler.scheduleCron('report', '0 10 * * *', { format: 'pdf' })).id,
      (await scheduler.scheduleCron('report', '0 9 * * *', { format: 'pdf' }, { tz: 'Asia/Tokyo' })).id,
      (await scheduler.scheduleCron('report', '0 9 * * *', { format: 'csv' })).id,
      (await scheduler.scheduleEvery('report', H, { format: 'pdf' })).id,
      (await scheduler.scheduleEvery('report', 2 * H, { format: 'pdf' })).id,
    ];
    const first = await virtualScheduler<Jobs>();
    const ids = await declare(first.scheduler);
    assert.equal(new Set(ids).size, ids.length, ids.join(', '));
    assert.equal((await first.scheduler.list()).length, ids.length);
    await first.scheduler.stop();
    // Another process (or a restart) declaring the same schedules gets the same ids.
    const second = await virtualScheduler<Jobs>();
    assert.deepEqual(await declare(second.scheduler), ids);
    await second.scheduler.stop();
  });

  it('cancel ends a schedule; reschedule moves its next slot; get shows cron.nextRunAt', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const runs = recordRuns(scheduler, clock);
    const info = await scheduler.scheduleCron('tick', '0 * * * *', null);
    assert.equal((await scheduler.get(info.id))?.cron?.nextRunAt?.toISOString(), iso(T0 + H));
    await scheduler.reschedule(info.id, T0 + 30 * M);
    await clock.advance(H + 1);
    assert.deepEqual(runs.map((r) => r.slot), [iso(T0 + 30 * M), iso(T0 + H)]);
    assert.equal(await scheduler.cancel(info.id), true);
    await clock.advance(5 * H);
    assert.equal(runs.length, 2);
    await scheduler.stop();
  });

  // Simulation finding (seed 195011763): an occurrence moved to before a slot that
  // already ran brought that slot back (as a misfire catch-up, or as the slot after
  // the moved one). A slot that finished never runs again.
  it('an every occurrence moved to before the slot that last ran: the moved one runs, then the slot after the last one, never the finished slot again', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const runs = recordRuns(scheduler, clock);
    const misfired: unknown[] = [];
    scheduler.on('misfired', (e) => misfired.push(e));
    const info = await scheduler.scheduleEvery('tick', 5 * M, null, { startAt: T0 + 5 * M });
    await clock.advance(5 * M + 2 * S);
    assert.deepEqual(runs.map((r) => r.slot), [iso(T0 + 5 * M)]);
    // Next occurrence T0+10m, moved to 30 s before the slot that ran at T0+5m.
    await scheduler.reschedule(info.id, T0 + 5 * M - 30 * S);
    await clock.advance(10 * M);
    assert.deepEqual(
      runs.map((r) => r.slot),
      [iso(T0 + 5 * M), iso(T0 + 5 * M - 30 * S), iso(T0 + 10 * M), iso(T0 + 15 * M)],
    );
    assert.deepEqual(misfired, [], 'nothing was missed');
    await scheduler.stop();
  });

  it('a cron occurrence moved to before the slot that last ran: the moved one runs, then the slot after the last one', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const runs = recordRuns(scheduler, clock);
    const info = await scheduler.scheduleCron('tick', '*/5 * * * *', null);
    await clock.advance(5 * M + 2 * S);
    assert.deepEqual(runs.map((r) => r.slot), [iso(T0 + 5 * M)]);
    await scheduler.reschedule(info.id, T0 + 5 * M - 30 * S);
    await clock.advance(10 * M);
    assert.deepEqual(
      runs.map((r) => r.slot),
      [iso(T0 + 5 * M), iso(T0 + 5 * M - 30 * S), iso(T0 + 10 * M), iso(T0 + 15 * M)],
    );
    await scheduler.stop();
  });

  it('scheduleEvery: fixed interval from the start, not from completion; startAt aligns slots', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const slots: number[] = [];
    scheduler.register('tick', async (job) => {
      slots.push(job.runAt.getTime() - T0);
      await new Promise<void>((resolve) => clock.setTimer(clock.now() + 300, resolve));
    });
    await scheduler.scheduleEvery('tick', S, null, { startAt: T0 + 500 });
    await clock.advance(4 * S);
    assert.deepEqual(slots, [500, 1500, 2500, 3500]);
    await scheduler.stop({ timeout: 0 });
  });

  it('runAll() runs one-off work but does not spin on schedules', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const runs = recordRuns(scheduler, clock);
    await scheduler.scheduleCron('tick', '* * * * *', null);
    await scheduler.scheduleIn('tick', 10 * M, null);
    await clock.runAll();
    assert.ok(clock.now() >= T0 + 10 * M && clock.now() < T0 + 11 * M);
    assert.ok(runs.length >= 10 && runs.length <= 11);
    await scheduler.stop();
  });
});
