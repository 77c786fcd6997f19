/**
 * Concurrency limits (global and per handler), priority, FIFO among equals,
 * pause()/resume(). Handlers "work" by waiting on the VirtualClock.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { VirtualClock } from '../src/clock.js';
import { T0, virtualScheduler } from './helpers.js';

type Jobs = {
  a: { n: number };
  b: { n: number };
  work: { id: string; ms?: number };
};

/** Waits `ms` on the virtual clock. */
const sleep = (clock: VirtualClock, ms: number): Promise<void> => new Promise((resolve) => clock.setTimer(clock.now() + ms, resolve));

/**
 * A scheduler on a VirtualClock whose timers are watched: re-arming a timer
 * for an instant already past, over and over at one instant, is a busy loop
 * (on the system clock it burns CPU; on a VirtualClock `advance` never
 * returns). Past `limit` such timers at one instant the guard drops them,
 * so a test fails on `spun` instead of hanging.
 */
async function setup(options: Parameters<typeof virtualScheduler>[0] = {}, limit = 10_000) {
  const { scheduler, clock } = await virtualScheduler<Jobs>(options);
  const setTimer = clock.setTimer.bind(clock);
  const guard = { spun: false, pastTimers: 0 };
  let instant = Number.NaN;
  let atInstant = 0;
  clock.setTimer = (at, fn) => {
    if (at <= clock.now()) {
      guard.pastTimers++;
      if (clock.now() === instant) atInstant++;
      else {
        instant = clock.now();
        atInstant = 1;
      }
      if (atInstant > limit) {
        guard.spun = true;
        return { clear: () => undefined };
      }
    }
    return setTimer(at, fn);
  };
  return { scheduler, clock, guard };
}

/** Counts handlers running at once, as seen from inside them. */
class Gauge {
  running = 0;
  max = 0;
  enter(): void {
    this.running++;
    this.max = Math.max(this.max, this.running);
  }
  leave(): void {
    this.running--;
  }
}

describe('global concurrency', () => {
  it('never more than `concurrency` handlers at once; the rest start as slots free up', async () => {
    const { scheduler, clock } = await setup({ concurrency: 3 });
    const gauge = new Gauge();
    const started: number[] = [];
    scheduler.register('a', async () => {
      gauge.enter();
      started.push(clock.now() - T0);
      await sleep(clock, 100);
      gauge.leave();
    });
    for (let i = 0; i < 10; i++) await scheduler.scheduleIn('a', 0, { n: i });
    await clock.advance(50);
    assert.equal(gauge.running, 3);
    assert.equal(scheduler.stats().running, 3);
    assert.equal(scheduler.stats().scheduled, 7);
    await clock.advance(1000);
    assert.deepEqual(started, [0, 0, 0, 100, 100, 100, 200, 200, 200, 300]);
    assert.equal(gauge.max, 3);
    assert.equal(scheduler.stats().completed, 10);
    await scheduler.stop();
  });

  it('holds with uneven durations, failures and retries mixed in', async () => {
    const { scheduler, clock } = await setup({ concurrency: 4, retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 7 } } });
    const gauge = new Gauge();
    let completed = 0;
    let dead = 0;
    scheduler.on('completed', () => completed++);
    scheduler.on('dead', () => dead++);
    scheduler.register('a', async (job) => {
      gauge.enter();
      try {
        await sleep(clock, ((job.payload.n * 37) % 90) + 1);
        if (job.payload.n % 5 === 0) throw new Error('fails every time');
      } finally {
        gauge.leave();
      }
    });
    for (let i = 0; i < 60; i++) await scheduler.scheduleIn('a', (i * 13) % 50, { n: i });
    await clock.advance(100_000);
    assert.equal(gauge.max, 4);
    assert.equal(gauge.running, 0);
    assert.equal(completed, 48);
    assert.equal(dead, 12);
    await scheduler.stop();
  });

  it('a slot freed by a completing job is used at that instant by a job already due', async () => {
    const { scheduler, clock } = await setup({ concurrency: 1 });
    const started: [number, number][] = [];
    scheduler.register('a', async (job) => {
      started.push([job.payload.n, clock.now() - T0]);
      await sleep(clock, 250);
    });
    await scheduler.scheduleIn('a', 0, { n: 1 });
    await scheduler.scheduleIn('a', 10, { n: 2 });
    await scheduler.scheduleIn('a', 600, { n: 3 });
    await clock.advance(2000);
    assert.deepEqual(started, [
      [1, 0],
      [2, 250],
      [3, 600],
    ]);
    const done = (await scheduler.list({ state: 'completed' })).length;
    assert.equal(done, 3);
    await scheduler.stop();
  });
});

