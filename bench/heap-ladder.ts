/**
 * Where the heap's time goes against flatqueue's, one promise at a time:
 * `node --import tsx bench/heap-ladder.ts [rounds] [n] [ops]`.
 *
 * bench/heap.ts's hold model (its inputs and loop: pop the least, push a
 * fresh item at that key + a random integer increment; about four items a
 * key) on six heaps, each adding one thing to the one before, in one process:
 * 1. flatqueue, the reference (binary; keys and items moved side by side;
 *    no FIFO among equal keys, no remove);
 * 2. `typed`: flatqueue's algorithm with the keys in a Float64Array, as ours
 *    keeps them (the same promises as flatqueue);
 * 3. `typed, fifo`: FIFO order among equal keys, the least way: a sequence
 *    number per entry, moved beside its key and item, compared on ties;
 * 4. `fifo, arity 2`: FIFO with the items kept still behind a handle index
 *    (what O(1) cancel by handle needs): the word beside each key is sequence
 *    number * UNIT + handle index, sifted by the production sifts made for
 *    arity 2 (bench/heap-sift-binary.ts); nothing else: no validation, no
 *    handle generations, no tombstones;
 * 5. `fifo, arity 4`: the same with src/heap-sift.ts, the sifts
 *    QuaternaryHeap runs;
 * 6. QuaternaryHeap itself: adds argument checks, generation-checked handles
 *    (a spent handle names nothing), O(1) cancel by tombstones, the id layer's
 *    branch, and growth.
 *
 * Each round builds a fresh heap of n per contender and times `ops` pop +
 * push pairs (CPU time: user + system); contenders alternate within a round
 * and their order rotates between rounds. Prints a line per round, then the
 * medians and each step's ratio to the step before and to flatqueue (by
 * round, then the median). A checksum of the popped keys shows every heap
 * did the same work (the FIFO tie-break does not change which keys pop).
 *
 * Run it as above, as bench/heap.ts runs. With `--expose-gc` each timed loop
 * follows a full collection; on this machine that made every contender
 * about 2x slower and the ratios closer together (bench/HISTORY.md, 6
 * December 2026, night), so compare runs made the same way.
 */
import { loadavg } from 'node:os';
import FlatQueue from 'flatqueue';
import { QuaternaryHeap } from '../src/heap.js';
import * as sift4 from '../src/heap-sift.js';
import * as sift2 from './heap-sift-binary.js';
import { INC_MASK, type Input, type Item, makeInput } from './heap.js';
import { isMain, median } from './lib.js';

/** flatqueue's algorithm with typed keys: binary, no FIFO, keys and items moved side by side. */
export class TypedQueue {
  keys = new Float64Array(64);
  items: (Item | undefined)[] = [];
  length = 0;

  push(item: Item, key: number): void {
    let pos = this.length++;
    if (pos === this.keys.length) {
      const keys = new Float64Array(pos * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    const keys = this.keys;
    const items = this.items;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const pk = keys[parent]!;
      if (key >= pk) break;
      keys[pos] = pk;
      items[pos] = items[parent];
      pos = parent;
    }
    keys[pos] = key;
    items[pos] = item;
  }

  pop(): Item | undefined {
    if (this.length === 0) return undefined;
    const keys = this.keys;
    const items = this.items;
    const top = items[0];
    const n = --this.length;
    if (n > 0) {
      const key = keys[n]!;
      const item = items[n];
      const half = n >> 1;
      let pos = 0;
      while (pos < half) {
        let child = 2 * pos + 1;
        let ck = keys[child]!;
        const right = child + 1;
        if (right < n) {
          const rk = keys[right]!;
          if (rk < ck) {
            child = right;
            ck = rk;
          }
        }
        if (ck >= key) break;
        keys[pos] = ck;
        items[pos] = items[child];
        pos = child;
      }
      keys[pos] = key;
      items[pos] = item;
    }
    items[n] = undefined;
    return top;
  }

  peekKey(): number | undefined {
    return this.length === 0 ? undefined : this.keys[0];
  }
}

/** TypedQueue with FIFO order among equal keys: a sequence number per entry, moved beside its key and item (three arrays, no handles). */
export class TypedFifoQueue {
  keys = new Float64Array(64);
  seqs = new Float64Array(64);
  items: (Item | undefined)[] = [];
  length = 0;
  seq = 0;

  push(item: Item, key: number): void {
    let pos = this.length++;
    if (pos === this.keys.length) {
      const keys = new Float64Array(pos * 2);
      keys.set(this.keys);
      this.keys = keys;
      const seqs = new Float64Array(pos * 2);
      seqs.set(this.seqs);
      this.seqs = seqs;
    }
    const keys = this.keys;
    const seqs = this.seqs;
    const items = this.items;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const pk = keys[parent]!;
      if (key >= pk) break;
      keys[pos] = pk;
      seqs[pos] = seqs[parent]!;
      items[pos] = items[parent];
      pos = parent;
    }
    keys[pos] = key;
    seqs[pos] = this.seq++;
    items[pos] = item;
  }

