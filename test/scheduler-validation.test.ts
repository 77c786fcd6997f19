/**
 * Bad input gets a typed error and changes nothing; payloads are JSON-checked
 * and copied; handlers may throw anything without crashing the scheduler.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { JobTimeoutError, ValidationError } from '../src/errors.js';
import type { SchedulerEvents } from '../src/events.js';
import { T0, collectEvents, loose, noUnhandledRejections, record, virtualScheduler } from './helpers.js';

type Jobs = {
  any: unknown;
  'mail.send': { to: string };
};

/**
 * Runs `attempt` (which must reject or throw ValidationError) and checks that
 * nothing changed: same job list, no event.
 */
async function refusesWithoutChange(scheduler: Scheduler<Jobs>, clock: VirtualClock, attempt: () => unknown, label: string): Promise<void> {
  const before = await scheduler.list();
  const log = record(scheduler, clock);
  await assert.rejects(
    async () => {
      await attempt();
    },
    (error: unknown) => {
      assert.ok(error instanceof ValidationError, `${label}: expected ValidationError, got ${String(error)}`);
      assert.equal(error.code, 'ERR_VALIDATION');
      return true;
    },
    label,
  );
  await clock.advance(0);
  assert.deepEqual(await scheduler.list(), before, `${label}: the job list changed`);
  assert.deepEqual(
    log.map((e) => e.type),
    [],
    `${label}: an event was emitted`,
  );
  scheduler.removeAllListeners();
}

describe('validation: delays and dates', () => {
  it('scheduleIn refuses NaN, negative, infinite and non-number delays', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    await scheduler.scheduleIn('any', 100, 1, { id: 'existing' });
    const scheduleIn = loose(scheduler.scheduleIn.bind(scheduler));
    for (const delay of [Number.NaN, -1, -0.5, Infinity, -Infinity, '10', undefined, null, 10n, {}, [10], new Date(T0)]) {
      await refusesWithoutChange(scheduler, clock, () => scheduleIn('any', delay, 1), `delay ${String(delay)}`);
    }
    await scheduler.stop();
  });

  it('scheduleAt refuses invalid Dates, non-dates and times beyond ±8.64e15 ms', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const scheduleAt = loose(scheduler.scheduleAt.bind(scheduler));
    const bad = [new Date(Number.NaN), new Date('nope'), Number.NaN, Infinity, 8.64e15 + 1, -8.64e15 - 1, '2027-01-01T00:00:00Z', undefined, null, 5n];
    for (const at of bad) {
      await refusesWithoutChange(scheduler, clock, () => scheduleAt('any', at, 1), `at ${String(at)}`);
    }
    await scheduler.stop();
  });

  it('the edge of the Date range is accepted; a delay that pushes past it is refused', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const edge = await scheduler.scheduleAt('any', 8.64e15, 1);
    assert.equal(edge.runAt.getTime(), 8.64e15);
    await refusesWithoutChange(scheduler, clock, () => scheduler.scheduleIn('any', 8.64e15 - T0 + 1, 1), 'delay past the range');
    await refusesWithoutChange(scheduler, clock, () => scheduler.scheduleIn('any', Number.MAX_SAFE_INTEGER, 1), 'delay MAX_SAFE_INTEGER');
    await refusesWithoutChange(
      scheduler,
      clock,
      () => scheduler.scheduleMany([{ name: 'any', payload: 1, delay: 8.64e15 }]),
      'scheduleMany delay past the range',
    );
    await refusesWithoutChange(scheduler, clock, () => scheduler.reschedule(edge.id, new Date(Number.NaN)), 'reschedule to an invalid Date');
    await refusesWithoutChange(scheduler, clock, () => scheduler.reschedule(edge.id, 8.64e15 + 1), 'reschedule past the range');
    await scheduler.stop();
  });
});

