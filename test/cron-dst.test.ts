/**
 * Cron slots across DST changes, against instants computed by hand (SPEC §2, cronie's rule):
 * interval expressions follow elapsed time (both passes of a repeated hour, nothing for a wall
 * time inside a gap), fixed-time expressions run once (first occurrence; end of the gap).
 * prevSlot and countSlots must give the same slots as nextSlot.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countSlots, nextSlot, prevSlot, type RecurrenceSpec } from '../src/cron.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');

/** Slots in `(from, until]`, forwards with nextSlot. */
function forward(spec: RecurrenceSpec, from: string, until: string): string[] {
  const out: string[] = [];
  let t: number | undefined = at(from);
  while ((t = nextSlot(spec, t)) !== undefined && t <= at(until)) out.push(iso(t));
  return out;
}

/** The same slots found backwards with prevSlot, oldest first. */
function backward(spec: RecurrenceSpec, from: string, until: string): string[] {
  const out: string[] = [];
  let t: number | undefined = at(until) + 1;
  while ((t = prevSlot(spec, t)) !== undefined && t > at(from)) out.unshift(iso(t));
  return out;
}

/** Asserts the slots in `(from, until]` forwards, backwards and counted. */
function expectSlots(spec: RecurrenceSpec, from: string, until: string, expected: string[]): void {
  const label = `${spec.cron} in ${spec.tz}`;
  assert.deepEqual(forward(spec, from, until), expected, `${label}: nextSlot`);
  assert.deepEqual(backward(spec, from, until), expected, `${label}: prevSlot`);
  assert.equal(countSlots(spec, at(from), at(until)), expected.length, `${label}: countSlots`);
}

/** Every `stepMinutes` from `first` to `last` inclusive, as ISO strings. */
function every(first: string, last: string, stepMinutes: number): string[] {
  const out: string[] = [];
  for (let t = at(first); t <= at(last); t += stepMinutes * 60_000) out.push(iso(t));
  return out;
}

const NY = 'America/New_York';

describe('New York, fall back 2026-11-01 (02:00 EDT = 06:00Z -> 01:00 EST)', () => {
  it('`*/5 * * * *` runs every 5 minutes through both passes of 01:xx, without a gap', () => {
    // 05:00Z = 01:00 EDT, 06:00Z = 01:00 EST, 07:00Z = 02:00 EST: 25 slots, 5 minutes apart.
    expectSlots({ cron: '*/5 * * * *', tz: NY }, '2026-11-01T04:59:59Z', '2026-11-01T07:00:00Z', every('2026-11-01T05:00:00Z', '2026-11-01T07:00:00Z', 5));
  });

  it('`0 * * * *` and `@hourly` run at 00:00 EDT, 01:00 EDT, 01:00 EST, 02:00 EST', () => {
    const expected = ['2026-11-01T04:00:00Z', '2026-11-01T05:00:00Z', '2026-11-01T06:00:00Z', '2026-11-01T07:00:00Z'];
    expectSlots({ cron: '0 * * * *', tz: NY }, '2026-11-01T03:30:00Z', '2026-11-01T07:30:00Z', expected);
    expectSlots({ cron: '@hourly', tz: NY }, '2026-11-01T03:30:00Z', '2026-11-01T07:30:00Z', expected);
  });

  it('from inside the second pass, the next slot is the next elapsed one', () => {
    assert.equal(nextSlot({ cron: '*/5 * * * *', tz: NY }, at('2026-11-01T06:20:00Z')), at('2026-11-01T06:25:00Z'));
    assert.equal(prevSlot({ cron: '*/5 * * * *', tz: NY }, at('2026-11-01T06:02:00Z')), at('2026-11-01T06:00:00Z'));
  });

  it('a 6-field expression whose seconds field is a list is an interval one: both passes', () => {
    expectSlots({ cron: '0,30 30 1 * * *', tz: NY }, '2026-11-01T00:00:00Z', '2026-11-01T12:00:00Z', [
      '2026-11-01T05:30:00Z',
      '2026-11-01T05:30:30Z',
      '2026-11-01T06:30:00Z',
      '2026-11-01T06:30:30Z',
    ]);
  });

  it('fixed-time expressions run once, at the first occurrence (EDT)', () => {
    expectSlots({ cron: '30 1 * * *', tz: NY }, '2026-10-31T00:00:00Z', '2026-11-02T23:00:00Z', [
      '2026-10-31T05:30:00Z',
      '2026-11-01T05:30:00Z',
      '2026-11-02T06:30:00Z',
    ]);
    expectSlots({ cron: '0 30 1 * * *', tz: NY }, '2026-10-31T12:00:00Z', '2026-11-01T12:00:00Z', ['2026-11-01T05:30:00Z']);
    // An hour list is fixed-time too: 01:00 runs once (EDT), 02:00 is EST.
    expectSlots({ cron: '0 0-3 * * *', tz: NY }, '2026-11-01T03:30:00Z', '2026-11-01T09:00:00Z', [
      '2026-11-01T04:00:00Z',
      '2026-11-01T05:00:00Z',
      '2026-11-01T07:00:00Z',
      '2026-11-01T08:00:00Z',
    ]);
  });
});

