/**
 * A/B of the heap's hold model (bench/heap.ts's inputs and loop) between this
 * tree's src/heap.ts and an older copy, with flatqueue beside them, in one
 * process: `node --expose-gc --import tsx bench/heap-ab.ts [old heap.ts] [rounds] [n] [ops]`.
 * The old copy is a heap.ts exported from another commit, e.g.
 * `mkdir -p .tmp/oldsrc && git archive main src | tar -x -C .tmp/oldsrc`
 * (the default path). Each round builds a fresh heap of n per contender and
 * times `ops` pop + push pairs (CPU time); contenders alternate within a
 * round and their order rotates between rounds. Prints a line per round
 * (with the load average), then medians, ranges and the per-round ratios.
 */
import { loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import FlatQueue from 'flatqueue';
import { INC_MASK, type Input, type Item, makeInput } from './heap.js';
import { assertEsmSource } from './lib.js';
import { QuaternaryHeap } from '../src/heap.js';

interface HandleHeap {
  push(item: Item, key: number): number;
  pop(): Item | undefined;
  peekKey(): number | undefined;
}

const [oldFile = '.tmp/oldsrc/src/heap.ts', roundsArg = '7', nArg = '200000', opsArg = nArg] = process.argv.slice(2);
const rounds = Number(roundsArg);
const n = Number(nArg);
const ops = Number(opsArg);
assertEsmSource(oldFile);
const OldHeap = ((await import(pathToFileURL(path.resolve(oldFile)).href)) as { QuaternaryHeap: new () => HandleHeap }).QuaternaryHeap;
const input = makeInput(n, ops, 0x5eed + n);
const gc = (globalThis as { gc?: () => void }).gc;

const cpuNs = (from: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(from);
  return ((used.user + used.system) * 1000) / ops;
};

// One loop per contender: a shared loop would make its call sites polymorphic.
function holdNew({ items, keys, fresh, incs }: Input): [number, number] {
  const h = new QuaternaryHeap<Item>();
  for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
  gc?.();
  let sum = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.peekKey()!;
    h.pop();
    h.push(fresh[i]!, key + incs[i & INC_MASK]!);
    sum += key;
  }
  return [cpuNs(t0), sum];
}
function holdOld({ items, keys, fresh, incs }: Input): [number, number] {
  const h = new OldHeap();
  for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
  gc?.();
  let sum = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.peekKey()!;
    h.pop();
    h.push(fresh[i]!, key + incs[i & INC_MASK]!);
    sum += key;
  }
  return [cpuNs(t0), sum];
}
function holdFlat({ items, keys, fresh, incs }: Input): [number, number] {
  const h = new FlatQueue<Item>();
  for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
  gc?.();
  let sum = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.peekValue()!;
    h.pop();
    h.push(fresh[i]!, key + incs[i & INC_MASK]!);
    sum += key;
  }
  return [cpuNs(t0), sum];
}

const contenders = { new: holdNew, old: holdOld, flatqueue: holdFlat } as const;
type Name = keyof typeof contenders;
const names = Object.keys(contenders) as Name[];
const times = new Map<Name, number[]>(names.map((c) => [c, []]));
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`hold model, n = ${n}, ${ops} ops a round, ${rounds} rounds (+1 warm-up); old = ${oldFile}; load at start ${load()} (${new Date().toISOString()})`);
let checksum: number | undefined;
for (let r = -1; r < rounds; r++) {
  const order = names.map((_, i) => names[(i + Math.max(r, 0)) % names.length]!);
  const line: string[] = [];
  for (const c of order) {
    const [ns, sum] = contenders[c](input);
    if (checksum !== undefined && sum !== checksum) throw new Error(`${c} popped other keys (checksum ${sum}, expected ${checksum})`);
    checksum = sum;
    if (r >= 0) times.get(c)!.push(ns);
    line.push(`${c} ${ns.toFixed(0)}`);
  }
  console.log(`${r < 0 ? 'warm-up' : `round ${r + 1}`}: ${line.join(', ')} CPU ns/op; load ${load()}`);
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
for (const c of names) console.log(`${c}: median ${median(times.get(c)!).toFixed(0)} CPU ns/op (${range(times.get(c)!)})`);
const ratios = (a: Name, b: Name) => times.get(a)!.map((t, i) => t / times.get(b)![i]!);
for (const [a, b] of [['new', 'flatqueue'], ['old', 'flatqueue'], ['new', 'old']] as const) {
  const r = ratios(a, b);
  console.log(`${a} / ${b}, by round: median ${median(r).toFixed(2)}x (${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)})`);
}
console.log(`load at end ${load()} (${new Date().toISOString()})`);
