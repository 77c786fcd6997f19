// How the cron modules quote values in ValidationError messages
// (src/cron/format.ts): every kind of value a caller may pass gets a readable
// form and never throws, and instants outside the Date range stay numbers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { iso, quote } from '../src/cron/format.js';
import { MAX_TIME } from '../src/validate.js';

test('quote: strings in single quotes, primitives as written, objects as JSON, the rest by type', () => {
  assert.equal(quote('0 0 30 2 *'), "'0 0 30 2 *'");
  assert.equal(quote(''), "''");
  assert.equal(quote(12.5), '12.5');
  assert.equal(quote(Number.NaN), 'NaN');
  assert.equal(quote(false), 'false');
  assert.equal(quote(undefined), 'undefined');
  assert.equal(quote(null), 'null');
  assert.equal(quote({ tz: 'UTC', n: [1] }), '{"tz":"UTC","n":[1]}');
  assert.equal(quote(new Date(0)), '"1970-01-01T00:00:00.000Z"');
  // JSON.stringify returns undefined for these...
  assert.equal(quote(Symbol('s')), 'symbol');
  assert.equal(quote(() => 1), 'function');
  // ...and throws for these.
  assert.equal(quote(10n), 'bigint');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(quote(cyclic), 'object');
  const hostile = {
    toJSON() {
      throw new Error('no');
    },
  };
  assert.equal(quote(hostile), 'object');
});

test('iso: instants in the Date range as ISO 8601, anything else as the number', () => {
  assert.equal(iso(0), '1970-01-01T00:00:00.000Z');
  assert.equal(iso(MAX_TIME), new Date(MAX_TIME).toISOString());
  assert.equal(iso(-MAX_TIME), new Date(-MAX_TIME).toISOString());
  assert.equal(iso(MAX_TIME + 1), String(MAX_TIME + 1));
  assert.equal(iso(-MAX_TIME - 1), String(-MAX_TIME - 1));
  assert.equal(iso(Number.NaN), 'NaN');
  assert.equal(iso(Number.POSITIVE_INFINITY), 'Infinity');
});
