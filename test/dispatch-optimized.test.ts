/**
 * The dispatch loop stays optimized from one burst to the next. When the
 * last due job has run, the scheduler's idle check reads the store's
 * counts(). LocalState built them with a spread (`{ ...tally, indexed }`)
 * whose hidden class only those short-lived objects held: once a full GC
 * collected them, V8 dropped the feedback naming it, and the optimized
 * dispatch loop (which inlines the idle check) was thrown away at the end of
 * every burst, so the next one began in the interpreter. The child runs
 * bursts with --trace-deopt and a full GC between them, as a quiet spell
 * brings; a deoptimization of dispatch at one place in more than one burst
 * is that cost paid every burst. (One-off deoptimizations, while V8 learns
 * the code, are allowed.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./fixtures/dispatch-deopt-child.ts', import.meta.url));

describe('dispatch stays optimized across bursts', () => {
  it('no deoptimization of the dispatch loop recurs burst after burst (a full GC between bursts)', async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', '--trace-deopt', '--import', 'tsx', child], {
      env: { ...process.env, N: '20000', ROUNDS: '4' },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
    });
    assert.match(stdout, /=== done/, 'the child ran every burst');
    let burst = -1;
    /** "reason @ bytecode offset" -> the bursts it happened in. */
    const sites = new Map<string, Set<number>>();
    for (const line of stdout.split('\n')) {
      const marker = /^=== burst (\d+)/.exec(line);
      if (marker) burst = Number(marker[1]);
      const deopt = /reason: ([^)]*)\): begin\. deoptimizing \S+ <JSFunction dispatch .*bytecode offset (\d+)/.exec(line);
      if (deopt && burst >= 0) {
        const site = `${deopt[1]} @ ${deopt[2]}`;
        sites.set(site, (sites.get(site) ?? new Set()).add(burst));
      }
    }
    const recurring = [...sites].filter(([, bursts]) => bursts.size > 1).map(([site, bursts]) => `${site} in bursts ${[...bursts].join(', ')}`);
    assert.deepEqual(recurring, [], 'dispatch is deoptimized at the same place burst after burst');
  });
});