describe('validation: unknown option names', () => {
  it('schedule options (scheduleIn, scheduleAt, scheduleMany items and options)', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const scheduleIn = loose(scheduler.scheduleIn.bind(scheduler));
    const scheduleAt = loose(scheduler.scheduleAt.bind(scheduler));
    const scheduleMany = loose(scheduler.scheduleMany.bind(scheduler));
    await refusesWithoutChange(scheduler, clock, () => scheduleIn('any', 1, 1, { delay: 5 }), 'scheduleIn { delay }');
    await refusesWithoutChange(scheduler, clock, () => scheduleIn('any', 1, 1, { priorty: 5 }), 'scheduleIn { priorty } (typo)');
    await refusesWithoutChange(scheduler, clock, () => scheduleAt('any', T0, 1, { tz: 'UTC' }), 'scheduleAt { tz }');
    await refusesWithoutChange(scheduler, clock, () => scheduleIn('any', 1, 1, 'high'), 'options as a string');
    await refusesWithoutChange(scheduler, clock, () => scheduleMany([{ name: 'any', payload: 1, delay: 1, when: 5 }]), 'scheduleMany item { when }');
    await refusesWithoutChange(
      scheduler,
      clock,
      () => scheduleMany([{ name: 'any', payload: 1, delay: 1, options: { retries: 3 } }]),
      'scheduleMany item options { retries }',
    );
    await scheduler.stop();
  });

  it('constructor options', () => {
    const clock = new VirtualClock(T0);
    const Ctor = Scheduler as unknown as new (options: unknown) => Scheduler;
    for (const options of [{ clock, concurency: 2 }, { clock, keepFailed: 10 }, { clock, retries: 3 }, 'fast', [], null]) {
      assert.throws(() => new Ctor(options), ValidationError, JSON.stringify(options));
    }
  });

  it('constructor option values', () => {
    const clock = new VirtualClock(T0);
    const Ctor = Scheduler as unknown as new (options: unknown) => Scheduler;
    const bad = [
      { concurrency: 0 },
      { concurrency: 1.5 },
      { concurrency: Number.NaN },
      { timeout: 0 },
      { timeout: -1 },
      { keepCompleted: -1 },
      { keepDead: 0.5 },
      { retry: { maxRetries: -1, backoff: { type: 'fixed', delay: 1 } } },
    ];
    for (const options of bad) assert.throws(() => new Ctor({ clock, ...options }), ValidationError, JSON.stringify(options));
  });

  it('register options, handler and name', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const register = loose(scheduler.register.bind(scheduler));
    const log = record(scheduler, clock);
    const handler = (): void => undefined;
    assert.throws(() => register('any', handler, { concurency: 1 }), ValidationError);
    assert.throws(() => register('any', handler, { retries: 1 }), ValidationError);
    assert.throws(() => register('any', handler, { concurrency: 0 }), ValidationError);
    assert.throws(() => register('any', handler, { timeout: Number.NaN }), ValidationError);
    assert.throws(() => register('any', 'not a function'), ValidationError);
    assert.throws(() => register('', handler), ValidationError);
    assert.throws(() => register(42, handler), ValidationError);
    // Nothing was registered: a due job waits for a handler.
    await scheduler.scheduleIn('any', 0, 1);
    await clock.advance(10);
    assert.deepEqual(
      log.map((e) => e.type),
      ['scheduled', 'missingHandler'],
    );
    await scheduler.stop();
  });

  it('list filter', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    await scheduler.scheduleIn('any', 1, 1);
    const list = loose(scheduler.list.bind(scheduler));
    for (const filter of [{ names: 'any' }, { status: 'scheduled' }, { state: 'waiting' }, { limit: -1 }, { offset: 1.5 }, { limit: Number.NaN }, 'any']) {
      await assert.rejects(async () => list(filter), ValidationError, JSON.stringify(filter));
    }
    await scheduler.stop();
  });

  it('events() options', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const events = loose(scheduler.events.bind(scheduler));
    const bad = [{ type: ['completed'] }, { buffer: 10 }, { bufferSize: 0 }, { bufferSize: 1.5 }, { overflow: 'block' }, { names: 'mail.*' }, { ids: [1] }];
    for (const options of bad) assert.throws(() => events(options), ValidationError, JSON.stringify(options));
    assert.equal((scheduler as unknown as { streams: Set<unknown> }).streams.size, 0, 'a refused events() call left a subscription');
    await scheduler.stop();
  });
});

