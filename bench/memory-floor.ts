/**
 * What a scheduled job must cost in memory, whatever the store's design
 * (issue 14's target: 150 B a job at 1e6, payload and ids included). Not a
 * contender in `npm run bench`: it builds no scheduler, only the least a
 * store answering `get(id)` in order of due time has to hold, three ways:
 *
 * - `own`: the jobs' ids and `{ orderId, amount }` payloads as JS strings
 *   and objects in two arrays, and four `Float64Array` columns (due time,
 *   sequence, the heap's key and word): no index by id;
 * - `map`: the same with a `Map` from id to slot instead of the ids array
 *   (how a store finds a job by id with JS objects);
 * - `arena`: no JS string or object per job: ids and payload JSON as UTF-8
 *   in one growing `Buffer`, an open-addressing hash table of slots in an
 *   `Int32Array`, and typed columns (offset, lengths, the four above).
 *
 * Bytes/job = heapUsed + arrayBuffers after gc with everything alive (read
 * again after the measurement, so V8 cannot drop a dead column), minus the
 * same before. Ids and payloads are bench/scheduler.ts's (its row "the
 * jobs' own ids and payloads alone" is this file's `own` without columns),
 * made inside the measured span: a job's own data is counted, as there.
 *
 * Run: `node --expose-gc --import tsx bench/memory-floor.ts [n]`.
 */
type Layout = 'own' | 'map' | 'arena';

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc');
  collect();
  collect();
}

function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** FNV-1a over the id's UTF-16 code units (ids here are ASCII). */
function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const HOUR = 3_600_000;
// bench/scheduler.ts's jobs: an id as the scheduler makes them (a 12-character prefix and a counter), its payload.
const idOf = (i: number): string => ['AbCdEfGhIjKl', i.toString(36)].join('');
const payloadOf = (i: number): { orderId: string; amount: number } => ({ orderId: `ord-${i}`, amount: (i % 9973) + 0.5 });

function measure(layout: Layout, n: number): { bytesPerJob: number; slackPerJob: number } {
  const now = Date.now();
  gc();
  const before = used();
  const runAt = new Float64Array(n);
  const seq = new Float64Array(n);
  const heapKey = new Float64Array(n);
  const heapWord = new Float64Array(n);
  let keep: unknown[] = [];
  let slack = 0;
  if (layout === 'arena') {
    let arena = Buffer.allocUnsafe(1 << 20);
    let end = 0;
    const offset = new Float64Array(n);
    const idBytes = new Uint16Array(n);
    const payloadBytes = new Uint32Array(n);
    let capacity = 1;
    while (capacity < n * 1.5) capacity *= 2;
    const table = new Int32Array(capacity).fill(-1);
    for (let i = 0; i < n; i++) {
      const id = idOf(i);
      const json = JSON.stringify(payloadOf(i));
      const need = Buffer.byteLength(id) + Buffer.byteLength(json);
      if (end + need > arena.length) {
        const grown = Buffer.allocUnsafe(Math.max(arena.length * 2, end + need));
        arena.copy(grown, 0, 0, end);
        arena = grown;
      }
      offset[i] = end;
      idBytes[i] = arena.write(id, end, 'utf8');
      end += idBytes[i] as number;
      payloadBytes[i] = arena.write(json, end, 'utf8');
      end += payloadBytes[i] as number;
      let slot = hash(id) & (capacity - 1);
      while (table[slot] !== -1) slot = (slot + 1) & (capacity - 1);
      table[slot] = i;
    }
    slack = arena.length - end;
    keep = [arena, offset, idBytes, payloadBytes, table];
  } else {
    const byId = new Map<string, number>();
    const idColumn: string[] = new Array<string>(n);
    const payloadColumn: unknown[] = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const id = idOf(i);
      if (layout === 'map') byId.set(id, i);
      else idColumn[i] = id;
      payloadColumn[i] = payloadOf(i);
    }
    keep = [layout === 'map' ? byId : idColumn, payloadColumn];
  }
  for (let i = 0; i < n; i++) {
    const due = now + HOUR + (i % 3_600) * 1000;
    runAt[i] = due;
    seq[i] = i + 1;
    heapKey[i] = due;
    heapWord[i] = i;
  }
  gc();
  const bytes = used() - before;
  // Read everything after the measurement, so none of it was dead during it.
  if (keep.length === 0 || (runAt[n - 1] as number) + (seq[n - 1] as number) + (heapKey[n - 1] as number) + (heapWord[n - 1] as number) <= 0) {
    throw new Error('layout not kept');
  }
  return { bytesPerJob: bytes / n, slackPerJob: slack / n };
}

const n = Number(process.argv[2] ?? 1_000_000);
console.log(`memory floor, N = ${n}: bytes a job (heapUsed + arrayBuffers after gc)`);
for (const layout of ['own', 'map', 'arena'] as const) {
  const { bytesPerJob, slackPerJob } = measure(layout, n);
  console.log(`  ${layout.padEnd(5)} ${bytesPerJob.toFixed(1).padStart(7)}${layout === 'arena' ? ` (of which the arena's doubling slack ${slackPerJob.toFixed(1)})` : ''}`);
}
