// The JobContext a handler receives (scheduler/context.ts): one payload copy per attempt (changes to it stay for the attempt,
// never reach the store or a retry), the attempt's own payload even when the
// job is replaced while it runs, one runAt Date (the due instant), a frozen
// context whose fields are own data properties (`{ ...job }` keeps `payload`),
// and JSON.stringify / util.inspect showing them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { virtualScheduler, T0 } from './helpers.js';

type Jobs = { any: { n: number; list: number[] } };

describe('JobContext', () => {
  it('hands each attempt one payload copy: reads return it, changes stay in it', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 10 } } });
    const seen: unknown[] = [];
    scheduler.register('any', (job) => {
      const first = job.payload;
      assert.equal(job.payload, first, 'every read returns the same object');
      first.n += 10;
      first.list.push(job.attempt);
      assert.equal(job.payload.n, 11, 'a change is seen by the next read');
      seen.push(structuredClone(job.payload));
      if (job.attempt === 1) throw new Error('again');
    });
    const info = await scheduler.scheduleIn('any', 5, { n: 1, list: [] });
    await clock.advance(100);
    assert.deepEqual(seen, [
      { n: 11, list: [1] },
      { n: 11, list: [2] },
    ]);
    assert.deepEqual((await scheduler.get(info.id))?.payload, { n: 1, list: [] });
    await scheduler.stop();
  });

  it('gives an attempt its own payload when the job is replaced before the handler reads it', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const read: unknown[] = [];
    scheduler.register('any', async (job) => {
      await gate;
      read.push(job.payload);
    });
    await scheduler.scheduleIn('any', 0, { n: 1, list: [] }, { id: 'job-1' });
    await clock.advance(1);
    // Running: replaced by a new version with another payload, not yet read by the first attempt.
    await scheduler.scheduleIn('any', 1000, { n: 2, list: [] }, { id: 'job-1', onDuplicate: 'replace' });
    release();
    await clock.advance(1);
    assert.deepEqual(read, [{ n: 1, list: [] }]);
    await scheduler.stop();
  });

  it('gives one runAt Date, the due instant, and a frozen context that prints its fields', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const out: { json: unknown; shown: string; frozen: boolean; runAt: number; same: boolean }[] = [];
    scheduler.register('any', (job) => {
      out.push({ json: JSON.parse(JSON.stringify(job)), shown: inspect(job), frozen: Object.isFrozen(job), runAt: job.runAt.getTime(), same: job.runAt === job.runAt });
    });
    const info = await scheduler.scheduleIn('any', 7, { n: 1, list: [2] });
    await clock.advance(50);
    assert.equal(out.length, 1);
    const [seen] = out as [(typeof out)[number]];
    assert.equal(seen.runAt, T0 + 7);
    assert.equal(seen.same, true);
    assert.equal(seen.frozen, true);
    const json = seen.json as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ['id', 'name', 'payload', 'attempt', 'runAt', 'token']);
    assert.deepEqual({ ...json, token: typeof json.token }, { id: info.id, name: 'any', payload: { n: 1, list: [2] }, attempt: 1, runAt: new Date(T0 + 7).toISOString(), token: 'string' });
    assert.match(seen.shown, /payload: \{ n: 1, list: \[ 2 \] \}/);
    assert.match(seen.shown, /runAt: /);
    await scheduler.stop();
  });

  it('keeps payload and runAt as own properties: a spread or Object.keys of the context has them', async () => {
    // A lazy getter would save the copy for handlers that never read their payload (a no-op
    // benchmark's), but `{ ...job }` would then drop it: a handler's context is a plain record.
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const seen: { spread: Record<string, unknown>; keys: string[] }[] = [];
    scheduler.register('any', (job) => {
      seen.push({ spread: { ...job }, keys: Object.keys(job) });
    });
    await scheduler.scheduleIn('any', 7, { n: 3, list: [] });
    await clock.advance(50);
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]!.spread.payload, { n: 3, list: [] });
    assert.equal((seen[0]!.spread.runAt as Date).getTime(), T0 + 7);
    for (const key of ['id', 'name', 'payload', 'attempt', 'runAt', 'token']) assert.ok(seen[0]!.keys.includes(key), key);
  });
});
