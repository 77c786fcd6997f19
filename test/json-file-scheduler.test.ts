/**
 * Scheduler on a JsonFileStore across process deaths: kill -9 mid-handler
 * (fault 2) and SIGTERM with 100 jobs running (fault 7); and the store
 * folder removed under a running scheduler (issue 11 item 1).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { StorePersistError } from '../src/errors.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { allRecords, openStore, removeTempDirs, tempDir } from './json-file-helpers.js';
import { T0, until } from './helpers.js';

after(removeTempDirs);

const CHILD = fileURLToPath(new URL('./fixtures/json-file-scheduler-child.ts', import.meta.url));

function run(...args: string[]): {
  lines: Record<string, unknown>[];
  kill(signal: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
} {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let buffer = '';
  let err = '';
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  proc.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffer.slice(0, i)) as Record<string, unknown>);
      buffer = buffer.slice(i + 1);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { lines, kill: (s) => proc.kill(s), exited, stderr: () => err };
}

describe('Scheduler + JsonFileStore across process deaths', () => {
  it('fault 2: kill -9 mid-handler: the job runs again after restart, attempt counted', async () => {
    const dir = await tempDir();
    const child = run('hang', dir);
    await until(() => child.lines.some((l) => l.started === 'crash-me'), 20_000).catch((e: unknown) => {
      throw new Error(`${String(e)}; lines: ${JSON.stringify(child.lines)}; stderr: ${child.stderr()}`);
    });
    assert.equal(child.lines.find((l) => l.started)?.attempt, 1);
    child.kill('SIGKILL');
    await child.exited;

    const scheduler = new Scheduler<{ work: { n: number } }>({ store: new JsonFileStore(dir) });
    const attempts: number[] = [];
    scheduler.register('work', (job) => {
      attempts.push(job.attempt);
      return 'second time lucky';
    });
    await scheduler.start();
    await until(async () => (await scheduler.get('crash-me'))?.state === 'completed');
    const info = await scheduler.get('crash-me');
    assert.deepEqual(attempts, [2]);
    assert.equal(info?.attempt, 2);
    assert.equal(info?.result, 'second time lucky');
    await scheduler.stop();
  });

  it('fault 7: SIGTERM with 100 jobs running: graceful stop, nothing lost', async () => {
    const dir = await tempDir();
    const child = run('busy', dir, '100');
    await until(() => child.lines.filter((l) => 'started' in l).length >= 100, 30_000).catch((e: unknown) => {
      throw new Error(`${String(e)}; lines: ${child.lines.length}; stderr: ${child.stderr()}`);
    });
    child.kill('SIGTERM');
    const { signal } = await child.exited;
    assert.equal(signal, 'SIGTERM', 'the signal is re-raised after the graceful stop');
    assert.deepEqual(child.lines.filter((l) => 'fatal' in l || 'error' in l), []);
    const done = child.lines.filter((l) => 'done' in l).map((l) => l.done);
    const completed = child.lines.filter((l) => 'completed' in l).map((l) => l.completed);
    assert.equal(done.length, 100, 'every running handler finished');
    assert.equal(completed.length, 100, 'and its completion was recorded before exit');

    const { store } = await openStore(dir);
    const records = await allRecords(store);
    assert.equal(records.length, 120);
    const byState: Record<string, number> = {};
    for (const r of records) byState[r.state] = (byState[r.state] ?? 0) + 1;
    assert.deepEqual(byState, { completed: 100, scheduled: 20 });
    for (const r of records.filter((x) => x.state === 'completed')) assert.equal(r.attempt, 1);
    await store.close();
  });
});

describe('Scheduler + JsonFileStore when the store folder is removed (issue 11 item 1)', () => {
  it('a schedule call rejects with StorePersistError, an error event says why, and nothing more is claimed', async () => {
    const dir = await tempDir();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<{ work: { n: number } }>({ store: new JsonFileStore(dir, { fsync: false }), clock });
    const errors: string[] = [];
    scheduler.on('error', ({ error }) => errors.push(error.message));
    const ran: number[] = [];
    scheduler.register('work', (job) => {
      ran.push(job.payload.n);
    });
    await scheduler.start();
    await scheduler.scheduleIn('work', 60_000, { n: 1 });
    await rm(dir, { recursive: true, force: true });
    await assert.rejects(scheduler.scheduleIn('work', 60_000, { n: 2 }), (e: unknown) => {
      assert.ok(e instanceof StorePersistError, String(e));
      assert.match(e.message, /stopped writing: it lost its (lock|files)/);
      return true;
    });
    await until(() => errors.some((m) => /stopped writing/.test(m)));
    await clock.advance(120_000);
    assert.deepEqual(ran, [], 'a store that lost its files claims nothing');
    await scheduler.stop();
  });
});
