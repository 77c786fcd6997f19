/**
 * Dedupe windows on PostgresStore across processes: two child processes race
 * the same windows (each decided in the insert statement under a lock of its
 * (name, key)), and exactly one job per window exists; a debounce race keeps
 * one job per window too.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Scheduler } from '../src/scheduler.js';
import { PostgresStore } from '../src/postgres.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { spawnWorker, waitFor, type Worker } from './fixtures/redis-workers.js';
import { assertOneJobPerWindow, type Outcome } from './fixtures/dedupe-race-check.js';
import { withSchema } from './fixtures/postgres-helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/dedupe-race-child-postgres.ts', import.meta.url));
const COUNT = 200;

async function race(url: string, schema: string, mode: 'throttle' | 'debounce'): Promise<Outcome[][]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pg-dedupe-'));
  const go = path.join(dir, 'go');
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < 2; i++) workers.push(await spawnWorker({ url, schema, go, count: COUNT, mode }, undefined, CHILD));
    await writeFile(go, '1');
    const done = (w: Worker): { outcomes: Outcome[] } | undefined => w.events.find((e) => e.ev === 'done') as { outcomes: Outcome[] } | undefined;
    await waitFor(() => workers.every((w) => done(w) !== undefined || w.child.exitCode !== null), 120_000, 'both children scheduled');
    return workers.map((w) => {
      const d = done(w);
      assert.ok(d, `child ${w.pid} failed: ${w.stderr.join('')}`);
      return d.outcomes;
    });
  } finally {
    for (const w of workers) await w.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('dedupe windows on PostgresStore, two processes', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  for (const mode of ['throttle', 'debounce'] as const) {
    it(`${mode}: racing calls of two processes create exactly one job per window`, async () => {
      await withSchema(server.url, async (schema) => {
        // Created first, so the children do not race the migration too.
        const scheduler = new Scheduler<{ race: { pid: number } }>({ store: new PostgresStore({ connectionString: server.url, schema }) });
        await scheduler.start();
        try {
          const [a, b] = (await race(server.url, schema, mode)) as [Outcome[], Outcome[]];
          assertOneJobPerWindow(a, b, mode, COUNT, await scheduler.list({ name: 'race' }));
        } finally {
          await scheduler.stop();
        }
      });
    });
  }
});
