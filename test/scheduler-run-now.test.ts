/**
 * A job scheduled to run now, on the real clock: it starts on the next turn
 * of the event loop (the SystemClock starts a timer already due with
 * setImmediate), not a 1 ms setTimeout later (~1.2 ms: libuv counts that
 * millisecond from the loop's next idle moment), and nothing else has to
 * wake the loop for it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Scheduler } from '../src/scheduler.js';

type Jobs = { now: null };

describe('a job scheduled to run now (SystemClock)', () => {
  it('starts on the next turn of the loop: before an immediate queued once the call resolved', async () => {
    const scheduler = new Scheduler<Jobs>();
    let started = 0;
    scheduler.register('now', () => {
      started++;
    });
    await scheduler.start();
    try {
      for (let i = 0; i < 20; i++) {
        await scheduler.scheduleIn('now', 0, null);
        // The dispatcher's timer was armed (already due) during the call, so its turn comes first.
        await new Promise<void>((resolve) => setImmediate(resolve));
        assert.equal(started, i + 1, `job ${i} started on the next turn`);
        await new Promise<void>((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      await scheduler.stop();
    }
  });

  it('starts with nothing but the scheduler\'s hold alive (a process of its own: 60 jobs, 2 ms apart)', () => {
    // An unref'd setImmediate does not keep the loop from blocking in poll: with only the hold
    // (a ref'd interval of 2^31 ms) alive, such a job waited for an unrelated wake-up, for good
    // (it stopped within ~2-7 jobs here). The child would hang; the bound ends it.
    const url = (file: string): string => JSON.stringify(pathToFileURL(path.resolve(file)).href);
    const script = [
      `const { Scheduler } = await import(${url('src/scheduler.ts')});`,
      `const { MemoryStore } = await import(${url('src/store/memory.ts')});`,
      'const s = new Scheduler({ store: new MemoryStore() });',
      'let done = () => {};',
      "s.register('now', () => done());",
      'await s.start();',
      'for (let i = 0; i < 60; i++) {',
      '  const started = new Promise((resolve) => (done = resolve));',
      "  await s.scheduleIn('now', 0, null);",
      '  await started;',
      '  await new Promise((r) => setTimeout(r, 2));',
      '}',
      'await s.stop();',
      "console.log('all 60 started');",
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(out.trim(), 'all 60 started');
  });
});