describe('validation: other entry points', () => {
  it('stop() refuses bad timeouts and keeps running', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const stop = loose(scheduler.stop.bind(scheduler));
    for (const options of [{ timeout: -1 }, { timeout: Number.NaN }, { timeout: Infinity }, { timeout: '5s' }]) {
      await assert.rejects(async () => stop(options), ValidationError, `stop(${JSON.stringify(options)})`);
    }
    await scheduler.scheduleIn('any', 1, 1); // still running
    await scheduler.stop();
  });

  it('stop() refuses unknown option names (and non-object options) and keeps running', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const stop = loose(scheduler.stop.bind(scheduler));
    for (const options of [{ timout: 100 }, { force: true }, 'soon']) {
      await assert.rejects(async () => stop(options), ValidationError, `stop(${JSON.stringify(options)})`);
    }
    await scheduler.scheduleIn('any', 1, 1); // still running
    await scheduler.stop();
  });

  it('stopOnSignals() refuses unknown options and bad values without adding listeners', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const stopOnSignals = loose(scheduler.stopOnSignals.bind(scheduler));
    const listeners = process.listenerCount('SIGTERM');
    for (const options of [{ signal: 'SIGTERM' }, { timeout: -1 }, { signals: 'SIGTERM' }, { signals: ['SIGNOPE'] }]) {
      assert.throws(() => stopOnSignals(options), ValidationError, `stopOnSignals(${JSON.stringify(options)})`);
      assert.equal(process.listenerCount('SIGTERM'), listeners, `stopOnSignals(${JSON.stringify(options)}) left a listener`);
    }
    await scheduler.stop();
  });

  it('cancel, reschedule, retry and get refuse non-string ids; retry refuses unknown options', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const info = await scheduler.scheduleIn('any', 100, 1);
    for (const id of [undefined, null, 5, '', {}, 'x'.repeat(513)]) {
      await refusesWithoutChange(scheduler, clock, () => loose(scheduler.cancel.bind(scheduler))(id), `cancel(${String(id)})`);
      await refusesWithoutChange(scheduler, clock, () => loose(scheduler.reschedule.bind(scheduler))(id, T0), `reschedule(${String(id)})`);
      await refusesWithoutChange(scheduler, clock, () => loose(scheduler.retry.bind(scheduler))(id), `retry(${String(id)})`);
      await assert.rejects(async () => loose(scheduler.get.bind(scheduler))(id), ValidationError);
    }
    await refusesWithoutChange(scheduler, clock, () => loose(scheduler.retry.bind(scheduler))(info.id, { when: T0 }), 'retry { when }');
    await refusesWithoutChange(scheduler, clock, () => loose(scheduler.retry.bind(scheduler))(info.id, { at: 'now' }), 'retry { at: string }');
    await refusesWithoutChange(scheduler, clock, () => loose(scheduler.scheduleMany.bind(scheduler))({ name: 'any' }), 'scheduleMany(non-array)');
    await refusesWithoutChange(
      scheduler,
      clock,
      () => loose(scheduler.scheduleMany.bind(scheduler))([{ name: 'any', payload: 1, delay: 1, at: T0 }]),
      'scheduleMany item with delay and at',
    );
    await refusesWithoutChange(scheduler, clock, () => loose(scheduler.scheduleMany.bind(scheduler))([{ name: 'any', payload: 1 }]), 'scheduleMany item with neither');
    await scheduler.stop();
  });
});