describe('saturation', () => {
  it('a job falling due while every slot is busy waits for a free slot without re-arming the timer in a loop', async () => {
    const { scheduler, clock, guard } = await setup({ concurrency: 1 }, 1000);
    const started: [number, number][] = [];
    scheduler.register('a', async (job) => {
      started.push([job.payload.n, clock.now() - T0]);
      await sleep(clock, 100);
    });
    await scheduler.scheduleIn('a', 0, { n: 1 });
    await scheduler.scheduleIn('a', 10, { n: 2 });
    await clock.advance(1000);
    assert.equal(guard.spun, false, `the scheduler re-armed its timer for a past instant ${guard.pastTimers} times while saturated`);
    assert.ok(guard.pastTimers < 20, `${guard.pastTimers} timers armed for a past instant`);
    assert.deepEqual(started, [
      [1, 0],
      [2, 100],
    ]);
    await scheduler.stop();
  });
});

describe('per-handler concurrency', () => {
  it('limits each name separately, within the global limit', async () => {
    const { scheduler, clock } = await setup({ concurrency: 10 });
    const gauges = { a: new Gauge(), b: new Gauge() };
    const started: Record<'a' | 'b', number[]> = { a: [], b: [] };
    for (const [name, limit] of [
      ['a', 1],
      ['b', 2],
    ] as const) {
      scheduler.register(
        name,
        async () => {
          gauges[name].enter();
          started[name].push(clock.now() - T0);
          await sleep(clock, 100);
          gauges[name].leave();
        },
        { concurrency: limit },
      );
    }
    for (let i = 0; i < 4; i++) {
      await scheduler.scheduleIn('a', 0, { n: i });
      await scheduler.scheduleIn('b', 0, { n: i });
    }
    await clock.advance(1000);
    assert.deepEqual(started.a, [0, 100, 200, 300]);
    assert.deepEqual(started.b, [0, 0, 100, 100]);
    assert.equal(gauges.a.max, 1);
    assert.equal(gauges.b.max, 2);
    await scheduler.stop();
  });

  it('a per-handler limit above the global one is bounded by the global one', async () => {
    const { scheduler, clock } = await setup({ concurrency: 2 });
    const gauge = new Gauge();
    scheduler.register(
      'a',
      async () => {
        gauge.enter();
        await sleep(clock, 100);
        gauge.leave();
      },
      { concurrency: 5 },
    );
    for (let i = 0; i < 8; i++) await scheduler.scheduleIn('a', 0, { n: i });
    await clock.advance(1000);
    assert.equal(gauge.max, 2);
    assert.equal(scheduler.stats().completed, 8);
    await scheduler.stop();
  });

  it('a name at its own limit does not block other names that are due', async () => {
    const { scheduler, clock } = await setup({ concurrency: 3 });
    const started: [string, number][] = [];
    scheduler.register(
      'a',
      async (job) => {
        started.push([`a${job.payload.n}`, clock.now() - T0]);
        await sleep(clock, 100);
      },
      { concurrency: 1 },
    );
    scheduler.register('b', async (job) => {
      started.push([`b${job.payload.n}`, clock.now() - T0]);
      await sleep(clock, 100);
    });
    for (let i = 0; i < 3; i++) await scheduler.scheduleIn('a', 0, { n: i });
    for (let i = 0; i < 2; i++) await scheduler.scheduleIn('b', 10, { n: i });
    await clock.advance(1000);
    assert.deepEqual(started, [
      ['a0', 0],
      ['b0', 10],
      ['b1', 10],
      ['a1', 100],
      ['a2', 200],
    ]);
    await scheduler.stop();
  });
});

