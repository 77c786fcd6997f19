/**
 * What a refusal says (SPEC §6: "a clear typed error"). scheduler-validation
 * checks that bad input is a ValidationError that changes nothing; this file
 * pins the words: each message names the argument (its path inside a
 * payload) and shows the value it got, short and safe, so a user can find
 * the mistake without a debugger. A mutation run of the validation modules
 * (MUTATE=validate) found these messages unchecked: a cycle reported as
 * "too deep", a hole as `undefined`, a getter's throw without its path, the
 * value left out of every message would all have passed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../src/errors.js';
import { Scheduler } from '../src/scheduler.js';
import { MemoryStore } from '../src/store/memory.js';
import { loose, virtualScheduler } from './helpers.js';

type Jobs = { any: unknown };

/** Awaits `call` and returns the ValidationError it must reject with. */
async function refusal(call: () => unknown): Promise<ValidationError> {
  try {
    await call();
  } catch (error) {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a refusal, the call was accepted');
}

const sparse = (): number[] => {
  const list = [1, 2, 3];
  delete list[1];
  return list;
};

describe('validation messages: what the value was', () => {
  it('a bad delay is shown as what it is: a quoted (and cut) string, a BigInt, a symbol, a function, a Date, an array, an object of a kind', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const scheduleIn = loose(scheduler.scheduleIn.bind(scheduler));
    const cases: [unknown, string][] = [
      ['5', '"5"'],
      ['x'.repeat(80), JSON.stringify('x'.repeat(80))],
      ['x'.repeat(81), `"${'x'.repeat(77)}..."`],
      [10n, '10n'],
      [Symbol('q'), 'Symbol(q)'],
      [() => 1, 'a function'],
      [new Date(0), 'Date(1970-01-01T00:00:00.000Z)'],
      [new Date(Number.NaN), 'Date(Invalid Date)'],
      [[1], 'an array'],
      [new Map(), 'an object ([object Map])'],
      [{}, 'an object ([object Object])'],
      [null, 'null'],
      [undefined, 'undefined'],
      [-1, '-1'],
      [Number.NaN, 'NaN'],
    ];
    for (const [delay, shown] of cases) {
      const error = await refusal(() => scheduleIn('any', delay, 1));
      assert.equal(error.message, `Expected \`delay\` to be a finite number of ms >= 0, got ${shown}`);
    }
    await scheduler.stop();
  });

  it('a value whose description throws is "an unreadable value"', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf: () => {
          throw new Error('trap');
        },
      },
    );
    const error = await refusal(() => loose(scheduler.scheduleIn.bind(scheduler))('any', hostile, 1));
    assert.equal(error.message, 'Expected `delay` to be a finite number of ms >= 0, got an unreadable value');
    await scheduler.stop();
  });

  it('times: not a time, outside the Date range, a Date whose getTime throws (with the throw as cause)', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const scheduleAt = loose(scheduler.scheduleAt.bind(scheduler));
    assert.equal((await refusal(() => scheduleAt('any', 'tomorrow', 1))).message, 'Expected `at` to be a Date or epoch ms, got "tomorrow"');
    assert.equal((await refusal(() => scheduleAt('any', 8.64e15 + 1, 1))).message, 'Expected `at` to be a valid time within ±8.64e15 ms, got 8640000000000001');
    const thrown = new Error('getTime broke');
    class BrokenDate extends Date {
      override getTime(): number {
        throw thrown;
      }
    }
    const error = await refusal(() => scheduleAt('any', new BrokenDate(0), 1));
    assert.equal(error.message, 'Expected `at` to be a readable Date, got one whose getTime() throws');
    assert.equal(error.cause, thrown);
    await scheduler.stop();
  });
});

describe('validation messages: where in the payload', () => {
  it('a cycle, a hole, a throwing getter, a BigInt and a Date are each reported at their path, as what they are', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const cyclic: { a: { b?: unknown } } = { a: {} };
    cyclic.a.b = cyclic;
    const thrown = new Error('boom');
    const getter = {
      get x(): number {
        throw thrown;
      },
    };
    const cases: [unknown, string][] = [
      [cyclic, 'Expected `payload.a.b` to be JSON, got a circular reference'],
      [{ list: sparse() }, 'Expected `payload.list[1]` to be JSON, got a hole in a sparse array'],
      [getter, 'Expected `payload.x` to be readable, got a getter that throws'],
      [{ n: 5n }, 'Expected `payload.n` to be JSON, got 5n'],
      [{ when: new Date(0) }, 'Expected `payload.when` to be JSON, got Date(1970-01-01T00:00:00.000Z): pass an ISO string (date.toISOString()) or epoch ms instead'],
      [{ m: new Map() }, 'Expected `payload.m` to be a plain object (JSON), got an object ([object Map])'],
      [{ [Symbol('s')]: 1 }, 'Expected `payload` to be JSON, got an object with symbol keys'],
      [[Number.NaN], 'Expected `payload[0]` to be a finite number (JSON), got NaN'],
    ];
    for (const [payload, message] of cases) {
      const error = await refusal(() => scheduler.scheduleIn('any', 10, payload));
      assert.equal(error.message, message);
      if (payload === getter) assert.equal(error.cause, thrown);
    }
    assert.equal(await scheduler.get('x'), undefined);
    assert.equal((await scheduler.list()).length, 0);
    await scheduler.stop();
  });
});

