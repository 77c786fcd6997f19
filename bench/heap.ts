/**
 * Heap benchmark: QuaternaryHeap against the same code with arity 2
 * (bench/heap-binary.ts) and three popular heaps, side by side in one process.
 *
 * Scenarios, for N = 1e4, 1e5 (and 1e6 with BENCH_FULL=1):
 * - push+pop: push N items with random keys, then pop them all (ns per item);
 * - hold: the classic timer-queue model: pop the least, push it back with
 *   key + random increment, HOLD_OPS times on a heap of N (ns per pop+push);
 * - remove: remove N/2 random ids (ns per remove);
 * - update: re-key N/2 random ids (ns per update);
 * - memory: bytes per element after building a heap of N (heapUsed +
 *   arrayBuffers after gc), not counting the items themselves.
 *
 * Every contender gets its own hand-written loop (a shared loop would make
 * its call sites polymorphic and slow everybody down), the same items, keys
 * and increments, and runs once per round in turn; figures are medians.
 *
 * Items are `{ id, key }` objects. QuaternaryHeap, BinaryHeap and flatqueue
 * keep the key themselves; tinyqueue and heap-js compare `item.key`, so their
 * memory figure does not include keys. flatqueue and tinyqueue cannot remove
 * or re-key; heap-js can, in O(n) (its update is remove + push), so it runs
 * those scenarios at N = 1e4 only, and only 1,000 of them.
 *
 * Run: npm run bench -- heap   (BENCH_FULL=1 for N = 1e6)
 */
import FlatQueue from 'flatqueue';
import { Heap as HeapJs } from 'heap-js';
import TinyQueue from 'tinyqueue';
import { QuaternaryHeap } from '../src/heap.js';
import { BinaryHeap } from './heap-binary.js';
import { type BenchOptions, type Row, isMain, measureMemory, nsPerOp, prng, printTable, sampleInterleaved, writeResults } from './lib.js';

interface Item {
  id: number;
  key: number;
}

const BASELINE = 'QuaternaryHeap';
const CONTENDERS = [BASELINE, 'arity 2', 'flatqueue', 'tinyqueue', 'heap-js'] as const;
type Contender = (typeof CONTENDERS)[number];
/** heap-js removes by a linear search: only this N or below, and only this many removes or updates. */
const HEAPJS_MAX_N = 1e4;
const HEAPJS_MAX_OPS = 1000;
const INC_MASK = (1 << 16) - 1;

const byId = { id: (item: Item) => item.id };
const byKey = (a: Item, b: Item) => a.key - b.key;

interface Input {
  n: number;
  items: Item[];
  /** initial keys */
  keys: Float64Array;
  /** hold-model increments, indexed by op & INC_MASK */
  incs: Float64Array;
  /** a random permutation of the ids: the first N/2 are removed or re-keyed */
  order: Int32Array;
  /** new keys for update */
  newKeys: Float64Array;
}

function makeInput(n: number, seed: number): Input {
  const rnd = prng(seed);
  const items: Item[] = [];
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    keys[i] = rnd() * n;
    items.push({ id: i, key: keys[i]! });
  }
  const incs = new Float64Array(INC_MASK + 1);
  for (let i = 0; i <= INC_MASK; i++) incs[i] = rnd() * n;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const newKeys = new Float64Array(n);
  for (let i = 0; i < n; i++) newKeys[i] = rnd() * n;
  return { n, items, keys, incs, order, newKeys };
}

/** Resets item.key (tinyqueue and heap-js read it) to the initial keys. */
function resetKeys(input: Input): void {
  for (let i = 0; i < input.n; i++) input.items[i]!.key = input.keys[i]!;
}

// ---- builders (untimed) ----

function buildQuaternary(input: Input): QuaternaryHeap<Item> {
  const h = new QuaternaryHeap<Item>(byId);
  for (let i = 0; i < input.n; i++) h.push(input.items[i]!, input.keys[i]!);
  return h;
}
function buildBinary(input: Input): BinaryHeap<Item> {
  const h = new BinaryHeap<Item>(byId);
  for (let i = 0; i < input.n; i++) h.push(input.items[i]!, input.keys[i]!);
  return h;
}
function buildFlat(input: Input): FlatQueue<Item> {
  const h = new FlatQueue<Item>();
  for (let i = 0; i < input.n; i++) h.push(input.items[i]!, input.keys[i]!);
  return h;
}
function buildTiny(input: Input): TinyQueue<Item> {
  resetKeys(input);
  const h = new TinyQueue<Item>([], byKey);
  for (let i = 0; i < input.n; i++) h.push(input.items[i]!);
  return h;
}
function buildHeapJs(input: Input): HeapJs<Item> {
  resetKeys(input);
  const h = new HeapJs<Item>(byKey);
  for (let i = 0; i < input.n; i++) h.push(input.items[i]!);
  return h;
}

