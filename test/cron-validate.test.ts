/**
 * validateRecurrence (what a schedule is checked for before it is stored, and the messages)
 * and recurrenceSignature (when a re-declared schedule is "the same").
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recurrenceSignature, validateRecurrence, type RecurrenceSpec } from '../src/cron.js';
import { ValidationError } from '../src/errors.js';

const at = (iso: string): number => Date.parse(iso);

function rejects(spec: RecurrenceSpec, now: number, ...fragments: (string | RegExp)[]): void {
  assert.throws(
    () => validateRecurrence(spec, now),
    (error: unknown) => {
      assert.ok(error instanceof ValidationError, `expected ValidationError, got ${String(error)}`);
      assert.equal(error.code, 'ERR_VALIDATION');
      assert.match(error.message, /^Expected /);
      for (const f of fragments) {
        if (typeof f === 'string') assert.ok(error.message.includes(f), `message ${JSON.stringify(error.message)} lacks ${f}`);
        else assert.match(error.message, f);
      }
      return true;
    },
  );
}

describe('validateRecurrence', () => {
  const now = at('2025-01-01T00:00:00Z');

  it('accepts good specs and returns the first slot at or after max(now, startAt)', () => {
    // 2025-01-01 is a Wednesday; 09:00 in Shanghai is 01:00Z.
    assert.equal(validateRecurrence({ cron: '0 9 * * 1-5', tz: 'Asia/Shanghai' }, now), at('2025-01-01T01:00:00Z'));
    assert.equal(validateRecurrence({ cron: ' 0  0  9 * * * ' }, now), at('2025-01-01T09:00:00Z'));
    assert.equal(validateRecurrence({ cron: '0 0 29 2 *' }, now), at('2028-02-29T00:00:00Z'));
    assert.equal(validateRecurrence({ cron: '@daily', tz: 'america/new_york' }, now), at('2025-01-01T05:00:00Z'));
    assert.equal(validateRecurrence({ every: 1000, startAt: now, endAt: now + 5000 }, now), now);
    assert.equal(validateRecurrence({ every: 1000, anchor: 5 }, now), now + 5);
    assert.equal(validateRecurrence({ cron: '0 * * * *', startAt: now + 90 * 60_000 }, now), at('2025-01-01T02:00:00Z'));
  });

  it('rejects expressions that never fire, naming them', () => {
    rejects({ cron: '0 0 30 2 *' }, now, "'0 0 30 2 *'", /never/);
    rejects({ cron: '0 0 31 4,6 *' }, now, "'0 0 31 4,6 *'", /never/);
    rejects({ cron: '0 0 29 2 *', endAt: at('2027-12-31T00:00:00Z') }, now, "'0 0 29 2 *'", /no slot/);
  });

  it('rejects unparseable expressions and the wrong number of fields', () => {
    rejects({ cron: '61 * * * *' }, now, "'61 * * * *'");
    rejects({ cron: '* * *' }, now, "'* * *'", '3 fields');
    rejects({ cron: '' }, now, "''", '0 fields');
    rejects({ cron: '0 0 0 1 1 * 2030' }, now, "'0 0 0 1 1 * 2030'", '7 fields');
    rejects({ cron: 'every day' }, now, "'every day'");
    rejects({ cron: '@weekdays' }, now, "'@weekdays'", '@daily');
    rejects({ cron: 'H 9 * * *' }, now, "'H 9 * * *'", /hashed/);
    rejects({ cron: 42 as unknown as string }, now, 'got 42');
  });

  it('rejects a bad time zone, naming it and the expression', () => {
    rejects({ cron: '0 0 * * *', tz: 'Mars/Olympus' }, now, "'Mars/Olympus'", "'0 0 * * *'");
    rejects({ cron: '0 0 * * *', tz: '' }, now, "got ''");
  });

  it('rejects bad bounds and bad every', () => {
    rejects({ cron: '0 0 * * *', startAt: now + 10, endAt: now }, now, 'endAt', 'startAt');
    rejects({ cron: '0 0 * * *', endAt: now - 1 }, now, /no slot/);
    rejects({ cron: '0 0 * * *', startAt: Number.NaN }, now, 'startAt');
    rejects({}, now, 'neither');
    rejects({ cron: '* * * * *', every: 1000 }, now, 'both');
    for (const every of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, 8.64e15 + 1, '1000']) rejects({ every } as RecurrenceSpec, now, '`every`', 'milliseconds');
    rejects({ every: 1000, tz: 'UTC' }, now, '`tz`');
    rejects({ cron: '* * * * *', anchor: 0 }, now, '`anchor`');
  });

  it('a bad interval is reported as such, not as the anchor derived from it', () => {
    // What the scheduler passes for scheduleEvery(1.5) and scheduleEvery(2 ** 53): anchor = now + every.
    for (const every of [1.5, 2 ** 53]) {
      assert.throws(
        () => validateRecurrence({ every, anchor: now + every }, now),
        (e: unknown) => e instanceof ValidationError && e.message.startsWith('Expected `every`') && !e.message.includes('anchor'),
        String(every),
      );
    }
    // A valid interval whose first slot is past the end of time.
    rejects({ every: 8.64e15, anchor: now + 8.64e15 }, now, 'every 8640000000000000 ms', 'first slot');
  });

  it("rejects 'EST' and 'MST' (fixed offsets) with the zone to use instead", () => {
    rejects({ cron: '0 9 * * *', tz: 'EST' }, now, "'EST'", 'fixed UTC−05:00', "'America/New_York'", "'America/Panama'");
    rejects({ cron: '0 9 * * *', tz: 'est' }, now, "'America/New_York'");
    rejects({ cron: '0 9 * * *', tz: 'MST' }, now, 'fixed UTC−07:00', "'America/Denver'", "'America/Phoenix'");
    // Zones that follow a region's DST rules are fine, aliases included.
    assert.equal(validateRecurrence({ cron: '0 9 * * *', tz: 'EST5EDT' }, at('2025-07-01T00:00:00Z')), at('2025-07-01T13:00:00Z'));
    assert.equal(validateRecurrence({ cron: '0 9 * * *', tz: 'America/Panama' }, at('2025-07-01T00:00:00Z')), at('2025-07-01T14:00:00Z'));
  });
});

describe('recurrenceSignature', () => {
  it('is canonical: key order, whitespace, defaults and the anchor do not matter', () => {
    const a = recurrenceSignature({ cron: '0 9 * * 1-5', tz: 'UTC', misfire: 'once', priority: 0, retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 5 } } });
    const b = recurrenceSignature({
      retry: { backoff: { delay: 5, type: 'fixed' }, maxRetries: 1 },
      priority: 0,
      cron: ' 0  9 * * 1-5 ',
      anchor: 123,
      limit: undefined,
    });
    assert.equal(a, b);
    assert.equal(recurrenceSignature({ every: 1000, anchor: 1 }), recurrenceSignature({ every: 1000, anchor: 2, misfire: 'once' }));
    assert.equal(recurrenceSignature({ cron: '@daily', tz: 'america/new_york' }), recurrenceSignature({ cron: '@daily', tz: 'America/New_York' }));
    assert.equal(recurrenceSignature({ cron: '@daily', tz: 'Etc/UTC' }), recurrenceSignature({ cron: '@daily' }));
  });

  it('differs when the schedule differs', () => {
    const base = { cron: '0 9 * * *', tz: 'Europe/London' };
    const signature = recurrenceSignature(base);
    assert.notEqual(signature, recurrenceSignature({ ...base, tz: 'Europe/Paris' }));
    assert.notEqual(signature, recurrenceSignature({ ...base, cron: '0 10 * * *' }));
    assert.notEqual(signature, recurrenceSignature({ ...base, misfire: 'all' }));
    assert.notEqual(signature, recurrenceSignature({ ...base, endAt: 1 }));
    assert.notEqual(signature, recurrenceSignature({ ...base, limit: 3 }));
    assert.notEqual(recurrenceSignature({ every: 1000 }), recurrenceSignature({ every: 1001 }));
  });
});

describe('validateRecurrence: the rest of its refusals', () => {
  const now = Date.UTC(2027, 0, 1);
  it('a spec that is not an object, a bad now, and a bounded spec with no slot name what they got', () => {
    for (const bad of [null, undefined, 'every 5 s']) {
      assert.throws(
        () => validateRecurrence(bad as unknown as RecurrenceSpec, now),
        (e: unknown) => e instanceof ValidationError && e.message === `Expected a recurrence spec object, got ${String(bad)}`,
      );
    }
    for (const bad of [Number.NaN, Infinity, '1' as unknown as number]) {
      assert.throws(
        () => validateRecurrence({ every: 1000 }, bad),
        (e: unknown) => e instanceof ValidationError && e.message.startsWith('Expected `now` to be epoch milliseconds, got '),
      );
    }
    rejects({ every: 60_000, startAt: now + 1, endAt: now + 2, anchor: now }, now, 'every 60000 ms', 'endAt 2027-01-01T00:00:00.002Z', 'no slot');
    rejects({ every: 1000, anchor: 8.64e15 - 10 }, 8.64e15 - 5, 'every 1000 ms', 'before +275760-09-13T00:00:00.000Z', 'no slot after');
  });
});

describe('recurrenceSignature: values', () => {
  it('Dates become epoch ms, -0 is 0, undefined items of arrays are null, as JSON would store them', () => {
    const t = Date.UTC(2027, 5, 1);
    assert.equal(recurrenceSignature({ every: 1000, endAt: new Date(t) as unknown as number }), recurrenceSignature({ every: 1000, endAt: t }));
    assert.equal(recurrenceSignature({ every: 1000, priority: -0 }), recurrenceSignature({ every: 1000, priority: 0 }));
    assert.equal(recurrenceSignature({ every: 1000, tags: ['a', undefined, 'b'] }), recurrenceSignature({ every: 1000, tags: ['a', null, 'b'] }));
    assert.notEqual(recurrenceSignature({ every: 1000, tags: ['a', 'b'] }), recurrenceSignature({ every: 1000, tags: ['b', 'a'] }), 'array order matters');
    assert.equal(recurrenceSignature({ every: 1000, meta: { on: true, n: null } }), recurrenceSignature({ every: 1000, meta: { n: null, on: true } }));
  });

  it('a value JSON cannot hold is a ValidationError naming where it is', () => {
    const refused: [unknown, string][] = [
      [Number.NaN, 'Expected `declaration.retry.backoff.delay` to be a finite number, got NaN'],
      [Infinity, 'Expected `declaration.retry.backoff.delay` to be a finite number, got Infinity'],
      [() => 5, 'Expected `declaration.retry.backoff.delay` to be a JSON value, got a function'],
      [10n, 'Expected `declaration.retry.backoff.delay` to be a JSON value, got a bigint'],
    ];
    for (const [delay, message] of refused) {
      assert.throws(
        () => recurrenceSignature({ every: 1000, retry: { maxRetries: 1, backoff: { type: 'fixed', delay } } }),
        (e: unknown) => e instanceof ValidationError && e.message === message,
      );
    }
    assert.throws(
      () => recurrenceSignature({ every: 1000, list: [1, Symbol('s')] }),
      (e: unknown) => e instanceof ValidationError && e.message === 'Expected `declaration.list[1]` to be a JSON value, got a symbol',
    );
  });

  it('an unknown zone is kept as given (validation reports it), so two spellings of it differ', () => {
    assert.notEqual(recurrenceSignature({ cron: '@daily', tz: 'Mars/Olympus' }), recurrenceSignature({ cron: '@daily', tz: 'mars/olympus' }));
  });
});

describe('validateRecurrence: the edges of its ranges', () => {
  const now = Date.UTC(2027, 0, 1);
  it('startAt equal to endAt is a one-slot schedule when a slot falls there', () => {
    const t = Date.UTC(2027, 0, 1, 10);
    assert.equal(validateRecurrence({ cron: '0 * * * *', startAt: t, endAt: t }, now), t);
    assert.equal(validateRecurrence({ every: 1000, startAt: t, endAt: t }, now), t);
    rejects({ cron: '0 * * * *', startAt: t + 1, endAt: t + 1 }, now, 'no slot');
  });

  it('times up to ±8.64e15 ms are accepted, one more is not', () => {
    assert.equal(validateRecurrence({ every: 1000, anchor: 0, endAt: 8.64e15 }, now), now);
    assert.equal(validateRecurrence({ every: 1000, anchor: -8.64e15, startAt: -8.64e15 }, now), now);
    rejects({ every: 1000, endAt: 8.64e15 + 1 }, now, '`endAt`', 'safe integer');
    rejects({ every: 1000, anchor: -8.64e15 - 1 }, now, 'first slot of every 1000 ms');
    rejects({ cron: '0 * * * *', startAt: -8.64e15 - 1 }, now, '`startAt`');
    // every up to 8.64e15 too (MAX_TIME), and its anchor named as the first slot.
    assert.equal(validateRecurrence({ every: 8.64e15, anchor: 0 }, now), 8.64e15);
    rejects({ every: 8.64e15 + 1 }, now, '`every`');
  });
});

describe('validateRecurrence and recurrenceSignature: what a message or a signature must tell apart', () => {
  const now = Date.UTC(2027, 0, 1);
  it('a fractional time is not a time; a bad anchor on a cron spec is reported as the anchor', () => {
    rejects({ cron: '0 * * * *', startAt: now + 0.5 }, now, '`startAt`', 'safe integer');
    rejects({ every: 1000, endAt: now + 0.5 }, now, '`endAt`', 'safe integer');
    rejects({ cron: '0 * * * *', anchor: 1.5 }, now, '`anchor` to be a safe integer', 'got 1.5');
  });

  it('a cron spec with no slot left before the end of time names its expression', () => {
    // The next 1 January after now is past 8.64e15 (+275760-09-13).
    rejects({ cron: '0 0 1 1 *' }, 8.64e15 - 1000, "cron expression '0 0 1 1 *'", 'no slot before +275760-09-13T00:00:00.000Z', 'the end of representable time');
    // It does fire (every 1 January before then), so the message must not say it never does.
    assert.throws(() => validateRecurrence({ cron: '0 0 1 1 *' }, 8.64e15 - 1000), (error: unknown) => error instanceof ValidationError && !/never/.test(error.message));
    rejects({ cron: '0 0 1 1 *', tz: 'Europe/Paris' }, 8.64e15 - 1000, 'the end of representable time');
    // One whose days never occur still says so, in a zone too.
    rejects({ cron: '0 0 30 2 *', tz: 'Europe/Paris' }, now, "'0 0 30 2 *'", 'never occur');
  });

  it('collapsing whitespace keeps the fields apart', () => {
    assert.notEqual(recurrenceSignature({ cron: '1 11 * * *' }), recurrenceSignature({ cron: '11 1 * * *' }));
    assert.equal(recurrenceSignature({ cron: '1  11 * * *' }), recurrenceSignature({ cron: '1 11 * * *' }));
  });
});