describe('priority and FIFO', () => {
  it('among jobs due at the same moment, higher priority runs first; equal priority in scheduling order', async () => {
    const { scheduler, clock } = await setup({ concurrency: 1 });
    const order: string[] = [];
    scheduler.register('work', async (job) => {
      order.push(job.payload.id);
      await sleep(clock, 10);
    });
    const jobs: [string, number][] = [
      ['p0', 0],
      ['p5a', 5],
      ['p1', 1],
      ['p5b', 5],
      ['pneg', -1],
      ['p0b', 0],
      ['p1.5', 1.5],
    ];
    for (const [id, priority] of jobs) await scheduler.scheduleIn('work', 100, { id }, { priority });
    await clock.advance(1000);
    assert.deepEqual(order, ['p5a', 'p5b', 'p1.5', 'p1', 'p0', 'p0b', 'pneg']);
    await scheduler.stop();
  });

  it('among jobs waiting for a slot, higher priority runs first, then earlier runAt, then first scheduled', async () => {
    const { scheduler, clock } = await setup({ concurrency: 1 });
    const order: [string, number][] = [];
    scheduler.register('work', async (job) => {
      order.push([job.payload.id, clock.now() - T0]);
      await sleep(clock, job.payload.ms ?? 10);
    });
    await scheduler.scheduleIn('work', 0, { id: 'blocker', ms: 1000 });
    await scheduler.scheduleIn('work', 100, { id: 'early' });
    await scheduler.scheduleIn('work', 200, { id: 'mid' });
    await scheduler.scheduleIn('work', 300, { id: 'late-high' }, { priority: 10 });
    await scheduler.scheduleIn('work', 400, { id: 'latest-low' }, { priority: -5 });
    await scheduler.scheduleIn('work', 250, { id: 'mid-high' }, { priority: 10 });
    await scheduler.scheduleIn('work', 200, { id: 'mid-2' });
    await scheduler.scheduleIn('work', 5000, { id: 'future-high' }, { priority: 100 });
    await clock.advance(10_000);
    assert.deepEqual(order, [
      ['blocker', 0],
      ['mid-high', 1000],
      ['late-high', 1010],
      ['early', 1020],
      ['mid', 1030],
      ['mid-2', 1040],
      ['latest-low', 1050],
      ['future-high', 5000],
    ]);
    await scheduler.stop();
  });

  it('priority also orders jobs waiting on a per-handler limit', async () => {
    const { scheduler, clock } = await setup({ concurrency: 10 });
    const order: string[] = [];
    scheduler.register(
      'work',
      async (job) => {
        order.push(job.payload.id);
        await sleep(clock, 100);
      },
      { concurrency: 1 },
    );
    await scheduler.scheduleIn('work', 0, { id: 'first' });
    await scheduler.scheduleIn('work', 10, { id: 'low' }, { priority: -1 });
    await scheduler.scheduleIn('work', 20, { id: 'normal' });
    await scheduler.scheduleIn('work', 30, { id: 'high' }, { priority: 3 });
    await clock.advance(1000);
    assert.deepEqual(order, ['first', 'high', 'normal', 'low']);
    await scheduler.stop();
  });

  it('FIFO among equal runAt and priority: scheduleIn order, scheduleAt order, scheduleMany array order', async () => {
    const { scheduler, clock } = await setup({ concurrency: 1 });
    const order: string[] = [];
    scheduler.register('work', async (job) => {
      order.push(job.payload.id);
      await sleep(clock, 1);
    });
    const expected: string[] = [];
    for (let i = 0; i < 20; i++) {
      const id = `in${i}`;
      expected.push(id);
      await scheduler.scheduleIn('work', 1000, { id });
    }
    await clock.advance(10);
    for (let i = 0; i < 5; i++) {
      const id = `at${i}`;
      expected.push(id);
      await scheduler.scheduleAt('work', T0 + 1000, { id });
    }
    const many = Array.from({ length: 10 }, (_, i) => ({ name: 'work' as const, payload: { id: `many${i}` }, at: T0 + 1000 }));
    expected.push(...many.map((m) => m.payload.id));
    await scheduler.scheduleMany(many);
    await clock.advance(10_000);
    assert.deepEqual(order, expected);
    await scheduler.stop();
  });

  it('FIFO holds across many equal jobs with a wider concurrency', async () => {
    const { scheduler, clock } = await setup({ concurrency: 4 });
    const order: number[] = [];
    scheduler.register('a', async (job) => {
      order.push(job.payload.n);
      await sleep(clock, 5);
    });
    await scheduler.scheduleMany(Array.from({ length: 200 }, (_, n) => ({ name: 'a' as const, payload: { n }, delay: 50 })));
    await clock.advance(10_000);
    assert.deepEqual(
      order,
      Array.from({ length: 200 }, (_, n) => n),
    );
    await scheduler.stop();
  });
});