// ---- push N, pop N: ns per item ----

type Runner = (input: Input) => number;

const pushPop: Record<Contender, Runner> = {
  QuaternaryHeap: ({ n, items, keys }) =>
    nsPerOp(n, () => {
      const h = new QuaternaryHeap<Item>(byId);
      for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
      for (let i = 0; i < n; i++) h.pop();
    }),
  'arity 2': ({ n, items, keys }) =>
    nsPerOp(n, () => {
      const h = new BinaryHeap<Item>(byId);
      for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
      for (let i = 0; i < n; i++) h.pop();
    }),
  flatqueue: ({ n, items, keys }) =>
    nsPerOp(n, () => {
      const h = new FlatQueue<Item>();
      for (let i = 0; i < n; i++) h.push(items[i]!, keys[i]!);
      for (let i = 0; i < n; i++) h.pop();
    }),
  tinyqueue: (input) => {
    resetKeys(input);
    const { n, items } = input;
    return nsPerOp(n, () => {
      const h = new TinyQueue<Item>([], byKey);
      for (let i = 0; i < n; i++) h.push(items[i]!);
      for (let i = 0; i < n; i++) h.pop();
    });
  },
  'heap-js': (input) => {
    resetKeys(input);
    const { n, items } = input;
    return nsPerOp(n, () => {
      const h = new HeapJs<Item>(byKey);
      for (let i = 0; i < n; i++) h.push(items[i]!);
      for (let i = 0; i < n; i++) h.pop();
    });
  },
};

// ---- hold model: ns per pop + push ----

function holdRunners(ops: number): Record<Contender, Runner> {
  return {
    QuaternaryHeap: (input) => {
      const h = buildQuaternary(input);
      const incs = input.incs;
      return nsPerOp(ops, () => {
        for (let i = 0; i < ops; i++) {
          const key = h.peekKey()!;
          h.push(h.pop()!, key + incs[i & INC_MASK]!);
        }
      });
    },
    'arity 2': (input) => {
      const h = buildBinary(input);
      const incs = input.incs;
      return nsPerOp(ops, () => {
        for (let i = 0; i < ops; i++) {
          const key = h.peekKey()!;
          h.push(h.pop()!, key + incs[i & INC_MASK]!);
        }
      });
    },
    flatqueue: (input) => {
      const h = buildFlat(input);
      const incs = input.incs;
      return nsPerOp(ops, () => {
        for (let i = 0; i < ops; i++) {
          const key = h.peekValue()!;
          h.push(h.pop()!, key + incs[i & INC_MASK]!);
        }
      });
    },
    tinyqueue: (input) => {
      const h = buildTiny(input);
      const incs = input.incs;
      return nsPerOp(ops, () => {
        for (let i = 0; i < ops; i++) {
          const item = h.pop()!;
          item.key += incs[i & INC_MASK]!;
          h.push(item);
        }
      });
    },
    'heap-js': (input) => {
      const h = buildHeapJs(input);
      const incs = input.incs;
      return nsPerOp(ops, () => {
        for (let i = 0; i < ops; i++) {
          const item = h.pop()!;
          item.key += incs[i & INC_MASK]!;
          h.push(item);
        }
      });
    },
  };
}

// ---- remove N/2 random ids: ns per remove ----

const removeHalf: Record<Contender, Runner | null> = {
  QuaternaryHeap: (input) => {
    const h = buildQuaternary(input);
    const { n, order } = input;
    return nsPerOp(n >> 1, () => {
      for (let i = 0; i < n >> 1; i++) h.remove(order[i]!);
    });
  },
  'arity 2': (input) => {
    const h = buildBinary(input);
    const { n, order } = input;
    return nsPerOp(n >> 1, () => {
      for (let i = 0; i < n >> 1; i++) h.remove(order[i]!);
    });
  },
  flatqueue: null,
  tinyqueue: null,
  'heap-js': (input) => {
    const h = buildHeapJs(input);
    const { n, order, items } = input;
    const ops = Math.min(n >> 1, HEAPJS_MAX_OPS);
    return nsPerOp(ops, () => {
      for (let i = 0; i < ops; i++) h.remove(items[order[i]!]!);
    });
  },
};

// ---- update N/2 random ids: ns per update ----

const updateHalf: Record<Contender, Runner | null> = {
  QuaternaryHeap: (input) => {
    const h = buildQuaternary(input);
    const { n, order, newKeys } = input;
    return nsPerOp(n >> 1, () => {
      for (let i = 0; i < n >> 1; i++) h.update(order[i]!, newKeys[i]!);
    });
  },
  'arity 2': (input) => {
    const h = buildBinary(input);
    const { n, order, newKeys } = input;
    return nsPerOp(n >> 1, () => {
      for (let i = 0; i < n >> 1; i++) h.update(order[i]!, newKeys[i]!);
    });
  },
  flatqueue: null,
  tinyqueue: null,
  'heap-js': (input) => {
    const h = buildHeapJs(input);
    const { n, order, newKeys, items } = input;
    const ops = Math.min(n >> 1, HEAPJS_MAX_OPS);
    return nsPerOp(ops, () => {
      for (let i = 0; i < ops; i++) {
        const item = items[order[i]!]!;
        h.remove(item);
        item.key = newKeys[i]!;
        h.push(item);
      }
    });
  },
};