describe('validation messages: options, names, ids, scheduleMany items', () => {
  it('an unknown option names itself and lists the options that exist', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const error = await refusal(() => loose(scheduler.scheduleIn.bind(scheduler))('any', 1, 1, { nope: 1 }));
    assert.equal(error.message, 'Unknown option `options.nope` (expected one of id, retry, timeout, priority, onDuplicate, db, group, removeOnComplete, removeOnFail, dedupe)');
    const bad = await refusal(() => loose(scheduler.scheduleIn.bind(scheduler))('any', 1, 1, { onDuplicate: 'nah' }));
    assert.equal(bad.message, "Expected `options.onDuplicate` to be 'reject', 'keep' or 'replace', got \"nah\"");
    await scheduler.stop();
  });

  it('names up to 256 characters and ids up to 512 are accepted; one more is refused', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    scheduler.register('n'.repeat(256) as 'any', () => undefined);
    await scheduler.scheduleIn('n'.repeat(256) as 'any', 10, 1, { id: 'i'.repeat(512) });
    assert.equal((await scheduler.get('i'.repeat(512)))?.name, 'n'.repeat(256));
    const name = await refusal(() => scheduler.scheduleIn('n'.repeat(257) as 'any', 10, 1));
    assert.equal(name.message, `Expected \`name\` to be a non-empty string of at most 256 characters, got "${'n'.repeat(77)}..."`);
    const id = await refusal(() => scheduler.scheduleIn('any', 10, 1, { id: 'i'.repeat(513) }));
    assert.equal(id.message, `Expected \`id\` to be a non-empty string of at most 512 characters, got "${'i'.repeat(77)}..."`);
    assert.equal((await scheduler.list()).length, 1);
    await scheduler.stop();
  });

  it('strict: true names the handlers registered, or says none is', async () => {
    const empty = await virtualScheduler<Jobs>({ strict: true });
    assert.equal((await refusal(() => empty.scheduler.scheduleIn('any', 10, 1))).message, 'Expected `name` to name a registered handler (strict: true), got "any"; none is registered');
    await empty.scheduler.stop();
    const { scheduler } = await virtualScheduler<{ any: unknown; a: unknown; b: unknown }>({ strict: true });
    scheduler.register('a', () => undefined);
    scheduler.register('b', () => undefined);
    assert.equal((await refusal(() => scheduler.scheduleIn('any', 10, 1))).message, 'Expected `name` to name a registered handler (strict: true), got "any"; registered: a, b');
    await scheduler.stop();
  });

  it('scheduleMany: a missing item, both or neither of delay and at, each named by its index; nothing is written', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const many = loose(scheduler.scheduleMany.bind(scheduler));
    const ok = { name: 'any', payload: 1, delay: 10 };
    const cases: [unknown[], string][] = [
      [[ok, undefined], 'Expected `items[1]` to be { name, payload, delay | at, options? }, got undefined'],
      [[ok, { name: 'any', payload: 1, delay: 10, at: 5 }], 'Expected `items[1]` to have exactly one of `delay` or `at`, got both'],
      [[{ name: 'any', payload: 1 }], 'Expected `items[0]` to have exactly one of `delay` or `at`, got neither'],
      [[ok, { name: 'any', payload: { d: new Date(0) }, at: 5 }], 'Expected `items[1].payload.d` to be JSON, got Date(1970-01-01T00:00:00.000Z): pass an ISO string (date.toISOString()) or epoch ms instead'],
    ];
    for (const [items, message] of cases) assert.equal((await refusal(() => many(items))).message, message);
    // `db` joins the whole call to one transaction: given per item it would be ignored, so it is refused.
    const perItem = await refusal(() => many([{ ...ok, options: { db: {} } }]));
    assert.equal(perItem.message, 'Expected `items[i].options.db` to be left out (pass `db` once, as scheduleMany(items, { db })), got one');
    assert.equal((await scheduler.list()).length, 0);
    await scheduler.stop();
  });

  it("every onDuplicate the contract names is accepted; a schedule's expression and tz must be strings", async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    for (const mode of ['reject', 'keep', 'replace'] as const) assert.equal((await scheduler.scheduleIn('any', 10, 1, { id: mode, onDuplicate: mode })).id, mode);
    const cron = loose(scheduler.scheduleCron.bind(scheduler));
    assert.equal((await refusal(() => cron('any', 5, null))).message, 'Expected `expression` to be a cron string, got 5');
    assert.equal((await refusal(() => cron('any', '@daily', null, { tz: 5 }))).message, 'Expected `options.tz` to be an IANA time zone name, got 5');
    assert.equal((await refusal(() => scheduler.scheduleIn('any', 1, 1, { db: {} as never }))).message, 'Expected `options.db` only with a store that joins transactions (PostgresStore), got it with MemoryStore');
    await scheduler.stop();
  });
});

describe('validation messages: the store option', () => {
  it('names the methods a store-like object lacks, and suggests JsonFileStore for a folder name', async () => {
    const make = (store: unknown): Promise<ValidationError> => refusal(() => new Scheduler({ store: store as MemoryStore }));
    const expected = 'Expected `options.store` to be a Store (MemoryStore, JsonFileStore, RedisStore), got';
    assert.equal((await make({})).message, `${expected} an object ([object Object]) without open, close, insert, get, list, cancel, reschedule, revive, claim, settle, nextDueAt, counts`);
    const { nextDueAt: _n, counts: _c, ...partial } = Object.fromEntries(['open', 'close', 'insert', 'get', 'list', 'cancel', 'reschedule', 'revive', 'claim', 'settle', 'nextDueAt', 'counts'].map((m) => [m, () => undefined]));
    assert.equal((await make(partial)).message, `${expected} an object ([object Object]) without nextDueAt, counts`);
    assert.equal((await make('./data')).message, `${expected} "./data" (for a folder, pass \`new JsonFileStore("./data")\`)`);
    assert.equal((await make(42)).message, `${expected} 42`);
    assert.equal((await make(null)).message, `${expected} null`);
  });
});
