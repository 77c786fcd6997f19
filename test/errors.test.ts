/**
 * The error helpers every failure path goes through: toError turns anything a
 * handler throws into an Error whose message says what was thrown (never
 * throwing itself, whatever the value's traps do); errorSummary reads name and
 * message defensively; StoreLockedError's message names what is known.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StoreLockedError, errorSummary, toError } from '../src/errors.js';

describe('toError', () => {
  it('keeps an Error as it is', () => {
    const e = new TypeError('x');
    assert.equal(toError(e), e);
  });

  it('describes every other thrown value in the message and keeps it as `thrown`', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: [unknown, string][] = [
      ['boom', 'Non-error thrown: boom'],
      [Symbol('s'), 'Non-error thrown: Symbol(s)'],
      [undefined, 'Non-error thrown: undefined'],
      [null, 'Non-error thrown: null'],
      [42, 'Non-error thrown: 42'],
      [{ code: 7 }, 'Non-error thrown: {"code":7}'],
      [Object.assign(Object.create(null) as object, { toJSON: () => undefined }), 'Non-error thrown: [object Object]'],
      [cyclic, 'Non-error thrown: an unreadable object'],
    ];
    for (const [value, message] of cases) {
      const e = toError(value);
      assert.ok(e instanceof Error);
      assert.equal(e.message, message);
      assert.equal((e as Error & { thrown: unknown }).thrown, value);
    }
  });

  it('a Proxy whose every trap throws still becomes an Error, without throwing', () => {
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf: () => {
          throw new Error('trap');
        },
        get: () => {
          throw new Error('trap');
        },
        ownKeys: () => {
          throw new Error('trap');
        },
      },
    );
    const e = toError(hostile);
    assert.equal(e.message, 'Non-error thrown: an unreadable object');
  });
});

describe('errorSummary', () => {
  it('reads name and message, falling back when their getters throw', () => {
    assert.deepEqual(errorSummary(new RangeError('r')), { name: 'RangeError', message: 'r' });
    const bad = new Error('hidden');
    Object.defineProperty(bad, 'name', {
      get: () => {
        throw new Error('no name');
      },
    });
    Object.defineProperty(bad, 'message', {
      get: () => {
        throw new Error('no message');
      },
    });
    const summary = errorSummary(bad);
    assert.deepEqual(summary, { name: 'Error', message: '(unreadable message)' });
    assert.ok(Object.isFrozen(summary));
  });
});

describe('StoreLockedError', () => {
  it('names the host and the detail only when known', () => {
    assert.equal(new StoreLockedError('/s', 12).message, 'Expected store /s to be free, got a lock held by process 12');
    const full = new StoreLockedError('/s', 12, { host: 'db1', ageMs: 500, detail: 'it is running' });
    assert.equal(full.message, 'Expected store /s to be free, got a lock held by process 12 on host db1 (it is running)');
    assert.deepEqual([full.path, full.pid, full.host, full.ageMs, full.code], ['/s', 12, 'db1', 500, 'ERR_STORE_LOCKED']);
    const bare = new StoreLockedError('/s', 12, {});
    assert.deepEqual([bare.host, bare.ageMs], ['', undefined]);
  });
});
