/**
 * The JobInfo a caller gets (get, list, the events) shares the stored
 * record's payload and result: they are read-only whatever the store and
 * however it got the record, so a caller's change can neither reach what
 * the handler is given nor what the next read answers. A JsonFileStore
 * that reopened its folder parsed its records from disk; before this test
 * their payloads were plain objects, and a write to `(await get(id)).payload`
 * changed the job in memory (its handler ran with the changed payload).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory.js';
import { JsonFileStore } from '../src/store/json-file.js';
import type { Store } from '../src/store/store.js';
import { T0, until } from './helpers.js';
import { removeTempDirs, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

type Jobs = { a: { order: { id: string; lines: number[] } }; r: null };

/** Every way to write into a payload a caller was given: each must throw, and change nothing. */
function assertReadOnly(payload: Jobs['a']): void {
  assert.throws(() => ((payload as { order: unknown }).order = null), TypeError);
  assert.throws(() => ((payload.order as { id: string }).id = 'changed'), TypeError);
  assert.throws(() => (payload.order.lines as number[]).push(9), TypeError);
  assert.deepEqual(payload, { order: { id: 'o-1', lines: [1, 2] } });
}

async function check(makeStore: () => Store, reopen: boolean, stores: string): Promise<void> {
  const clock = new VirtualClock(T0);
  let scheduler = new Scheduler<Jobs, { r: { total: number[] } }>({ store: makeStore(), clock });
  scheduler.register('r', () => ({ total: [3] }));
  await scheduler.start();
  const info = await scheduler.scheduleIn('a', 60_000, { order: { id: 'o-1', lines: [1, 2] } });
  const done = await scheduler.scheduleIn('r', 10, null);
  await clock.advance(10);
  await until(async () => (await scheduler.get(done.id))?.state === 'completed');
  if (reopen) {
    await scheduler.stop();
    scheduler = new Scheduler<Jobs, { r: { total: number[] } }>({ store: makeStore(), clock });
    await scheduler.start();
  }
  const ran: unknown[] = [];
  scheduler.register('a', (job) => {
    ran.push(structuredClone(job.payload));
  });
  assertReadOnly((await scheduler.get(info.id))!.payload as Jobs['a']);
  assertReadOnly((await scheduler.list({ name: 'a' }))[0]!.payload as Jobs['a']);
  assertReadOnly((await scheduler.get(info.id))!.payload as Jobs['a']);
  const result = (await scheduler.get(done.id))?.result as { total: number[] };
  assert.deepEqual(result, { total: [3] });
  assert.throws(() => result.total.push(4), TypeError, `${stores}: a result`);
  assert.deepEqual((await scheduler.get(done.id))?.result, { total: [3] });
  await clock.advance(60_000);
  await until(() => ran.length > 0);
  assert.deepEqual(ran, [{ order: { id: 'o-1', lines: [1, 2] } }], `${stores}: the handler got the payload as scheduled`);
  await scheduler.stop();
}

describe('JobInfo payloads and results are read-only', () => {
  test('MemoryStore, and MemoryStore({ packed: true })', async () => {
    await check(() => new MemoryStore(), false, 'MemoryStore');
    const packed = new MemoryStore({ packed: true });
    await check(() => packed, false, 'packed');
  });

  test('JsonFileStore, as written and after a reopen (records parsed from its files)', async () => {
    const first = await tempDir();
    await check(() => new JsonFileStore(first), false, 'JsonFileStore');
    const second = await tempDir();
    await check(() => new JsonFileStore(second), true, 'JsonFileStore reopened');
  });
});
