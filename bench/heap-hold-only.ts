/**
 * The hold loop of bench/heap.ts for one contender, alone in a process, for
 * deterministic measures (callgrind instruction and cache counts) and CPU
 * profiles: `node --import tsx bench/heap-hold-only.ts <contender> [n] [ops] [mode]`.
 * <contender>: `ours` (src/heap.ts), `old` (an exported older src at
 * .tmp/oldsrc/src/heap.ts, or HEAP_OLD=<file>), `flatqueue`, `tinyqueue`,
 * `heap-js`. mode `build` builds the input and the heap and stops, `hold`
 * (the default) then runs `ops` pop + push pairs: the difference of the two
 * is the hold loop (or, with HOLD_FRESH, two hold runs of different lengths). Inputs are bench/heap.ts's (same seed). Prints a checksum
 * of the popped keys so two heaps can be seen to do the same work.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import FlatQueue from 'flatqueue';
import { Heap as HeapJs } from 'heap-js';
import TinyQueue from 'tinyqueue';
import { INC_MASK, type Item, makeInput } from './heap.js';
import { assertEsmSource } from './lib.js';

interface HandleHeap {
  push(item: Item, key: number): number;
  pop(): Item | undefined;
  peekKey(): number | undefined;
}
type HeapCtor = new () => HandleHeap;

/** The checkout's root: file arguments are relative to it, wherever the process runs (perf writes its JIT dumps to the working folder). */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const [contender = 'ours', nArg = '200000', opsArg = nArg, mode = 'hold'] = process.argv.slice(2);
const n = Number(nArg);
const ops = Number(opsArg);
// HOLD_FRESH: build this many fresh items whatever `ops` is, so runs of
// different lengths differ only in hold ops (their difference then leaves out
// compilation and warm-up too).
const input = makeInput(n, Math.max(ops, Number(process.env.HOLD_FRESH ?? 0)), 0x5eed + n);
const { items, keys, fresh, incs } = input;
const byKey = (a: Item, b: Item) => a.key - b.key;

/** With --expose-gc: a full collection after the build, so the hold loop starts with no young objects and no marking under way (GC work would otherwise land in one run and not the other). */
/** CPU time of the hold loop alone. */
let loopCpu = { user: 0, system: 0 };

function settle(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

async function load(file: string): Promise<HeapCtor> {
  assertEsmSource(path.resolve(ROOT, file));
  const mod = (await import(pathToFileURL(path.resolve(ROOT, file)).href)) as { QuaternaryHeap: HeapCtor };
  return mod.QuaternaryHeap;
}

function holdHandles(Ctor: HeapCtor): number {
  let sum = 0;
  const h = new Ctor();
  for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
  settle();
  if (mode !== 'hold') return 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.peekKey()!;
    h.pop();
    h.push(fresh[i]!, key + incs[i & INC_MASK]!);
    sum += key;
  }
  loopCpu = process.cpuUsage(t0);
  return sum;
}

function holdFlat(): number {
  let sum = 0;
  const h = new FlatQueue<Item>();
  for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
  settle();
  if (mode !== 'hold') return 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.peekValue()!;
    h.pop();
    h.push(fresh[i]!, key + incs[i & INC_MASK]!);
    sum += key;
  }
  loopCpu = process.cpuUsage(t0);
  return sum;
}

function holdTiny(): number {
  let sum = 0;
  for (let i = 0; i < n; i++) items[i]!.key = keys[i]!;
  const h = new TinyQueue<Item>([], byKey);
  for (let i = 0; i < n; i++) h.push(items[i]!);
  settle();
  if (mode !== 'hold') return 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.pop()!.key;
    const item = fresh[i]!;
    item.key = key + incs[i & INC_MASK]!;
    h.push(item);
    sum += key;
  }
  loopCpu = process.cpuUsage(t0);
  return sum;
}

function holdHeapJs(): number {
  let sum = 0;
  for (let i = 0; i < n; i++) items[i]!.key = keys[i]!;
  const h = new HeapJs<Item>(byKey);
  for (let i = 0; i < n; i++) h.push(items[i]!);
  settle();
  if (mode !== 'hold') return 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.pop()!.key;
    const item = fresh[i]!;
    item.key = key + incs[i & INC_MASK]!;
    h.push(item);
    sum += key;
  }
  loopCpu = process.cpuUsage(t0);
  return sum;
}

const cpu = process.cpuUsage();
let sum: number;
if (contender === 'ours') sum = holdHandles(await load('src/heap.ts'));
else if (contender === 'old') sum = holdHandles(await load(process.env.HEAP_OLD ?? '.tmp/oldsrc/src/heap.ts'));
else if (contender === 'flatqueue') sum = holdFlat();
else if (contender === 'tinyqueue') sum = holdTiny();
else if (contender === 'heap-js') sum = holdHeapJs();
else throw new Error(`unknown contender ${contender}`);
const used = process.cpuUsage(cpu);
console.log(`${contender} n=${n} ops=${ops} ${mode}: checksum ${sum}, cpu ${((used.user + used.system) / 1000).toFixed(0)} ms, hold loop ${(((loopCpu.user + loopCpu.system) * 1000) / Math.max(1, ops)).toFixed(0)} CPU ns/op`);