describe('New York, spring forward 2026-03-08 (02:00 EST = 07:00Z -> 03:00 EDT)', () => {
  it('`30 * * * *` runs at 01:30 EST (06:30Z) then 03:30 EDT (07:30Z): 02:30 does not exist', () => {
    expectSlots({ cron: '30 * * * *', tz: NY }, '2026-03-08T05:00:00Z', '2026-03-08T08:00:00Z', [
      '2026-03-08T05:30:00Z',
      '2026-03-08T06:30:00Z',
      '2026-03-08T07:30:00Z',
    ]);
  });

  it('`0 * * * *` runs at 01:00 EST then 03:00 EDT, an hour apart', () => {
    expectSlots({ cron: '0 * * * *', tz: NY }, '2026-03-08T05:30:00Z', '2026-03-08T08:00:00Z', [
      '2026-03-08T06:00:00Z',
      '2026-03-08T07:00:00Z',
      '2026-03-08T08:00:00Z',
    ]);
  });

  it('an interval expression whose only times are inside the gap skips that day', () => {
    expectSlots({ cron: '*/30 30 2 * * *', tz: NY }, '2026-03-07T12:00:00Z', '2026-03-09T12:00:00Z', [
      '2026-03-09T06:30:00Z',
      '2026-03-09T06:30:30Z',
    ]);
  });

  it('fixed-time: a daily 02:30 runs once, at 03:00 EDT; gap times merge with 03:00', () => {
    expectSlots({ cron: '30 2 * * *', tz: NY }, '2026-03-07T00:00:00Z', '2026-03-09T23:00:00Z', [
      '2026-03-07T07:30:00Z',
      '2026-03-08T07:00:00Z',
      '2026-03-09T06:30:00Z',
    ]);
    // 02:00, 02:30 and 03:00 are one slot; 03:30 is its own.
    expectSlots({ cron: '0 0,30 2,3 * * *', tz: NY }, '2026-03-08T00:00:00Z', '2026-03-08T12:00:00Z', ['2026-03-08T07:00:00Z', '2026-03-08T07:30:00Z']);
    // Asked from inside the landing hour, the answer does not change.
    assert.equal(nextSlot({ cron: '30 2 * * *', tz: NY }, at('2026-03-08T06:59:59.999Z')), at('2026-03-08T07:00:00Z'));
    assert.equal(nextSlot({ cron: '30 2 * * *', tz: NY }, at('2026-03-08T07:00:00Z')), at('2026-03-09T06:30:00Z'));
  });
});

describe('Lord Howe: 30-minute DST', () => {
  const LH = 'Australia/Lord_Howe';

  it('spring 2026-10-04 (02:00 +10:30 = 15:30Z -> 02:30 +11): `0 *` never runs twice 30 minutes apart', () => {
    // 00:00 and 01:00 at +10:30, 02:00 does not exist, 03:00 at +11.
    const expected = ['2026-10-03T13:30:00Z', '2026-10-03T14:30:00Z', '2026-10-03T16:00:00Z', '2026-10-03T17:00:00Z'];
    expectSlots({ cron: '0 * * * *', tz: LH }, '2026-10-03T13:00:00Z', '2026-10-03T17:00:00Z', expected);
    const slots = expected.map(at);
    for (let i = 1; i < slots.length; i++) assert.ok(slots[i]! - slots[i - 1]! >= 3_600_000, `${expected[i - 1]} -> ${expected[i]}`);
    // Fixed-time 02:00 runs once, at the end of the gap (02:30 +11); the next day at 02:00 +11.
    expectSlots({ cron: '0 2 * * *', tz: LH }, '2026-10-02T00:00:00Z', '2026-10-04T23:00:00Z', [
      '2026-10-02T15:30:00Z',
      '2026-10-03T15:30:00Z',
      '2026-10-04T15:00:00Z',
    ]);
  });

  it('fall back 2026-04-05 (02:00 +11 = 15:00Z -> 01:30 +10:30): `*/30` runs every 30 minutes through it', () => {
    expectSlots({ cron: '*/30 * * * *', tz: LH }, '2026-04-04T13:59:59Z', '2026-04-04T16:00:00Z', every('2026-04-04T14:00:00Z', '2026-04-04T16:00:00Z', 30));
    // 01:30 fixed-time: once, at its first occurrence (+11).
    expectSlots({ cron: '30 1 * * *', tz: LH }, '2026-04-04T00:00:00Z', '2026-04-05T12:00:00Z', ['2026-04-04T14:30:00Z']);
  });
});