describe('pause / resume', () => {
  it('running jobs continue; nothing new starts while paused; resume starts what is due at once', async () => {
    const { scheduler, clock } = await setup({ concurrency: 5 });
    const events: [string, string, number][] = [];
    scheduler.on('completed', (e) => events.push(['completed', (e.job.payload as { id: string }).id, clock.now() - T0]));
    scheduler.register('work', async (job) => {
      events.push(['started', job.payload.id, clock.now() - T0]);
      await sleep(clock, job.payload.ms ?? 10);
    });
    await scheduler.scheduleIn('work', 0, { id: 'A', ms: 1000 });
    await clock.advance(50);
    scheduler.pause();
    await scheduler.scheduleIn('work', 50, { id: 'B' });
    await scheduler.scheduleIn('work', 450, { id: 'C' });
    await scheduler.scheduleIn('work', 0, { id: 'D' });
    await clock.advance(1950);
    assert.deepEqual(events, [
      ['started', 'A', 0],
      ['completed', 'A', 1000],
    ]);
    assert.equal(scheduler.stats().scheduled, 3);
    assert.equal(scheduler.stats().running, 0);
    scheduler.resume();
    await clock.advance(0);
    assert.deepEqual(
      events.slice(2).map((e) => e.join(' ')),
      ['started D 2000', 'started B 2000', 'started C 2000'],
    );
    await clock.advance(100);
    assert.equal(scheduler.stats().completed, 4);
    await scheduler.stop();
  });

  it('a retry that falls due while paused waits for resume', async () => {
    const { scheduler, clock } = await setup({ retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 100 } } });
    const attempts: [number, number][] = [];
    scheduler.register('a', async (job) => {
      attempts.push([job.attempt, clock.now() - T0]);
      await sleep(clock, 10);
      if (job.attempt === 1) throw new Error('once');
    });
    await scheduler.scheduleIn('a', 0, { n: 1 });
    await clock.advance(5);
    scheduler.pause();
    await clock.advance(1000);
    assert.deepEqual(attempts, [[1, 0]]);
    scheduler.resume();
    await clock.advance(0);
    assert.deepEqual(attempts, [
      [1, 0],
      [2, 1005],
    ]);
    await clock.advance(10);
    assert.equal(scheduler.stats().completed, 1);
    await scheduler.stop();
  });

  it('pause and resume are idempotent; future jobs keep their time after resume', async () => {
    const { scheduler, clock } = await setup();
    const ran: number[] = [];
    scheduler.register('a', () => {
      ran.push(clock.now() - T0);
    });
    await scheduler.scheduleIn('a', 500, { n: 1 });
    scheduler.resume();
    scheduler.pause();
    scheduler.pause();
    await clock.advance(100);
    scheduler.resume();
    scheduler.resume();
    await clock.advance(399);
    assert.deepEqual(ran, []);
    await clock.advance(1);
    assert.deepEqual(ran, [500]);
    await scheduler.stop();
  });

  it('a handler registered while paused does not start due jobs', async () => {
    const { scheduler, clock } = await setup();
    await scheduler.scheduleIn('a', 0, { n: 1 });
    scheduler.pause();
    await clock.advance(100);
    let runs = 0;
    scheduler.register('a', () => {
      runs++;
    });
    await clock.advance(100);
    assert.equal(runs, 0);
    scheduler.resume();
    await clock.advance(0);
    assert.equal(runs, 1);
    await scheduler.stop();
  });
});
