/**
 * `godelayq retry|cancel|reschedule` on a JsonFileStore folder no process
 * holds: each change is made as the Scheduler makes it (checked by opening
 * the store again in a Scheduler), wrong states exit 5, unknown ids exit 2.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsonFileStore, Scheduler } from '../src/index.js';
import { cli, hashFolder, tempDir, writeStore } from './cli-helpers.js';

async function stateOf(dir: string, id: string): Promise<{ state: string; runAt: number; attempt: number } | undefined> {
  const scheduler = new Scheduler({ store: new JsonFileStore(dir), unref: true });
  scheduler.pause();
  await scheduler.start();
  try {
    const job = await scheduler.get(id);
    return job && { state: job.state, runAt: job.runAt.getTime(), attempt: job.attempt };
  } finally {
    await scheduler.stop();
  }
}

describe('godelayq retry / cancel / reschedule on a free JsonFileStore', () => {
  it('retry puts a dead job back, due now or --at a time; a scheduled one exits 5', async (t) => {
    const dir = tempDir(t);
    await writeStore(dir);
    const at = '2030-05-01T10:00:00.000Z';
    const r = await cli(['retry', dir, 'pay-1', '--at', at, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { job: { state: string; runAt: string } }).job.runAt, at);
    assert.deepEqual(await stateOf(dir, 'pay-1'), { state: 'scheduled', runAt: Date.parse(at), attempt: 0 });
    const again = await cli(['retry', dir, 'order-1']);
    assert.equal(again.code, 5, again.stderr);
    assert.match(again.stderr, /Expected job `order-1` to be dead or cancelled, got state 'scheduled'/);
    const missing = await cli(['retry', dir, 'nope']);
    assert.equal(missing.code, 2, missing.stderr);
    assert.deepEqual(await stateOf(dir, 'order-1'), { state: 'scheduled', runAt: Date.parse('2027-01-04T08:30:00Z'), attempt: 0 }, 'a refused retry changed the job');
  });

  it('cancel cancels a scheduled job; a finished one exits 5', async (t) => {
    const dir = tempDir(t);
    await writeStore(dir);
    const r = await cli(['cancel', dir, 'order-1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^cancelled order-1 \(order\.cancel\): cancelled$/m);
    assert.equal((await stateOf(dir, 'order-1'))?.state, 'cancelled');
    const done = await cli(['cancel', dir, 'mail-1']);
    assert.equal(done.code, 5);
    assert.match(done.stderr, /to be scheduled or running, got state 'completed'/);
  });

  it('reschedule moves a scheduled job by --in or --at; without either it is a usage error', async (t) => {
    const dir = tempDir(t);
    await writeStore(dir);
    const t0 = Date.now();
    const r = await cli(['reschedule', dir, 'order-1', '--in', '2h']);
    assert.equal(r.code, 0, r.stderr);
    const moved = await stateOf(dir, 'order-1');
    assert.equal(moved?.state, 'scheduled');
    assert.ok(moved!.runAt >= t0 + 7_200_000 && moved!.runAt <= Date.now() + 7_200_000, `runAt ${moved?.runAt}`);
    const cron = await cli(['reschedule', dir, 'report', '--at', '2027-02-01T08:00:00Z']);
    assert.equal(cron.code, 0, cron.stderr);
    assert.equal((await stateOf(dir, 'report'))?.runAt, Date.parse('2027-02-01T08:00:00Z'));
    const before = hashFolder(dir);
    const none = await cli(['reschedule', dir, 'order-1']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /expected `--at <ISO time>` or `--in <duration>`, got neither/);
    assert.deepEqual(hashFolder(dir), before, 'a usage error opened the store');
    const dead = await cli(['reschedule', dir, 'pay-1', '--in', '1m']);
    assert.equal(dead.code, 5);
  });
});