describe('other zones', () => {
  it('London fall back 2026-10-25 (02:00 BST = 01:00Z -> 01:00 GMT): `*/15` has no gap', () => {
    expectSlots({ cron: '*/15 * * * *', tz: 'Europe/London' }, '2026-10-24T23:59:59Z', '2026-10-25T02:00:00Z', every('2026-10-25T00:00:00Z', '2026-10-25T02:00:00Z', 15));
  });

  it('London spring 2026-03-29 (01:00 GMT = 01:00Z -> 02:00 BST): fixed 01:30 runs at 02:00 BST, `0 *` skips 01:00', () => {
    expectSlots({ cron: '30 1 * * *', tz: 'Europe/London' }, '2026-03-28T00:00:00Z', '2026-03-30T23:00:00Z', [
      '2026-03-28T01:30:00Z',
      '2026-03-29T01:00:00Z',
      '2026-03-30T00:30:00Z',
    ]);
    expectSlots({ cron: '0 * * * *', tz: 'Europe/London' }, '2026-03-28T23:30:00Z', '2026-03-29T02:00:00Z', [
      '2026-03-29T00:00:00Z',
      '2026-03-29T01:00:00Z',
      '2026-03-29T02:00:00Z',
    ]);
  });

  it('São Paulo 2018-11-04 (midnight did not exist): fixed `0 0` runs at 01:00 -02, interval `0 *` skips it', () => {
    expectSlots({ cron: '0 0 * * *', tz: 'America/Sao_Paulo' }, '2018-11-02T12:00:00Z', '2018-11-05T12:00:00Z', [
      '2018-11-03T03:00:00Z',
      '2018-11-04T03:00:00Z',
      '2018-11-05T02:00:00Z',
    ]);
    expectSlots({ cron: '0 * * * *', tz: 'America/Sao_Paulo' }, '2018-11-04T01:30:00Z', '2018-11-04T04:00:00Z', [
      '2018-11-04T02:00:00Z',
      '2018-11-04T03:00:00Z',
      '2018-11-04T04:00:00Z',
    ]);
  });

  it('Chatham spring 2026-09-27 (02:45 +12:45 = 14:00Z -> 03:45 +13:45): `0 *` skips 03:00', () => {
    expectSlots({ cron: '0 * * * *', tz: 'Pacific/Chatham' }, '2026-09-26T12:00:00Z', '2026-09-26T15:15:00Z', [
      '2026-09-26T12:15:00Z',
      '2026-09-26T13:15:00Z',
      '2026-09-26T14:15:00Z',
      '2026-09-26T15:15:00Z',
    ]);
  });

  it('a year of `* * * * * *` in New York is every elapsed second; fixed-time loses the spring gap', () => {
    const from = at('2025-01-01T00:00:00Z');
    const to = at('2026-01-01T00:00:00Z');
    assert.equal(countSlots({ cron: '* * * * * *', tz: NY }, from, to), 365 * 86_400);
    // Every 15 minutes as a fixed-time list: the spring day's 4 gap times merge with 03:00 EDT
    // into one slot (92 that day), the fall day's 4 repeated times run once (96 that day).
    assert.equal(countSlots({ cron: '0 0,15,30,45 0-23 * * *', tz: NY }, from, to), 365 * 96 - 4);
    // As an interval: 92 on the spring day, 100 on the fall day.
    assert.equal(countSlots({ cron: '*/15 * * * *', tz: NY }, from, to), 365 * 96);
  });
});