  pop(): Item | undefined {
    if (this.length === 0) return undefined;
    const keys = this.keys;
    const seqs = this.seqs;
    const items = this.items;
    const top = items[0];
    const n = --this.length;
    if (n > 0) {
      const key = keys[n]!;
      const seq = seqs[n]!;
      const item = items[n];
      const half = n >> 1;
      let pos = 0;
      while (pos < half) {
        let child = 2 * pos + 1;
        let ck = keys[child]!;
        const right = child + 1;
        if (right < n) {
          const rk = keys[right]!;
          if (rk < ck || (rk === ck && seqs[right]! < seqs[child]!)) {
            child = right;
            ck = rk;
          }
        }
        if (ck > key || (ck === key && seqs[child]! > seq)) break;
        keys[pos] = ck;
        seqs[pos] = seqs[child]!;
        items[pos] = items[child];
        pos = child;
      }
      keys[pos] = key;
      seqs[pos] = seq;
      items[pos] = item;
    }
    items[n] = undefined;
    return top;
  }

  peekKey(): number | undefined {
    return this.length === 0 ? undefined : this.keys[0];
  }
}

/**
 * The least a FIFO heap with handles needs around a module's sifts:
 * `keys` and `words` by slot, items by handle index in `cells`, free handle
 * indexes kept in `words` past the length (as QuaternaryHeap keeps them).
 * Written twice (below) so each class calls its own sifts monomorphically.
 */
export class Fifo2 {
  keys = new Float64Array(64);
  words = Float64Array.from({ length: 64 }, (_, i) => i);
  cells: (Item | undefined)[] = new Array<Item | undefined>(64).fill(undefined);
  length = 0;
  seq = 0;

  push(item: Item, key: number): void {
    if (this.length === this.keys.length) this.grow();
    const slot = this.length++;
    const h = this.words[slot]!;
    this.cells[h] = item;
    sift2.siftUp(this.keys, this.words, slot, key, h, this.seq++);
  }

  pop(): Item | undefined {
    const n = this.length;
    if (n === 0) return undefined;
    const words = this.words;
    const h = sift2.handleOf(words[0]!);
    const item = this.cells[h];
    this.cells[h] = undefined;
    const last = n - 1;
    this.length = last;
    if (last > 0) sift2.siftDown(this.keys, words, 0, last, last);
    words[last] = h;
    return item;
  }

  peekKey(): number | undefined {
    return this.length === 0 ? undefined : this.keys[0];
  }

  grow(): void {
    const cap = this.keys.length * 2;
    const keys = new Float64Array(cap);
    keys.set(this.keys);
    const words = new Float64Array(cap);
    words.set(this.words);
    for (let i = this.keys.length; i < cap; i++) words[i] = i;
    for (let i = this.keys.length; i < cap; i++) this.cells.push(undefined);
    this.keys = keys;
    this.words = words;
  }
}

/** Fifo2 with src/heap-sift.ts (arity 4): the sifts QuaternaryHeap runs. */
export class Fifo4 {
  keys = new Float64Array(64);
  words = Float64Array.from({ length: 64 }, (_, i) => i);
  cells: (Item | undefined)[] = new Array<Item | undefined>(64).fill(undefined);
  length = 0;
  seq = 0;

  push(item: Item, key: number): void {
    if (this.length === this.keys.length) this.grow();
    const slot = this.length++;
    const h = this.words[slot]!;
    this.cells[h] = item;
    sift4.siftUp(this.keys, this.words, slot, key, h, this.seq++);
  }

  pop(): Item | undefined {
    const n = this.length;
    if (n === 0) return undefined;
    const words = this.words;
    const h = sift4.handleOf(words[0]!);
    const item = this.cells[h];
    this.cells[h] = undefined;
    const last = n - 1;
    this.length = last;
    if (last > 0) sift4.siftDown(this.keys, words, 0, last, last);
    words[last] = h;
    return item;
  }

  peekKey(): number | undefined {
    return this.length === 0 ? undefined : this.keys[0];
  }

  grow(): void {
    const cap = this.keys.length * 2;
    const keys = new Float64Array(cap);
    keys.set(this.keys);
    const words = new Float64Array(cap);
    words.set(this.words);
    for (let i = this.keys.length; i < cap; i++) words[i] = i;
    for (let i = this.keys.length; i < cap; i++) this.cells.push(undefined);
    this.keys = keys;
    this.words = words;
  }
}

const cpuNs = (t0: NodeJS.CpuUsage, ops: number): number => {
  const d = process.cpuUsage(t0);
  return ((d.user + d.system) * 1000) / ops;
};