describe('validation: retry, priority, timeout, id', () => {
  const badRetries: [string, unknown][] = [
    ['negative maxRetries', { maxRetries: -1, backoff: { type: 'fixed', delay: 10 } }],
    ['fractional maxRetries', { maxRetries: 1.5, backoff: { type: 'fixed', delay: 10 } }],
    ['missing maxRetries', { backoff: { type: 'fixed', delay: 10 } }],
    ['unknown backoff type', { maxRetries: 1, backoff: { type: 'linear', delay: 10 } }],
    ['missing backoff', { maxRetries: 1 }],
    ['jitter 2', { maxRetries: 1, backoff: { type: 'exponential', delay: 10, jitter: 2 } }],
    ['negative jitter', { maxRetries: 1, backoff: { type: 'exponential', delay: 10, jitter: -0.1 } }],
    ['negative delay', { maxRetries: 1, backoff: { type: 'fixed', delay: -10 } }],
    ['NaN delay', { maxRetries: 1, backoff: { type: 'fixed', delay: Number.NaN } }],
    ['factor below 1', { maxRetries: 1, backoff: { type: 'exponential', delay: 10, factor: 0.5 } }],
    ['negative maxDelay', { maxRetries: 1, backoff: { type: 'exponential', delay: 10, maxDelay: -1 } }],
    ['jitter on fixed', { maxRetries: 1, backoff: { type: 'fixed', delay: 10, jitter: 0.5 } }],
    ['unknown retry key', { maxRetries: 1, backoff: { type: 'fixed', delay: 10 }, attempts: 3 }],
    ['function backoff in job options', { maxRetries: 1, backoff: () => 10 }],
    ['not an object', 3],
  ];

  it('per-job retry options', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const scheduleIn = loose(scheduler.scheduleIn.bind(scheduler));
    for (const [label, retry] of badRetries) {
      await refusesWithoutChange(scheduler, clock, () => scheduleIn('any', 1, 1, { retry }), label);
    }
    await scheduler.stop();
  });

  it('register and constructor retry options (a backoff function is allowed there)', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const register = loose(scheduler.register.bind(scheduler));
    const Ctor = Scheduler as unknown as new (options: unknown) => Scheduler;
    const clock = new VirtualClock(T0);
    for (const [label, retry] of badRetries) {
      if (label === 'function backoff in job options') continue;
      assert.throws(() => register('any', () => undefined, { retry }), ValidationError, `register: ${label}`);
      assert.throws(() => new Ctor({ clock, retry }), ValidationError, `constructor: ${label}`);
    }
    register('any', () => undefined, { retry: { maxRetries: 1, backoff: () => 10 } });
    new Ctor({ clock, retry: { maxRetries: 1, backoff: () => 10 } });
    await scheduler.stop();
  });

  it('priority, timeout, id and onDuplicate', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    await scheduler.scheduleIn('any', 1, 1, { id: 'taken' });
    const scheduleIn = loose(scheduler.scheduleIn.bind(scheduler));
    const bad: [string, unknown][] = [
      ['priority NaN', { priority: Number.NaN }],
      ['priority Infinity', { priority: Infinity }],
      ['priority string', { priority: '1' }],
      ['timeout 0', { timeout: 0 }],
      ['timeout negative', { timeout: -5 }],
      ['timeout Infinity', { timeout: Infinity }],
      ['timeout string', { timeout: '5s' }],
      ['empty id', { id: '' }],
      ['numeric id', { id: 5 }],
      ['too long id', { id: 'x'.repeat(513) }],
      ['onDuplicate unknown', { id: 'taken', onDuplicate: 'overwrite' }],
    ];
    for (const [label, options] of bad) {
      await refusesWithoutChange(scheduler, clock, () => scheduleIn('any', 1, 1, options), label);
    }
    const named = loose(scheduler.scheduleIn.bind(scheduler));
    await refusesWithoutChange(scheduler, clock, () => named('', 1, 1), 'empty name');
    await refusesWithoutChange(scheduler, clock, () => named(undefined, 1, 1), 'undefined name');
    await refusesWithoutChange(scheduler, clock, () => named('x'.repeat(257), 1, 1), 'too long name');
    await scheduler.stop();
  });
});

