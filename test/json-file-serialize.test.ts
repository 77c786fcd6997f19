/**
 * A record's JSON text in bounded pieces (json-file/serialize.ts): the
 * snapshot writer stringifies a big record piece by piece so one 100 MB
 * payload never holds the event loop in one JSON.stringify. `approxSize`
 * decides what is big; `isBigRecord` which records take the piecewise path;
 * `jsonPieces` makes the text, equal to JSON.stringify's.
 * (test/json-file-format.test.ts writes a ~20 MB record through a store.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PIECE, approxSize, isBigRecord, jsonPieces } from '../src/store/json-file/serialize.js';
import type { JobRecord } from '../src/store/store.js';
import { newRecord } from './json-file-helpers.js';
import { prng as random } from './helpers.js';

/**
 * A JSON value of ASCII strings that need no escape, objects and arrays,
 * and (unless `stringsOnly`) the primitives approxSize counts as 8: whole
 * numbers of at most 7 characters, booleans, null.
 */
function value(next: () => number, depth: number, stringsOnly: boolean): unknown {
  const text = (): string => 'abcdefghij'.slice(0, Math.floor(next() * 11)).repeat(1 + Math.floor(next() * 3));
  const r = next();
  if (depth === 0 || r < 0.35) {
    if (stringsOnly || r < 0.2) return text();
    const k = Math.floor(next() * 4);
    return k === 0 ? Math.floor(next() * 2e6) - 1e6 + 1 : k === 1 ? next() < 0.5 : k === 2 ? null : Math.floor(next() * 1000);
  }
  const n = Math.floor(next() * 5);
  if (r < 0.65) return Array.from({ length: n }, () => value(next, depth - 1, stringsOnly));
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) out[`${text()}${i}`] = value(next, depth - 1, stringsOnly);
  return out;
}

/** Objects and arrays inside `v` (not `v` itself): approxSize counts no comma after them. */
function inner(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  let n = 0;
  for (const x of Object.values(v)) n += (typeof x === 'object' && x !== null ? 1 : 0) + inner(x);
  return n;
}

describe('approxSize', () => {
  it('counts the JSON text of strings and containers (less at most a comma after each inner container), and at most twice it plus 2', () => {
    const next = random(1);
    for (let i = 0; i < 2000; i++) {
      const v = value(next, 4, true);
      const json = JSON.stringify(v).length;
      const size = approxSize(v, Infinity);
      assert.ok(size >= json - inner(v) && size <= 2 * json + 2, `${size} for ${json} characters: ${JSON.stringify(v)}`);
    }
  });

  it('counts short numbers, booleans and null as 8 each: never much less than their text', () => {
    const next = random(2);
    for (let i = 0; i < 2000; i++) {
      const v = value(next, 4, false);
      const size = approxSize(v, Infinity);
      assert.ok(size >= JSON.stringify(v).length - inner(v), `${size} for ${JSON.stringify(v)}`);
    }
    for (const v of [0, -1_000_000, 1234567, true, false, null, [null, false, 5], { a: true, b: null }]) {
      assert.ok(approxSize(v, Infinity) >= JSON.stringify(v).length, JSON.stringify(v));
    }
  });

  it('with a budget: counts exactly while within it, and says only "over" past it', () => {
    const next = random(3);
    for (let i = 0; i < 2000; i++) {
      const v = value(next, 4, i % 2 === 0);
      const full = approxSize(v, Infinity);
      for (const budget of [0, 1, full - 1, full, full + 1, Math.floor(full / 2)]) {
        const got = approxSize(v, budget);
        if (full <= budget) assert.equal(got, full, `budget ${budget}: ${JSON.stringify(v)}`);
        else assert.ok(got > budget && got <= full, `budget ${budget}, full ${full}, got ${got}: ${JSON.stringify(v)}`);
      }
    }
  });
});

describe('isBigRecord', () => {
  const big = 'x'.repeat(PIECE + 1);
  const small = 'x'.repeat(PIECE - 100);
  const record = (over: Partial<JobRecord>): JobRecord => ({ ...newRecord('r'), ...over }) as JobRecord;

  it('is true when any of payload, result, error message, progress or logs is over a piece, and only then', () => {
    assert.equal(isBigRecord(record({ payload: { small } })), false);
    assert.equal(isBigRecord(record({ payload: { small }, result: small, lastError: { name: 'Error', message: small }, progress: small, logs: [small] })), false);
    const fields: [string, Partial<JobRecord>][] = [
      ['payload', { payload: { big } }],
      ['payload (nested)', { payload: { list: [{ big }] } }],
      ['result', { result: [big] }],
      ['error message', { lastError: { name: 'Error', message: big } }],
      ['progress', { progress: { big } }],
      ['logs', { logs: [big] }],
    ];
    for (const [what, over] of fields) assert.equal(isBigRecord(record(over)), true, what);
  });
});

describe('jsonPieces', () => {
  /** The pieces of `v`, checked to join into JSON.stringify's text. */
  function pieces(v: unknown, piece: number): string[] {
    const out = [...jsonPieces(v, piece)];
    assert.equal(out.join(''), JSON.stringify(v) ?? 'null');
    return out;
  }

  it('never splits a surrogate pair across pieces, at either alignment', () => {
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      const text = `${prefix}${'😀'.repeat(40)}`;
      const out = pieces(text, 16);
      assert.ok(out.length > 4, `${out.length} pieces`);
      for (const p of out) assert.ok(!/\\u[dD][89abAB]/.test(p), `no escaped surrogate in ${p}`);
    }
  });

  it('drops members JSON.stringify drops and writes null where it writes null (undefined, functions, symbols)', () => {
    const long = 'y'.repeat(40);
    pieces({ u: undefined, f: () => 1, s: Symbol('s'), long, n: null }, 16);
    pieces([undefined, () => 1, Symbol('s'), long], 16);
    pieces({ deep: { f: () => 1, list: [Symbol('t'), long] } }, 16);
  });

  it('gathers small members into pieces of about the size asked for, not one piece each', () => {
    const next = random(4);
    for (let i = 0; i < 200; i++) {
      // Many members, each well under a piece: every piece but the last is at least a piece long.
      const list = Array.from({ length: 20 + Math.floor(next() * 200) }, (_, k) => (k % 2 === 0 ? k : `s${k}`));
      const v = i % 2 === 0 ? list : Object.fromEntries(list.map((x, k) => [`k${k}`, x]));
      const out = pieces(v, 64);
      const total = JSON.stringify(v).length;
      assert.ok(out.length <= Math.ceil(total / 64) + 1, `${out.length} pieces for ${total} characters`);
      for (const p of out.slice(0, -1)) assert.ok(p.length >= 64, `a piece of ${p.length}`);
      assert.ok(out.every((p) => p.length > 0), 'no empty piece');
    }
  });

  it('splits what is over a piece and keeps what is not whole', () => {
    assert.deepEqual(pieces('z'.repeat(16), 16), [JSON.stringify('z'.repeat(16))]);
    assert.deepEqual(pieces({ a: 'z'.repeat(5) }, 16), ['{"a":"zzzzz"}']);
    assert.ok(pieces('z'.repeat(17), 16).length > 1);
    assert.deepEqual(pieces(undefined, 16), ['null']);
  });
});
