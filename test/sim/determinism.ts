/**
 * The library draws ids, attempt tokens and lock nonces from
 * `crypto.randomBytes` and backoff jitter from `Math.random`. Inside a
 * simulation process both are replaced by a seeded stream, reset at the
 * start of each scenario, so a seed replays byte for byte (job ids and file
 * contents included). Only the simulation's entry points call this; no
 * code that needs real randomness runs in those processes.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { Prng } from './prng.js';

const require = createRequire(import.meta.url);
const crypto = require('node:crypto') as { randomBytes: (size: number, cb?: unknown) => Buffer };
let stream = new Prng(0);
let installed = false;

function seededBytes(size: number, cb?: unknown): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4) {
    const n = stream.next();
    for (let j = 0; j < 4 && i + j < size; j++) out[i + j] = (n >>> (8 * j)) & 0xff;
  }
  if (typeof cb === 'function') {
    queueMicrotask(() => (cb as (e: null, b: Buffer) => void)(null, out));
    return out;
  }
  return out;
}

/** Reseeds the process's randomness for the scenario `seed` (installs the seeded sources once). */
export function seedRandomness(seed: number): void {
  stream = Prng.derive(seed, 'process-randomness');
  if (installed) return;
  installed = true;
  crypto.randomBytes = seededBytes;
  syncBuiltinESMExports();
  Math.random = () => stream.float();
}