describe('validation: payloads', () => {
  class Point {
    constructor(
      public x: number,
      public y: number,
    ) {}
  }

  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const deepCyclic: unknown[] = [];
  deepCyclic.push({ inner: [deepCyclic] });
  // eslint-disable-next-line no-sparse-arrays
  const sparse = [1, , 3];
  const definedProto: Record<string, unknown> = {};
  Object.defineProperty(definedProto, '__proto__', { value: 1, enumerable: true, configurable: true, writable: true });
  const throwingGetter = {
    get boom(): never {
      throw new Error('getter threw');
    },
  };
  const trapsThrow = (trap: keyof ProxyHandler<object>): unknown =>
    new Proxy(
      { a: 1 },
      {
        [trap]: () => {
          throw new Error(`${trap} trap threw`);
        },
      },
    );

  const bad: [string, unknown][] = [
    ['undefined', undefined],
    ['a function', () => 1],
    ['a Symbol', Symbol('s')],
    ['NaN', Number.NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['a BigInt', 10n],
    ['a cycle', cyclic],
    ['a deep cycle through arrays', deepCyclic],
    ['a Map', new Map([['a', 1]])],
    ['a Set', new Set([1])],
    ['a Date', new Date(T0)],
    ['a RegExp', /x/],
    ['a class instance', new Point(1, 2)],
    ['a boxed string', Object('s')],
    ['a sparse array', sparse],
    ['an array with an undefined element', [1, undefined]],
    ['nested undefined', { a: { b: undefined } }],
    ['nested function', { a: [() => 1] }],
    ['nested NaN', { a: [1, Number.NaN] }],
    ['nested BigInt', { a: 1n }],
    ['a Symbol value', { a: Symbol('s') }],
    ['a Symbol key', { [Symbol('k')]: 1 }],
    ['a parsed __proto__ key', JSON.parse('{"__proto__":1}')],
    ['a nested parsed __proto__ key', JSON.parse('{"a":{"__proto__":{"polluted":true}}}')],
    ['a defined __proto__ key', definedProto],
    ['a throwing getter', throwingGetter],
    ['a Proxy whose get trap throws', trapsThrow('get')],
    ['a Proxy whose ownKeys trap throws', trapsThrow('ownKeys')],
    ['a Proxy whose getPrototypeOf trap throws', trapsThrow('getPrototypeOf')],
    ['a Proxy whose getOwnPropertyDescriptor trap throws', trapsThrow('getOwnPropertyDescriptor')],
    ['a Uint8Array', new Uint8Array([1, 2])],
  ];

  it('refuses every payload JSON would change, in scheduleIn, scheduleAt and scheduleMany', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    await scheduler.scheduleIn('any', 1, { fine: true });
    for (const [label, payload] of bad) {
      await refusesWithoutChange(scheduler, clock, () => scheduler.scheduleIn('any', 1, payload), `scheduleIn: ${label}`);
      await refusesWithoutChange(scheduler, clock, () => scheduler.scheduleAt('any', T0 + 1, payload), `scheduleAt: ${label}`);
      await refusesWithoutChange(
        scheduler,
        clock,
        () =>
          scheduler.scheduleMany([
            { name: 'any', payload: 'good', delay: 1 },
            { name: 'any', payload, delay: 1 },
          ]),
        `scheduleMany: ${label}`,
      );
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');
    await scheduler.stop();
  });

  it('accepts plain JSON values (null, numbers, strings, nested arrays and objects, null-prototype objects)', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    const good: unknown[] = [null, 0, -1.5, 'text', true, [], {}, [1, [2, [3]]], { a: { b: [null, 'x', { c: false }] } }, bare];
    for (const payload of good) {
      const info = await scheduler.scheduleIn('any', 1, payload);
      assert.deepEqual(JSON.parse(JSON.stringify(info.payload)), JSON.parse(JSON.stringify(payload)));
    }
    await scheduler.stop();
  });

  it('a payload mutated by the caller after scheduling does not change the stored job', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const seen: unknown[] = [];
    scheduler.register('any', (job) => {
      seen.push(job.payload);
    });
    const payload = { order: { id: 'A1', lines: [1, 2] } };
    const info = await scheduler.scheduleIn('any', 100, payload);
    payload.order.id = 'CHANGED';
    payload.order.lines.push(3);
    assert.deepEqual((await scheduler.get(info.id))?.payload, { order: { id: 'A1', lines: [1, 2] } });
    await clock.advance(100);
    assert.deepEqual(seen, [{ order: { id: 'A1', lines: [1, 2] } }]);
    await scheduler.stop();
  });

  it('mutating a JobInfo (returned, listed or in an event) does not change the stored job', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const seen: unknown[] = [];
    scheduler.register('any', (job) => {
      seen.push(job.payload);
    });
    // A JobInfo may be a copy or frozen: either way the store must not change.
    // Errors are collected (a listener's thrown assertion would be swallowed) and checked at the end.
    const thrown: unknown[] = [];
    const attempt = (mutate: () => void): void => {
      try {
        mutate();
      } catch (error) {
        thrown.push(error);
      }
    };
    const log = collectEvents(scheduler, ['scheduled']);
    scheduler.on('scheduled', (e) => attempt(() => ((e.job.payload as { tag: string }).tag = 'from listener')));
    const info = await scheduler.scheduleIn('any', 100, { tag: 'original', list: [1] });
    attempt(() => (info.payload as { list: number[] }).list.push(2));
    const [listed] = await scheduler.list();
    attempt(() => (listed!.payload as { list: number[] }).list.push(3));
    const got = await scheduler.get(info.id);
    attempt(() => (got!.payload as { list: number[] }).list.push(4));
    attempt(() => (got!.payload as { tag: string }).tag = 'via get');
    assert.deepEqual((await scheduler.get(info.id))?.payload, { tag: 'original', list: [1] });
    await clock.advance(100);
    assert.deepEqual(seen, [{ tag: 'original', list: [1] }]);
    for (const error of thrown) assert.ok(error instanceof TypeError, `only a frozen-object TypeError is acceptable, got ${String(error)}`);
    assert.equal(log.of('scheduled').length, 1);
    assert.deepEqual(log.of('error'), []);
    await scheduler.stop();
  });

  it('a handler that mutates its payload does not change the payload its retry sees', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 2, backoff: { type: 'fixed', delay: 10 } } });
    const seen: unknown[] = [];
    scheduler.register('any', (job) => {
      const p = job.payload as { n: number; list: number[] };
      seen.push(structuredClone(p));
      p.n++;
      p.list.push(job.attempt);
      if (job.attempt < 3) throw new Error('again');
    });
    const info = await scheduler.scheduleIn('any', 0, { n: 1, list: [] });
    await clock.advance(100);
    assert.deepEqual(seen, [
      { n: 1, list: [] },
      { n: 1, list: [] },
      { n: 1, list: [] },
    ]);
    const done = await scheduler.get(info.id);
    assert.equal(done?.state, 'completed');
    assert.deepEqual(done?.payload, { n: 1, list: [] });
    await scheduler.stop();
  });
});

