/**
 * DirectoryLoader across a real crash: a child process on a JsonFileStore is
 * killed (SIGKILL) after its jobs are durably scheduled but before the file
 * is archived, once in the middle of a file (one-off jobs in, the schedule
 * not yet) and once after the whole file. A new process reloads the file:
 * the derived ids complete the set without duplicating anything. In keep
 * mode the kill lands before the state file records the file: the restart
 * loads it again, adds nothing, and records it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirectoryLoader } from '../src/loader/loader.js';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { JsonFileStore } from '../src/store/json-file.js';
import type { JobMap } from '../src/types.js';
import { T0 } from './helpers.js';

const child = join(dirname(fileURLToPath(import.meta.url)), 'loader-crash.child.ts');

function runChild(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    proc.on('error', reject);
    proc.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('DirectoryLoader: crash between scheduling and archiving (real SIGKILL, JsonFileStore)', () => {
  for (const [killAt, label, onLoaded] of [
    [1, 'after the one-off jobs, before the schedule', 'archive'],
    [3, 'after every job, before the archive step', 'archive'],
    [3, 'after every job, before the keep-mode state file records the file', 'keep'],
  ] as const) {
    it(`killed ${label}: the restart adds what is missing and duplicates nothing`, async () => {
      const root = await mkdtemp(join(tmpdir(), 'godelayq-loader-crash-'));
      try {
        const dir = join(root, 'inbox');
        const storeDir = join(root, 'store');
        await mkdir(dir);
        await writeFile(
          join(dir, 'c.json'),
          JSON.stringify([
            { name: 'once', payload: 'a', delay: '1m' },
            { name: 'once', payload: 'b', delay: '2m' },
            { name: 'tick', every: '1h' },
          ]),
        );
        const result = await runChild([dir, storeDir, String(killAt), onLoaded]);
        assert.equal(result.signal, 'SIGKILL', `child should die by SIGKILL, got code ${result.code}: ${result.stderr}`);
        assert.ok((await readdir(dir)).includes('c.json'), 'the file was not archived');
        if (onLoaded === 'keep') assert.equal(await readFile(join(dir, '.godelayq-loader.json'), 'utf8'), '{"godelayqLoaderState":2}\n', 'nothing recorded');

        // The restart happens 5 s later: a replaced job would show a later createdAt and runAt.
        const scheduler = new Scheduler<JobMap>({ store: new JsonFileStore(storeDir), clock: new VirtualClock(T0 + 5000) });
        await scheduler.start();
        try {
          const before = await scheduler.list();
          assert.equal(before.length, killAt === 1 ? 2 : 3, 'what the child durably scheduled');
          const loader = new DirectoryLoader(scheduler, { dir, settleMs: 20, watch: false, onLoaded });
          const loaded: string[][] = [];
          loader.on('fileLoaded', (e) => loaded.push(e.jobIds));
          await loader.start();
          await loader.stop();
          assert.equal(loaded.length, 1);
          if (onLoaded === 'keep') {
            // Recorded now: a third start loads nothing.
            await loader.start();
            await loader.stop();
            assert.equal(loaded.length, 1);
          }
          const after = await scheduler.list();
          assert.equal(after.length, 3, 'every job once');
          assert.deepEqual(after.map((j) => j.id).sort(), [...loaded[0]!].sort());
          assert.deepEqual(
            after.filter((j) => j.name === 'once').map((j) => j.runAt.getTime()),
            [T0 + 60_000, T0 + 120_000],
            'one-off delays count from the first load',
          );
          for (const job of before) {
            const same = after.find((j) => j.id === job.id);
            assert.equal(same?.createdAt.getTime(), T0, 'jobs from before the crash were kept, not replaced');
            assert.equal(same?.runAt.getTime(), job.runAt.getTime());
          }
          assert.deepEqual(
            await readdir(dir).then((names) => names.sort()),
            onLoaded === 'keep' ? ['.godelayq-loader.json', 'c.json', 'error'] : ['archive', 'error'],
          );
        } finally {
          await scheduler.stop();
        }
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  }
});
