/**
 * The `godelayq` command beside a running app: a child process holds the
 * JsonFileStore open (its LOCK taken) and writes. Reads never fail, whatever
 * point of an append they land on, and never change a byte of the folder;
 * retry / cancel / reschedule are refused (exit 3, naming the holder's pid)
 * and change nothing; once the app has stopped they work.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cli, cliJson, hashFolder, startHolder, tempDir, writeStore } from './cli-helpers.js';

interface JobsJson {
  jobs: { id: string }[];
  matched: number;
  source: { readPoint: { offset: number; size: number }; lockHolder?: { pid: number } };
}

describe('godelayq beside an app that holds the store open', { timeout: 600_000 }, () => {
  it('jobs and show never fail while the app writes, and change no byte while it holds the store', async (t) => {
    const dir = tempDir(t);
    await writeStore(dir);
    const holder = await startHolder(dir);
    t.after(() => holder.exit());
    assert.equal(await holder.send('burst 50'), 'done 50');

    // Held but idle: a read changes nothing (LOCK included: its heartbeat is slowed down).
    const before = hashFolder(dir);
    const idle = await cliJson<JobsJson>(['jobs', dir, '--limit', '0']);
    assert.equal(idle.matched, 55);
    assert.equal(idle.source.lockHolder?.pid, holder.pid);
    const shown = await cli(['show', dir, 'live-50']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`LOCK names process ${holder.pid}`));
    await cli(['stats', dir]);
    assert.deepEqual(hashFolder(dir), before, 'reading changed the folder of a store held by a running app');

    // While it writes (a job every 2 ms): every read succeeds and sees a consistent prefix.
    holder.post('stream 2');
    let last = 55;
    for (let i = 0; i < 6; i++) {
      const r = await cli(['jobs', dir, '--limit', '0', '--json']);
      assert.equal(r.code, 0, `read ${i} failed while the app wrote:\n${r.stderr}`);
      const read = JSON.parse(r.stdout) as JobsJson;
      assert.ok(read.matched >= last, `read ${i} saw ${read.matched} jobs after ${last}`);
      // Acknowledged jobs are written in order: what a read sees is live-1 … live-k, no gap.
      const live = read.jobs.filter((j) => j.id.startsWith('live-')).map((j) => Number(j.id.slice(5))).sort((a, b) => a - b);
      assert.deepEqual(live, Array.from({ length: live.length }, (_, k) => k + 1));
      assert.ok(read.source.readPoint.offset <= read.source.readPoint.size);
      last = read.matched;
      const one = await cli(['show', dir, `live-${live.length}`]);
      assert.equal(one.code, 0, one.stderr);
    }
    const done = Number((await holder.send('stop')).split(' ')[1]);
    assert.ok(last > 55, 'the reads saw the app write');
    const after = await cliJson<JobsJson>(['jobs', dir, '--limit', '0']);
    assert.equal(after.matched, done + 5);
  });

  it('retry, cancel and reschedule are refused while the app holds the store (exit 3, holder named), then work', async (t) => {
    const dir = tempDir(t);
    await writeStore(dir);
    const holder = await startHolder(dir);
    t.after(() => holder.exit());
    const before = hashFolder(dir);
    for (const args of [['retry', dir, 'pay-1'], ['cancel', dir, 'order-1'], ['reschedule', dir, 'order-1', '--in', '5m']]) {
      const r = await cli(args);
      assert.equal(r.code, 3, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`held by process ${holder.pid}\\b`), `${args[0]} does not name the holder`);
    }
    assert.deepEqual(hashFolder(dir), before, 'a refused change wrote to the store');
    await holder.exit();
    const retried = await cli(['retry', dir, 'pay-1']);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /^retried pay-1 \(pay\): scheduled, due /);
    const job = await cliJson<{ job: { state: string; attempt: number } }>(['show', dir, 'pay-1']);
    assert.deepEqual(job.job, { ...job.job, state: 'scheduled', attempt: 0 });
  });
});
