/**
 * PostgresStore's column encoding (src/store/postgres/codec.ts): the array
 * literals it builds itself must be exactly what node-postgres would send
 * for the same arrays, and encodeRow must refuse JSON above the limit before
 * anything is sent.
 */
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Columns, arrayLiteral, encodeRow } from '../src/store/postgres/codec.js';
import { ValidationError } from '../src/errors.js';
import type { JobRecord } from '../src/store/store.js';

/** node-postgres's own serialiser of query parameters (what it would send for an array). */
const pgUtils = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue(value: unknown): unknown };
const pgLiteral = (values: readonly unknown[]): unknown => pgUtils.prepareValue(values);

describe('PostgresStore codec', () => {
  it('arrayLiteral gives the literal node-postgres builds, for any strings, numbers, booleans and nulls', () => {
    const element = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('"', '\\', '\\"', '{}', ',', 'NULL', ''), fc.double(), fc.integer(), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(fc.array(element, { maxLength: 40 }), (values) => {
        assert.equal(arrayLiteral(values), pgLiteral(values));
      }),
      { numRuns: 2000 },
    );
    assert.equal(arrayLiteral([]), '{}');
    assert.equal(arrayLiteral(['a"b', 'c\\d', null, 1.5, true]), '{"a\\"b","c\\\\d",NULL,"1.5","true"}');
  });

  it('encodeRow refuses a result above maxPayloadBytes and leaves the payload out when asked', () => {
    const record: JobRecord = { id: 'j', name: 'n', payload: { a: 1 }, state: 'completed', runAt: 1, createdAt: 1, attempt: 1, priority: 0, seq: 1, result: 'x'.repeat(50) };
    assert.throws(() => encodeRow(record, 40), (e: unknown) => e instanceof ValidationError && /result of job `j` to be at most 40 bytes/.test(e.message));
    const kept = encodeRow(record, 1000, true);
    assert.equal(kept.payload, null);
    assert.equal(kept.result, JSON.stringify('x'.repeat(50)));
    const cols = new Columns(1000);
    cols.addRow(kept);
    cols.add(record);
    assert.deepEqual(cols.payload, [null, '{"a":1}']);
    assert.deepEqual(cols.id, ['j', 'j']);
    assert.equal(cols.bytes, kept.bytes * 2 + '{"a":1}'.length);
  });
});
