/**
 * The A/B benches (bench/ab.ts, bench/heap-ab.ts, bench/heap-hold-only.ts)
 * load another copy of the source next to this tree's. tsx compiles a .ts
 * file as CommonJS unless its nearest package.json says `"type": "module"`,
 * and such a copy runs slower (an unfair A/B), so the benches refuse it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertEsmSource } from '../bench/lib.js';

describe('bench A/B: the other copy must compile as an ES module', () => {
  it("accepts this checkout's own source", () => {
    assert.doesNotThrow(() => assertEsmSource(fileURLToPath(new URL('../src/heap.ts', import.meta.url))));
  });

  it('refuses a copy whose nearest package.json is not "type": "module", accepts one whose is', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'godelayq-ab-'));
    try {
      const file = path.join(root, 'copy', 'src', 'heap.ts');
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, 'export {};\n');
      writeFileSync(path.join(root, 'copy', 'package.json'), JSON.stringify({ type: 'commonjs' }));
      assert.throws(() => assertEsmSource(file), /does not say "type": "module".*CommonJS/);
      // The nearest one decides: a module package.json nearer than the commonjs one.
      writeFileSync(path.join(root, 'copy', 'src', 'package.json'), JSON.stringify({ type: 'module' }));
      assert.doesNotThrow(() => assertEsmSource(file));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
