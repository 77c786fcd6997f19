/**
 * Every fault the deterministic simulation found, as a named test with its
 * seed and minimal steps (test/sim/regressions.ts). Each checks SPEC.md's
 * rule for its gap with every other known gap muted. Marked `todo` while
 * main misses the rule; when the fix lands, drop the `todo` (and the gap
 * in test/sim/known.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAIN } from './sim/known.js';
import { REGRESSIONS } from './sim/regressions.js';
import { runScenario } from './sim/run.js';

describe('simulation regressions', () => {
  for (const r of REGRESSIONS) {
    it(`${r.name} (seed ${r.scenario.seed}, ${r.invariant})`, { todo: r.todo }, async () => {
      const result = await runScenario(r.scenario, { expect: { ...MAIN, [r.gap]: true } });
      assert.ok(result.ok, `[${result.invariant}] ${result.message}\n  replay with its trace: npm run sim -- --regression ${REGRESSIONS.indexOf(r)}`);
    });
  }
});