describe('handlers that throw anything', () => {
  const throwingMessage = {
    get message(): never {
      throw new Error('message getter threw');
    },
    get name(): never {
      throw new Error('name getter threw');
    },
  };
  class BadError extends Error {
    override get message(): string {
      throw new Error('message getter threw');
    }
    override get name(): string {
      throw new Error('name getter threw');
    }
  }
  const hostileProxy = new Proxy(
    {},
    {
      get: () => {
        throw new Error('get trap threw');
      },
      getPrototypeOf: () => {
        throw new Error('getPrototypeOf trap threw');
      },
      ownKeys: () => {
        throw new Error('ownKeys trap threw');
      },
      has: () => {
        throw new Error('has trap threw');
      },
      getOwnPropertyDescriptor: () => {
        throw new Error('getOwnPropertyDescriptor trap threw');
      },
    },
  );

  const thrown: [string, () => unknown][] = [
    ['undefined', () => undefined],
    ['null', () => null],
    ['a string', () => 'plain string'],
    ['an empty string', () => ''],
    ['a number', () => 42],
    ['a Symbol', () => Symbol('sym')],
    ['a BigInt', () => 5n],
    ['a plain object', () => ({ code: 7 })],
    ['an object with throwing message/name getters', () => throwingMessage],
    ['an Error whose message/name getters throw', () => new BadError()],
    ['a cyclic object', () => {
      const o: Record<string, unknown> = {};
      o.o = o;
      return o;
    }],
  ];

  type Mode = 'throw' | 'reject' | 'async throw';
  const handlerFor = (mode: Mode, value: () => unknown) => (): unknown => {
    if (mode === 'throw') throw value();
    if (mode === 'reject') return Promise.reject(value());
    return (async () => {
      await null;
      throw value();
    })();
  };

  for (const mode of ['throw', 'reject', 'async throw'] as const) {
    it(`a handler that ${mode}s a non-Error gets a recorded failure (failed event with an Error, lastError on the job)`, async () => {
      await noUnhandledRejections(async () => {
        const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
        const failed: SchedulerEvents['failed'][] = [];
        const dead: string[] = [];
        const errors: unknown[] = [];
        scheduler.on('failed', (e) => failed.push(e));
        scheduler.on('dead', (e) => dead.push(e.job.id));
        scheduler.on('error', (e) => errors.push(e.error));
        let current: () => unknown = () => undefined;
        scheduler.register('any', () => handlerFor(mode, current)());
        for (const [label, value] of thrown) {
          current = value;
          failed.length = 0;
          dead.length = 0;
          const info = await scheduler.scheduleIn('any', 10, label);
          await clock.advance(10);
          assert.equal(failed.length, 1, `${label}: one failed event`);
          const event = failed[0]!;
          assert.ok(event.error instanceof Error, `${label}: failed.error is an Error`);
          assert.equal(event.willRetry, false);
          assert.equal(event.job.id, info.id);
          assert.deepEqual(dead, [info.id], `${label}: dead event`);
          const job = await scheduler.get(info.id);
          assert.equal(job?.state, 'dead', `${label}: job is dead`);
          assert.ok(job?.lastError, `${label}: lastError recorded`);
          assert.equal(typeof job.lastError.name, 'string');
          assert.equal(typeof job.lastError.message, 'string');
          assert.deepEqual(Object.keys(job.lastError).sort(), ['message', 'name']);
        }
        assert.deepEqual(errors, [], 'no library error events');
        assert.equal(scheduler.stats().running, 0);
        await scheduler.stop();
      });
    });
  }

  for (const mode of ['throw', 'reject'] as const) {
    it(`a handler that ${mode}s a Proxy whose traps all throw gets a recorded failure and frees its slot`, async () => {
      await noUnhandledRejections(async () => {
        const { scheduler, clock } = await virtualScheduler<Jobs>({ concurrency: 1, retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
        const failed: Error[] = [];
        scheduler.on('failed', (e) => failed.push(e.error));
        let ok = 0;
        scheduler.register('any', (job) => {
          if (job.payload === 'proxy') return handlerFor(mode, () => hostileProxy)();
          ok++;
        });
        const info = await scheduler.scheduleIn('any', 0, 'proxy');
        await scheduler.scheduleIn('any', 10, 'next');
        await clock.advance(20);
        assert.equal(failed.length, 1);
        assert.ok(failed[0] instanceof Error);
        const job = await scheduler.get(info.id);
        assert.equal(job?.state, 'dead');
        assert.equal(typeof job?.lastError?.message, 'string');
        assert.equal(ok, 1, 'the next job still ran (the slot was freed)');
        await scheduler.stop();
      });
    });
  }

  it('the normalised Error describes the thrown value', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
    const messages: string[] = [];
    scheduler.on('failed', (e) => messages.push(e.error.message));
    const values: unknown[] = ['plain string', 42, undefined, null, Symbol('sym')];
    let i = 0;
    scheduler.register('any', () => {
      throw values[i++];
    });
    for (let k = 0; k < values.length; k++) await scheduler.scheduleIn('any', k, k);
    await clock.advance(100);
    assert.equal(messages.length, values.length);
    assert.match(messages[0]!, /plain string/);
    assert.match(messages[1]!, /42/);
    assert.match(messages[2]!, /undefined/);
    assert.match(messages[3]!, /null/);
    assert.match(messages[4]!, /Symbol\(sym\)/);
    await scheduler.stop();
  });

  it('an Error thrown as is keeps its identity in the failed event and its name/message in lastError', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
    const boom = new TypeError('bad order');
    const got: Error[] = [];
    scheduler.on('failed', (e) => got.push(e.error));
    scheduler.register('any', () => {
      throw boom;
    });
    const info = await scheduler.scheduleIn('any', 0, 1);
    await clock.advance(0);
    assert.equal(got[0], boom);
    assert.deepEqual((await scheduler.get(info.id))?.lastError, { name: 'TypeError', message: 'bad order' });
    await scheduler.stop();
  });

  it('thenables: a then that throws, a then getter that throws, a then that rejects with a non-Error', async () => {
    await noUnhandledRejections(async () => {
      const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
      const log = collectEvents(scheduler, ['failed']);
      const results: Record<string, () => unknown> = {
        'then throws': () => ({
          then(): never {
            throw new Error('then threw');
          },
        }),
        'then getter throws': () => ({
          get then(): never {
            throw new Error('then getter threw');
          },
        }),
        'then rejects with a string': () => ({
          then(_ok: (v: unknown) => void, fail: (e: unknown) => void): void {
            fail('nope');
          },
        }),
        'then throws undefined': () => ({
          then(): never {
            throw undefined;
          },
        }),
      };
      scheduler.register('any', (job) => results[job.payload as string]!());
      for (const key of Object.keys(results)) await scheduler.scheduleIn('any', 1, key);
      await clock.advance(10);
      const failed = log.of('failed');
      for (const e of failed) assert.ok(e.error instanceof Error, `${String(e.job.payload)}: ${String(e.error)}`);
      assert.deepEqual(failed.map((e) => e.job.payload as string).sort(), Object.keys(results).sort());
      assert.deepEqual(log.of('error'), []);
      assert.equal((await scheduler.list({ state: 'dead' })).length, 4);
      await scheduler.stop();
    });
  });

  it('a handler that never settles fails with JobTimeoutError at its timeout', async () => {
    await noUnhandledRejections(async () => {
      const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
      const failed: SchedulerEvents['failed'][] = [];
      scheduler.on('failed', (e) => failed.push(e));
      let aborted: unknown;
      scheduler.register(
        'any',
        (job) => {
          job.signal.addEventListener('abort', () => {
            aborted = job.signal.reason;
          });
          return new Promise(() => undefined);
        },
        { timeout: 500 },
      );
      const info = await scheduler.scheduleIn('any', 0, 1);
      await clock.advance(499);
      assert.equal(failed.length, 0);
      assert.equal((await scheduler.get(info.id))?.state, 'running');
      await clock.advance(1);
      assert.equal(failed.length, 1);
      assert.ok(failed[0]!.error instanceof JobTimeoutError);
      assert.ok(aborted instanceof JobTimeoutError);
      const job = await scheduler.get(info.id);
      assert.equal(job?.state, 'dead');
      assert.equal(job?.lastError?.name, 'JobTimeoutError');
      assert.equal(scheduler.stats().running, 0);
      await scheduler.stop();
    });
  });
});

