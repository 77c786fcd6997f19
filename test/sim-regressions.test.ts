/**
 * Every fault the deterministic simulation found, as a named test with its
 * seed and minimal steps (test/sim/regressions.ts). Each checks SPEC.md's
 * rule for its gap with every other known gap muted. A regression is a
 * `todo` while its gap is open in test/sim/known.ts (MAIN); when the fix
 * lands, set the gap to true there and its test becomes a normal one.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAIN } from './sim/known.js';
import { REGRESSIONS } from './sim/regressions.js';
import { runScenario } from './sim/run.js';

describe('simulation regressions', () => {
  for (const r of REGRESSIONS) {
    it(`${r.name} (seed ${r.scenario.seed}, ${r.invariant})`, MAIN[r.gap] ? {} : { todo: r.todo }, async () => {
      const result = await runScenario(r.scenario, { expect: { ...MAIN, [r.gap]: true } });
      assert.ok(result.ok, `[${result.invariant}] ${result.message}\n  replay with its trace: npm run sim -- --regression ${REGRESSIONS.indexOf(r)}`);
    });
  }
});
