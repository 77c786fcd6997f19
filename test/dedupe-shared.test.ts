/**
 * Dedupe windows on RedisStore across processes: two child processes race
 * the same windows (one INSERT script decides each call), and exactly one
 * job per window exists; a debounce race keeps one job per window too.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Scheduler } from '../src/scheduler.js';
import { RedisStore } from '../src/redis.js';
import { deletePrefix, redisSkip, useRedisServer } from './redis-server.js';
import { spawnWorker, waitFor, type Worker } from './fixtures/redis-workers.js';
import { assertOneJobPerWindow, type Outcome } from './fixtures/dedupe-race-check.js';

const CHILD = fileURLToPath(new URL('./fixtures/dedupe-race-child.ts', import.meta.url));
const COUNT = 200;

async function race(url: string, prefix: string, mode: 'throttle' | 'debounce'): Promise<Outcome[][]> {
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < 2; i++) workers.push(await spawnWorker({ url, prefix, count: COUNT, mode }, undefined, CHILD));
    const redis = new Redis(url);
    await redis.set(`${prefix}:go`, '1');
    redis.disconnect();
    const done = (w: Worker): { outcomes: Outcome[] } | undefined => w.events.find((e) => e.ev === 'done') as { outcomes: Outcome[] } | undefined;
    await waitFor(() => workers.every((w) => done(w) !== undefined || w.child.exitCode !== null), 120_000, 'both children scheduled');
    return workers.map((w) => {
      const d = done(w);
      assert.ok(d, `child ${w.pid} failed: ${w.stderr.join('')}`);
      return d.outcomes;
    });
  } finally {
    for (const w of workers) await w.stop();
  }
}

describe('dedupe windows on RedisStore, two processes', { skip: redisSkip }, () => {
  const server = useRedisServer();

  for (const mode of ['throttle', 'debounce'] as const) {
    it(`${mode}: racing calls of two processes create exactly one job per window`, async () => {
      const prefix = `dedupe-${mode}`;
      const [a, b] = (await race(server.url, prefix, mode)) as [Outcome[], Outcome[]];
      const scheduler = new Scheduler<{ race: { pid: number } }>({ store: new RedisStore({ url: server.url, prefix }) });
      await scheduler.start();
      try {
        assertOneJobPerWindow(a, b, mode, COUNT, await scheduler.list({ name: 'race' }));
      } finally {
        await scheduler.stop();
        await deletePrefix(server.url, prefix);
      }
    });
  }
});