// One hold loop per contender: a shared loop would make its call sites
// polymorphic and slow every contender down.
function holdFlat({ n, items, keys, fresh, incs }: Input, ops: number): [number, number] {
  const h = new FlatQueue<Item>();
  for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
  globalThis.gc?.();
  let sum = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.peekValue()!;
    h.pop();
    h.push(fresh[i]!, key + incs[i & INC_MASK]!);
    sum += key;
  }
  return [cpuNs(t0, ops), sum];
}
function holdTyped({ n, items, keys, fresh, incs }: Input, ops: number): [number, number] {
  const h = new TypedQueue();
  for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
  globalThis.gc?.();
  let sum = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.peekKey()!;
    h.pop();
    h.push(fresh[i]!, key + incs[i & INC_MASK]!);
    sum += key;
  }
  return [cpuNs(t0, ops), sum];
}
function holdTypedFifo({ n, items, keys, fresh, incs }: Input, ops: number): [number, number] {
  const h = new TypedFifoQueue();
  for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
  globalThis.gc?.();
  let sum = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.peekKey()!;
    h.pop();
    h.push(fresh[i]!, key + incs[i & INC_MASK]!);
    sum += key;
  }
  return [cpuNs(t0, ops), sum];
}
function holdFifo2({ n, items, keys, fresh, incs }: Input, ops: number): [number, number] {
  const h = new Fifo2();
  for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
  globalThis.gc?.();
  let sum = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.peekKey()!;
    h.pop();
    h.push(fresh[i]!, key + incs[i & INC_MASK]!);
    sum += key;
  }
  return [cpuNs(t0, ops), sum];
}
function holdFifo4({ n, items, keys, fresh, incs }: Input, ops: number): [number, number] {
  const h = new Fifo4();
  for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
  globalThis.gc?.();
  let sum = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.peekKey()!;
    h.pop();
    h.push(fresh[i]!, key + incs[i & INC_MASK]!);
    sum += key;
  }
  return [cpuNs(t0, ops), sum];
}
function holdOurs({ n, items, keys, fresh, incs }: Input, ops: number): [number, number] {
  const h = new QuaternaryHeap<Item>();
  for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
  globalThis.gc?.();
  let sum = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) {
    const key = h.peekKey()!;
    h.pop();
    h.push(fresh[i]!, key + incs[i & INC_MASK]!);
    sum += key;
  }
  return [cpuNs(t0, ops), sum];
}

const LADDER = [
  ['flatqueue', holdFlat],
  ['typed', holdTyped],
  ['typed, fifo', holdTypedFifo],
  ['fifo, arity 2', holdFifo2],
  ['fifo, arity 4', holdFifo4],
  ['QuaternaryHeap', holdOurs],
] as const;
type Step = (typeof LADDER)[number][0];

/** Runs the ladder and prints it. */
function main(): void {
  const [roundsArg = '7', nArg = '200000', opsArg = nArg] = process.argv.slice(2);
  const rounds = Number(roundsArg);
  const n = Number(nArg);
  const ops = Number(opsArg);
  if (![rounds, n, ops].every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(`Expected positive integers for rounds, n and ops, got ${[roundsArg, nArg, opsArg].join(', ')}`);
  }
  const input = makeInput(n, ops, 0x5eed + n);
  const times = new Map<Step, number[]>(LADDER.map(([name]) => [name, []]));
  const load = (): string =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(`hold model, n = ${n}, ${ops} ops a round, ${rounds} rounds (+1 warm-up); load ${load()} (${new Date().toISOString()})`);
  let checksum: number | undefined;
  for (let r = -1; r < rounds; r++) {
    const line: string[] = [];
    for (let i = 0; i < LADDER.length; i++) {
      const [name, run] = LADDER[(i + Math.max(r, 0)) % LADDER.length]!;
      const [ns, sum] = run(input, ops);
      if (checksum !== undefined && sum !== checksum) throw new Error(`${name} popped other keys (checksum ${sum}, expected ${checksum})`);
      checksum = sum;
      if (r >= 0) times.get(name)!.push(ns);
      line.push(`${name} ${ns.toFixed(0)}`);
    }
    console.log(`${r < 0 ? 'warm-up' : `round ${r + 1}`}: ${line.join(', ')} CPU ns/op`);
  }
  const byRound = (a: Step, b: Step): number => median(times.get(a)!.map((t, i) => t / times.get(b)![i]!));
  console.log('\nstep             CPU ns/op  / step before  / flatqueue');
  for (let i = 0; i < LADDER.length; i++) {
    const name = LADDER[i]![0];
    const before = i > 0 ? `${byRound(name, LADDER[i - 1]![0]).toFixed(2)}x` : '';
    console.log(`${name.padEnd(16)} ${median(times.get(name)!).toFixed(0).padStart(9)}  ${before.padStart(13)}  ${byRound(name, 'flatqueue').toFixed(2).padStart(8)}x`);
  }
  console.log(`load at end ${load()} (${new Date().toISOString()})`);
}

if (isMain(import.meta.url)) main();
