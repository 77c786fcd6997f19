/**
 * `godelayq cron`: the next runs as src/cron computes them (the scheduler's
 * own planner, so the same instants a schedule would run at), with the runs
 * a daylight-saving change touches marked, in both DST rules.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextSlot } from '../src/cron.js';
import { cli, cliJson } from './cli-helpers.js';

interface CronJson {
  expression: string;
  tz: string;
  kind: string;
  runs: { at: string; local: string; dst: { kind: string; note: string } | null }[];
}

const marks = (r: CronJson): [string, string | null][] => r.runs.map((run) => [run.at, run.dst?.kind ?? null]);

describe('godelayq cron', () => {
  it('a fixed-time expression in a gap runs at its end; in a repeated hour, once (Europe/Paris)', async () => {
    const spring = await cliJson<CronJson>(['cron', '30 2 * * *', '--tz', 'Europe/Paris', '--from', '2026-03-27T12:00:00Z', '-n', '3']);
    assert.equal(spring.kind, 'fixed-time');
    assert.deepEqual(marks(spring), [
      ['2026-03-28T01:30:00.000Z', null],
      ['2026-03-29T01:00:00.000Z', 'gap'], // 02:30 does not exist: 03:00 CEST
      ['2026-03-30T00:30:00.000Z', null],
    ]);
    assert.equal(spring.runs[1]!.local, '2026-03-29 03:00:00 GMT+02:00');
    const fall = await cliJson<CronJson>(['cron', '30 2 * * *', '--tz', 'Europe/Paris', '--from', '2026-10-24T12:00:00Z', '-n', '2']);
    assert.deepEqual(marks(fall), [
      ['2026-10-25T00:30:00.000Z', 'repeated'], // the first 02:30 (CEST); the second is not a run
      ['2026-10-26T01:30:00.000Z', null],
    ]);
    assert.match(fall.runs[0]!.dst!.note, /runs once, at the first/);
  });

  it('an interval expression skips the gap and runs through both passes of the repeated hour (America/New_York)', async () => {
    const spring = await cliJson<CronJson>(['cron', '*/30 * * * *', '--tz', 'America/New_York', '--from', '2026-03-08T06:10:00Z', '-n', '3']);
    assert.equal(spring.kind, 'interval');
    assert.deepEqual(marks(spring), [
      ['2026-03-08T06:30:00.000Z', null], // 01:30 EST
      ['2026-03-08T07:00:00.000Z', 'gap'], // 03:00 EDT: 02:00 and 02:30 do not exist
      ['2026-03-08T07:30:00.000Z', null],
    ]);
    assert.match(spring.runs[1]!.dst!.note, /^2 run\(s\) at local times 02:00-03:00 skipped/);
    const fall = await cliJson<CronJson>(['cron', '0 * * * *', '--tz', 'America/New_York', '--from', '2026-11-01T04:30:00Z', '-n', '4']);
    assert.deepEqual(marks(fall), [
      ['2026-11-01T05:00:00.000Z', 'repeated'], // 01:00 EDT
      ['2026-11-01T06:00:00.000Z', 'repeated'], // 01:00 EST, the second pass
      ['2026-11-01T07:00:00.000Z', null],
      ['2026-11-01T08:00:00.000Z', null],
    ]);
    assert.deepEqual(fall.runs.slice(0, 2).map((r) => r.local), ['2026-11-01 01:00:00 GMT-04:00', '2026-11-01 01:00:00 GMT-05:00']);
  });

  it('lists the instants src/cron plans, UTC by default, in a table by default', async () => {
    const from = Date.parse('2027-01-01T00:00:00Z');
    const plan = await cliJson<CronJson>(['cron', '0 0 9 * * 1-5', '--from', '2027-01-01T00:00:00Z', '-n', '5']);
    const expected: string[] = [];
    for (let t = from - 1, i = 0; i < 5; i++) expected.push(new Date((t = nextSlot({ cron: '0 0 9 * * 1-5' }, t)!)).toISOString());
    assert.deepEqual(plan.runs.map((r) => r.at), expected);
    assert.equal(plan.tz, 'UTC');
    assert.ok(plan.runs.every((r) => r.dst === null));
    const table = await cli(['cron', '30 2 * * *', '--tz', 'Europe/Paris', '--from', '2026-03-28T12:00:00Z', '-n', '1']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^# +UTC +LOCAL \(Europe\/Paris\) +DST$/m);
    assert.match(table.stdout, /^1 +2026-03-29 01:00:00Z +2026-03-29 03:00:00 GMT\+02:00 +DST gap: local time in 02:00-03:00 does not exist/m);
    assert.match(table.stdout, /^30 2 \* \* \* is a fixed-time expression$/m);
  });

  it('finds rare runs (a leap day) far ahead', async () => {
    const leap = await cliJson<CronJson>(['cron', '0 0 29 2 *', '--from', '2027-01-01T00:00:00Z', '-n', '2']);
    assert.deepEqual(leap.runs.map((r) => r.at), ['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z']);
  });
});