describe('odd handler results and backoffs', () => {
  it('a handler returning a non-JSON result completes; the result reaches the event but is not stored', async () => {
    await noUnhandledRejections(async () => {
      const { scheduler, clock } = await virtualScheduler<Jobs>();
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const results: unknown[] = [10n, () => 1, cyclic, new Map(), Symbol('r'), new Proxy({}, { ownKeys: () => { throw new Error('trap'); } })];
      const seen: unknown[] = [];
      scheduler.on('completed', (e) => seen.push(e.result));
      scheduler.register('any', (job) => results[job.payload as number]);
      const ids: string[] = [];
      for (let i = 0; i < results.length; i++) ids.push((await scheduler.scheduleIn('any', 1, i)).id);
      await clock.advance(10);
      assert.equal(seen.length, results.length);
      for (let i = 0; i < results.length; i++) assert.equal(seen[i], results[i]);
      for (const id of ids) {
        const job = await scheduler.get(id);
        assert.equal(job?.state, 'completed');
        assert.equal(job?.result, undefined);
      }
      await scheduler.stop();
    });
  });

  it('a backoff function that throws or returns a bad value: the job is dead, an error event says why, no crash', async () => {
    await noUnhandledRejections(async () => {
      const { scheduler, clock } = await virtualScheduler<Jobs>();
      const errors: Error[] = [];
      scheduler.on('error', (e) => errors.push(e.error));
      const backoffs: Record<string, () => number> = {
        throws: () => {
          throw new Error('backoff threw');
        },
        nan: () => Number.NaN,
        negative: () => -5,
        string: () => '10' as unknown as number,
      };
      let which = 'throws';
      scheduler.register('any', alwaysFailing, { retry: { maxRetries: 3, backoff: () => backoffs[which]!() } });
      for (const key of Object.keys(backoffs)) {
        which = key;
        const info = await scheduler.scheduleIn('any', 1, key);
        await clock.advance(1000);
        const job = await scheduler.get(info.id);
        assert.equal(job?.state, 'dead', `${key}: dead`);
        assert.equal(job?.attempt, 1, `${key}: one attempt`);
      }
      assert.equal(errors.length, 4);
      await scheduler.stop();
    });
  });
});