// ---- memory: bytes per element ----

const builders: Record<Contender, (input: Input) => unknown> = {
  QuaternaryHeap: buildQuaternary,
  'arity 2': buildBinary,
  flatqueue: buildFlat,
  tinyqueue: buildTiny,
  'heap-js': buildHeapJs,
};

function bytesPerElement(contender: Contender, input: Input): number {
  const before = measureMemory();
  const heap = builders[contender](input);
  const after = measureMemory();
  // Keep the heap reachable until after the second measurement.
  if (heap === null) throw new Error('unreachable');
  return (after - before) / input.n;
}

const fmtN = (n: number) => {
  const exp = Math.floor(Math.log10(n));
  const mantissa = n / 10 ** exp;
  return `${mantissa === 1 ? '' : mantissa}e${exp}`.replace(/^e/, '1e');
};

export async function run(opts: BenchOptions): Promise<void> {
  const sizes = opts.full ? [1e4, 1e5, 1e6] : [1e4, 1e5];
  const holdOps = opts.full ? 1e6 : 3e5;
  const hold = holdRunners(holdOps);
  const rows: Row[] = [];
  const samples: Record<string, unknown> = {};
  const started = Date.now();

  // No gc() between timed runs: a forced gc there makes V8 throw away and
  // redo the optimized code of every contender, again and again.
  const each = (fn: Runner | null, input: Input) => (fn === null ? null : () => fn(input));

  const record = (scenario: string, results: Record<string, { median: number } | null>, note?: (c: Contender) => string | undefined) => {
    samples[scenario] = results;
    for (const c of CONTENDERS) {
      const r = results[c] ?? null;
      const extra = note?.(c);
      rows.push({ scenario, contender: c, value: r === null ? null : r.median, ...(extra === undefined ? {} : { note: extra }) });
    }
  };

  for (const n of sizes) {
    const input = makeInput(n, 0x5eed + n);
    const rounds = 5;
    const tag = `N=${fmtN(n)}`;

    record(`push+pop ${tag} (ns/item)`, sampleInterleaved(rounds, Object.fromEntries(CONTENDERS.map((c) => [c, each(pushPop[c], input)]))));

    record(
      `hold ${tag}, ${fmtN(holdOps)} ops (ns/pop+push)`,
      sampleInterleaved(rounds, Object.fromEntries(CONTENDERS.map((c) => [c, each(hold[c], input)]))),
    );

    const slowOk = (c: Contender) => c !== 'heap-js' || n <= HEAPJS_MAX_N;
    const naNote = (c: Contender) =>
      c === 'flatqueue' || c === 'tinyqueue'
        ? 'no remove/update'
        : c !== 'heap-js'
          ? undefined
          : n > HEAPJS_MAX_N
            ? 'O(n): skipped'
            : `O(n): ${Math.min(n >> 1, HEAPJS_MAX_OPS)} ops`;
    record(
      `remove N/2 ${tag} (ns/remove)`,
      sampleInterleaved(
        rounds,
        Object.fromEntries(CONTENDERS.map((c) => [c, slowOk(c) ? each(removeHalf[c], input) : null])),
      ),
      naNote,
    );
    record(
      `update N/2 ${tag} (ns/update)`,
      sampleInterleaved(
        rounds,
        Object.fromEntries(CONTENDERS.map((c) => [c, slowOk(c) ? each(updateHalf[c], input) : null])),
      ),
      (c) => (c === 'heap-js' && n <= HEAPJS_MAX_N ? `${naNote(c)}, remove + push` : naNote(c)),
    );

    // Memory is deterministic enough for one build each, median of three to shrug off gc noise.
    record(
      `memory ${tag} (bytes/element)`,
      sampleInterleaved(3, Object.fromEntries(CONTENDERS.map((c) => [c, () => bytesPerElement(c, input)])), 0),
      (c) => (c === 'tinyqueue' || c === 'heap-js' ? 'keys live in the items' : undefined),
    );
  }

  const table = printTable('Heap benchmark (median of rounds; ratio = value / QuaternaryHeap, above 1 is slower or bigger)', rows, {
    baseline: BASELINE,
    unit: 'value',
  });
  writeResults('heap', {
    full: opts.full,
    sizes,
    holdOps,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    rows,
    samples,
    table,
  });
}

if (isMain(import.meta.url)) {
  await run({ full: process.env.BENCH_FULL === '1' });
}
