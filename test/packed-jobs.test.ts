/**
 * PackedJobs (src/store/packed-jobs.ts): plain scheduled jobs kept as
 * columns and JSON bytes. Against a model of what was added, thawed,
 * forgotten, taken and popped, over random operations; the records it
 * rebuilds equal the ones added; memory comes back (compaction, reset).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PACKED_CHARS, PackedJobs, packable } from '../src/store/packed-jobs.js';
import { scheduledRecord } from '../src/store/record.js';
import type { JobRecord } from '../src/store/store.js';
import type { JsonValue } from '../src/types.js';
import { prng } from './helpers.js';

const T0 = Date.UTC(2027, 0, 1);

function job(id: string, runAt: number, seq: number, payload: JsonValue = { id }, name = 'work', relative = false): JobRecord {
  const r = scheduledRecord(id, name, payload, runAt, T0, relative) as JobRecord;
  r.seq = seq;
  return r;
}

const PAYLOADS: JsonValue[] = [
  null,
  0,
  -12.5e-7,
  'plain',
  'été ✓ 😀', // 2-, 3- and 4-byte UTF-8
  '\ud800', // a lone surrogate: JSON.stringify escapes it
  'quote " backslash \\ newline \n',
  [1, 'two', { three: [true, false, null] }],
  { orderId: 'ord-1', amount: 10.5, nested: { deep: ['x'] } },
  { '1': 'integer-like keys first', b: 2, a: 1 },
];

describe('packable', () => {
  test('a new scheduled one-off job is; one with any other field set is not', () => {
    const base = job('a', T0, 1);
    assert.equal(packable(base), true);
    assert.equal(packable(job('r', T0, 1, null, 'work', true)), true);
    // Every optional field of JobRecord: a field added to JobRecord must be added here (the type says which).
    const extra: { [K in Exclude<keyof JobRecord, 'id' | 'name' | 'payload' | 'state' | 'runAt' | 'createdAt' | 'attempt' | 'seq' | 'priority' | 'relative'>]-?: NonNullable<JobRecord[K]> } = {
      retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 10 } },
      timeout: 1000,
      lastError: { name: 'Error', message: 'x' },
      result: 1,
      finishedAt: T0,
      token: 't',
      recur: { every: 1000, misfire: 'once', slot: T0, count: 0, signature: 's' },
      lost: 'crash',
      progress: 1,
      logs: ['l'],
      trace: '00-00000000000000000000000000000001-0000000000000001-01',
      group: 'g',
      groupConcurrency: 2,
      dedupe: { key: 'k', until: T0 },
      retain: { complete: { count: 1 } },
      removal: { at: T0 },
    };
    for (const [key, value] of Object.entries(extra)) {
      assert.equal(packable({ ...base, [key]: value } as JobRecord), false, key);
    }
    assert.equal(packable({ ...base, priority: 1 }), false, 'priority');
    assert.equal(packable({ ...base, attempt: 1 }), false, 'attempt');
    assert.equal(packable({ ...base, state: 'running' }), false, 'state');
  });
});

describe('PackedJobs', () => {
  test('rebuilds every record it was given, any payload JSON allows', () => {
    const packed = new PackedJobs();
    PAYLOADS.forEach((p, i) => assert.equal(packed.add(job(`p${i}`, T0 + i, i + 1, p, i % 2 ? 'work' : 'ét', i % 3 === 0)), true));
    PAYLOADS.forEach((p, i) => {
      const r = packed.thaw(`p${i}`);
      assert.deepEqual(r, job(`p${i}`, T0 + i, i + 1, p, i % 2 ? 'work' : 'ét', i % 3 === 0));
      assert.equal(Object.keys(r as object).includes('relative'), i % 3 === 0);
    });
    packed.check();
  });

  test('refuses what it cannot rebuild or hold: no payload, a payload over its limit', () => {
    const packed = new PackedJobs();
    const none = job('u', T0, 1);
    (none as { payload: unknown }).payload = undefined;
    assert.equal(packed.add(none), false);
    assert.equal(packed.add(job('big', T0, 2, 'x'.repeat(MAX_PACKED_CHARS))), false); // quotes make it 2 over
    assert.equal(packed.add(job('fits', T0, 3, 'x'.repeat(MAX_PACKED_CHARS - 2))), true);
    assert.equal(packed.add(job('wide', T0, 4, '😀'.repeat((MAX_PACKED_CHARS - 2) / 2))), true); // 4 bytes a character pair
    // 3 bytes a unit: 49,146 bytes, a length whose top bit is set where it is kept (read back unsigned).
    assert.equal(packed.add(job('three', T0, 5, '✓'.repeat(MAX_PACKED_CHARS - 2))), true);
    assert.equal(packed.take('three')?.payload, '✓'.repeat(MAX_PACKED_CHARS - 2));
    assert.equal(packed.has('u') || packed.has('big'), false);
    assert.equal((packed.take('wide')?.payload as string).length, MAX_PACKED_CHARS - 2);
    assert.equal(packed.size, 1);
    packed.check();
  });

  test('pops in (runAt, seq) order; a job read in place keeps its place and is popped as that record', () => {
    const packed = new PackedJobs();
    packed.add(job('c', T0 + 5, 3));
    packed.add(job('a', T0 + 5, 1));
    packed.add(job('b', T0 + 1, 2));
    const a = packed.thaw('a');
    assert.ok(a);
    assert.equal(packed.has('a'), false, 'a thawed job is no longer held as bytes');
    assert.equal(packed.size, 2);
    assert.equal(packed.queued, 3);
    assert.equal(packed.peekKey(), T0 + 1);
    assert.equal(packed.pop()?.id, 'b');
    assert.equal(packed.poppedThawed, false);
    assert.equal(packed.peekSeq(), 1);
    assert.equal(packed.pop(), a, 'the thawed record itself');
    assert.equal(packed.poppedThawed, true);
    assert.equal(packed.pop()?.id, 'c');
    assert.equal(packed.pop(), undefined);
    assert.equal(packed.peekKey(), undefined);
    assert.equal(packed.peekSeq(), Infinity);
    packed.check();
  });

  test('forget takes a thawed job out of the due heap; take takes a packed one; neither finds the other kind', () => {
    const packed = new PackedJobs();
    packed.add(job('a', T0, 1));
    packed.add(job('b', T0, 2));
    const a = packed.thaw('a') as JobRecord;
    assert.equal(packed.take('a'), undefined, 'thawed: not held as bytes');
    assert.equal(packed.forget(job('b', T0, 2)), false, 'b was never thawed');
    assert.equal(packed.forget(a), true);
    assert.equal(packed.forget(a), false);
    assert.deepEqual(packed.take('b'), job('b', T0, 2));
    assert.equal(packed.queued, 0);
    packed.check();
  });

  test('select: by name, sorted by (runAt, seq); capture: the jobs as they were, whatever happens after', () => {
    const packed = new PackedJobs();
    packed.add(job('x1', T0 + 9, 1, 1, 'x'));
    packed.add(job('y1', T0 + 1, 2, 2, 'y', true));
    packed.add(job('x2', T0 + 1, 3, 3, 'x', true));
    packed.add(job('x3', T0 + 1, 4, 4, 'x'));
    const ids = (slots: Int32Array): string[] => [...slots].map((i) => packed.record(i).id);
    assert.deepEqual(ids(packed.select('x', true)), ['x2', 'x3', 'x1']);
    assert.deepEqual(ids(packed.select(undefined, true)), ['y1', 'x2', 'x3', 'x1']);
    assert.deepEqual(ids(packed.select('nobody', false)), []);
    const slot = packed.select('x', true)[0] as number;
    assert.equal(packed.runAtOf(slot), T0 + 1);
    assert.equal(packed.seqOf(slot), 3);
    const all = packed.capture();
    const relative = packed.capture(true);
    assert.deepEqual([...packed.records()].map((r) => r.id).sort(), ['x1', 'x2', 'x3', 'y1']);
    packed.take('x2');
    packed.thaw('y1');
    packed.add(job('x4', T0, 5));
    assert.deepEqual(Array.from({ length: relative.length }, (_, k) => relative.id(k)).sort(), ['x2', 'y1']);
    const texts = Array.from({ length: all.length }, (_, k) => JSON.parse(all.text(k)) as JobRecord);
    assert.deepEqual(
      texts.sort((p, q) => p.seq - q.seq),
      [job('x1', T0 + 9, 1, 1, 'x'), job('y1', T0 + 1, 2, 2, 'y', true), job('x2', T0 + 1, 3, 3, 'x', true), job('x3', T0 + 1, 4, 4, 'x')],
    );
    packed.check();
  });

  test('agrees with a model over random adds, reads, forgets, takes and pops', () => {
    for (const seed of [11, 12, 13, 14]) {
      const rnd = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
      const packed = new PackedJobs();
      // What the model holds: id -> the record added; thawed ones -> the record thaw gave.
      const held = new Map<string, JobRecord>();
      const thawed = new Map<string, JobRecord>();
      let seq = 1;
      const ids = Array.from({ length: 60 }, (_, i) => `job-${i}`);
      for (let step = 0; step < 3000; step++) {
        const r = rnd();
        const id = pick(ids);
        if (r < 0.4) {
          if (held.has(id) || thawed.has(id)) continue; // the store checks ids before an add
          const big = rnd() < 0.1 ? 'z'.repeat(Math.floor(rnd() * 9000)) : pick(PAYLOADS);
          const record = job(id, T0 + Math.floor(rnd() * 8) * 1000, seq++, big, pick(['a', 'b', 'ünï']), rnd() < 0.5);
          assert.equal(packed.add(record), true);
          held.set(id, { ...record });
        } else if (r < 0.55) {
          assert.equal(packed.has(id), held.has(id));
          const read = packed.thaw(id);
          assert.deepEqual(read, held.get(id));
          if (read !== undefined) {
            held.delete(id);
            thawed.set(id, read);
          }
        } else if (r < 0.65) {
          const record = thawed.get(id);
          if (record === undefined) continue;
          assert.equal(packed.forget(record), true);
          thawed.delete(id);
        } else if (r < 0.8) {
          assert.deepEqual(packed.take(id), held.get(id));
          held.delete(id);
        } else {
          const all = [...held.values(), ...thawed.values()].sort((p, q) => p.runAt - q.runAt || p.seq - q.seq);
          const first = all[0];
          const popped = packed.pop();
          if (first === undefined) assert.equal(popped, undefined);
          else if (thawed.get(first.id) !== undefined) {
            assert.equal(popped, thawed.get(first.id));
            thawed.delete(first.id);
          } else {
            assert.deepEqual(popped, first);
            held.delete(first.id);
          }
        }
        assert.equal(packed.size, held.size);
        assert.equal(packed.queued, held.size + thawed.size);
        packed.check();
      }
    }
  });

  test('blocks of jobs gone are given back, by a compaction of the live bytes when most are garbage', () => {
    const packed = new PackedJobs();
    const n = 3000;
    for (let i = 0; i < n; i++) assert.equal(packed.add(job(`j${i}`, T0 + i, i + 1, { i, pad: 'p'.repeat(1000) })), true);
    const full = packed.blocksHeld;
    assert.ok(full >= 45, `3000 payloads of ~1 KB fill ~46 blocks of 64 KiB, held ${full}`);
    // Every 100th job stays: each block keeps one or two, so only a compaction can let them go.
    for (let i = 0; i < n; i++) if (i % 100 !== 0) assert.ok(packed.take(`j${i}`));
    assert.ok(packed.blocksHeld <= 5, `30 jobs of ~1 KB left, blocks held ${packed.blocksHeld}`);
    for (let i = 0; i < n; i += 100) assert.deepEqual(packed.thaw(`j${i}`)?.payload, { i, pad: 'p'.repeat(1000) });
    packed.check();
  });

  test('a block whose jobs all left while it was being written is let go when the next one starts', () => {
    const packed = new PackedJobs();
    for (let i = 0; i < 20; i++) assert.equal(packed.add(job(`small${i}`, T0 + i, i + 1, 's'.repeat(1000))), true);
    for (let i = 0; i < 20; i++) packed.take(`small${i}`);
    assert.equal(packed.blocksHeld, 1, 'the block being written is kept, empty');
    // 16,002 characters of JSON may take 48 KB: more than the 45 KB the block has left, so a new one starts.
    assert.equal(packed.add(job('big', T0, 21, 'b'.repeat(16_000))), true);
    assert.equal(packed.blocksHeld, 1, 'the empty block went as the new one came');
    assert.equal(packed.thaw('big')?.payload, 'b'.repeat(16_000));
    packed.check();
  });

  test('the job in slot 0 and the id in table cell 0 are found like any other', () => {
    const packed = new PackedJobs();
    packed.add(job('first', T0 + 5, 7));
    assert.equal(packed.peekKey(), T0 + 5);
    assert.equal(packed.peekSeq(), 7, 'slot 0 is a slot');
    // FNV-1a over the id's UTF-16 units, as the table hashes it: ids whose first cell is 0 of the 128.
    const cellOf = (id: string): number => {
      let h = 0x811c9dc5;
      for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
      return h & 0x7fffffff & 127;
    };
    const atZero: string[] = [];
    for (let n = 0; atZero.length < 3; n++) if (cellOf(`z-${n}`) === 0) atZero.push(`z-${n}`);
    for (const [k, id] of atZero.entries()) packed.add(job(id, T0, 8 + k));
    for (const id of atZero) assert.equal(packed.has(id), true, id);
    assert.equal(packed.take(atZero[0] as string)?.id, atZero[0]);
    assert.equal(packed.has(atZero[0] as string), false);
    assert.equal(packed.has(atZero[1] as string), true, 'found past the one that left cell 0');
    packed.check();
  });

  test('a block none of whose jobs is left is let go at once (no compaction needed)', () => {
    const packed = new PackedJobs();
    // ~1 KB each: blocks 0 and 1 fill, block 2 is being written.
    for (let i = 0; i < 150; i++) packed.add(job(`j${i}`, T0 + i, i + 1, 'p'.repeat(1000)));
    assert.equal(packed.blocksHeld, 3);
    // Block 0 holds the first 63 (a write needs room for 3 bytes a character): with them gone it goes, though the blocks hold far less than twice what is packed.
    for (let i = 0; i < 65; i++) packed.take(`j${i}`);
    assert.equal(packed.blocksHeld, 2);
    for (let i = 65; i < 150; i++) assert.equal(packed.thaw(`j${i}`)?.payload, 'p'.repeat(1000));
    packed.check();
  });

  test('a capture reads the blocks it was taken over, even after they are let go', () => {
    const packed = new PackedJobs();
    for (let i = 0; i < 150; i++) packed.add(job(`j${i}`, T0 + i, i + 1, `${i}:${'p'.repeat(1000)}`));
    const before = packed.capture();
    for (let i = 0; i < 65; i++) packed.take(`j${i}`); // block 0 let go
    const texts = Array.from({ length: before.length }, (_, k) => JSON.parse(before.text(k)) as JobRecord);
    assert.deepEqual(texts.map((r) => r.payload).sort(), Array.from({ length: 150 }, (_, i) => `${i}:${'p'.repeat(1000)}`).sort());
  });

  test('the last job out of a big set resets it; it is used again as new', () => {
    const packed = new PackedJobs();
    for (let i = 0; i < 2000; i++) packed.add(job(`j${i}`, T0 + i, i + 1));
    for (let i = 0; i < 2000; i++) assert.equal(packed.pop()?.id, `j${i}`);
    assert.equal(packed.blocksHeld, 0);
    assert.equal(packed.queued, 0);
    packed.add(job('again', T0, 2001));
    assert.deepEqual(packed.take('again'), job('again', T0, 2001));
    packed.check();
  });
});