function alwaysFailing(): never {
  throw new Error('fail');
}

describe('event listeners', () => {
  it('a listener that throws does not break dispatch; the throw is reported as an error event', async () => {
    await noUnhandledRejections(async () => {
      const { scheduler, clock } = await virtualScheduler<Jobs>();
      const errors: Error[] = [];
      scheduler.on('error', (e) => errors.push(e.error));
      for (const type of ['scheduled', 'started', 'completed', 'drained'] as const) {
        scheduler.on(type, () => {
          throw new Error(`listener of ${type} threw`);
        });
      }
      const ran: number[] = [];
      scheduler.register('any', (job) => {
        ran.push(job.payload as number);
      });
      for (let i = 0; i < 3; i++) await scheduler.scheduleIn('any', 10 * (i + 1), i);
      await clock.advance(100);
      assert.deepEqual(ran, [0, 1, 2]);
      assert.equal((await scheduler.list({ state: 'completed' })).length, 3);
      assert.ok(errors.some((e) => /listener of completed threw/.test(e.message)));
      assert.ok(errors.some((e) => /listener of started threw/.test(e.message)));
      await scheduler.stop();
    });
  });

  it('a listener that throws non-Errors, and an error listener that throws, do not crash', async () => {
    await noUnhandledRejections(async () => {
      const { scheduler, clock } = await virtualScheduler<Jobs>();
      scheduler.on('error', () => {
        throw Symbol('error listener threw');
      });
      scheduler.on('completed', () => {
        throw undefined;
      });
      let runs = 0;
      scheduler.register('any', () => {
        runs++;
      });
      await scheduler.scheduleIn('any', 0, 1);
      await scheduler.scheduleIn('any', 5, 2);
      await clock.advance(10);
      assert.equal(runs, 2);
      await scheduler.stop();
    });
  });
});
