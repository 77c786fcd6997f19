/**
 * Cold jobs (src/store/cold-jobs.ts): the plain scheduled jobs a
 * JsonFileStore opens as bytes and thaws on first read.
 *
 * Three layers: the scan says "cold" only for records whose fields it read
 * exactly as JSON.parse reads them (and does say it for the records
 * scheduleIn writes, so the path runs); a LocalState loaded with cold jobs
 * answers every operation as one loaded with the same records in full; and
 * a JsonFileStore opened cold keeps every guarantee across journal replay,
 * compaction and reopen.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { DuplicateJobError } from '../src/errors.js';
import { VirtualClock } from '../src/clock.js';
import { Scheduler } from '../src/scheduler.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { ColdJobs } from '../src/store/cold-jobs.js';
import { type ColdScan, scanCold } from '../src/store/cold-scan.js';
import { journalHeaderLine, journalName, snapshotName } from '../src/store/json-file/format.js';
import { nodeFs } from '../src/store/json-file/fs.js';
import { listFolder, recover } from '../src/store/json-file/recover.js';
import { writeSnapshotTemp } from '../src/store/json-file/snapshot.js';
import { listJobs } from '../src/store/list-jobs.js';
import { LocalState } from '../src/store/local-state.js';
import { runningRecord } from '../src/store/record.js';
import type { JobRecord, StoreListFilter } from '../src/store/store.js';
import { CT0, allRecords, insertOne, openStore, removeTempDirs, tempDir } from './json-file-helpers.js';
import { claimAll } from './store-conformance.js';

after(removeTempDirs);

const scan = (): ColdScan => ({ idStart: 0, idEnd: 0, nameStart: 0, nameEnd: 0, runAt: 0, seq: 0 });

/** scanCold over `text` as a snapshot line holds it (latin1 when ASCII, else UTF-8 bytes). */
function scanText(text: string): { cold: false } | { cold: true; id: string; name: string; runAt: number; seq: number } {
  const bytes = Buffer.from(text, 'utf8');
  const out = scan();
  if (!scanCold(bytes, 0, bytes.length, out)) return { cold: false };
  return { cold: true, id: bytes.toString('utf8', out.idStart, out.idEnd), name: bytes.toString('utf8', out.nameStart, out.nameEnd), runAt: out.runAt, seq: out.seq };
}

const COLD_KEYS = ['id', 'name', 'payload', 'state', 'runAt', 'createdAt', 'attempt', 'priority', 'seq'];

/** The plain record scheduleIn stores. */
function plain(id: string, runAt: number, seq: number, extra: Partial<JobRecord> = {}): JobRecord {
  return { id, name: 'bench.job', payload: { orderId: `A${seq}`, amount: seq % 1000 }, state: 'scheduled', runAt, createdAt: CT0, attempt: 0, priority: 0, seq, ...extra };
}

test('the scan takes the records scheduleIn and scheduleAt write, reading id, name, runAt and seq as JSON.parse does', () => {
  const safeString = fc.string({ maxLength: 12 }).filter((s) => !JSON.stringify(s).includes('\\'));
  fc.assert(
    fc.property(
      safeString.filter((s) => /^[\x20-\x7e]*$/.test(s)),
      safeString,
      fc.jsonValue({ maxDepth: 3 }).filter((v) => !JSON.stringify(v).includes('\\')),
      fc.integer({ min: -8.64e14, max: 8.64e14 }),
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.boolean(),
      (id, name, payload, runAt, seq, relative) => {
        const record: JobRecord = { id, name, payload: payload as JobRecord['payload'], state: 'scheduled', runAt, createdAt: CT0, attempt: seq % 3, priority: 0, seq };
        if (relative) record.relative = true;
        const got = scanText(JSON.stringify(record));
        assert.deepEqual(got, { cold: true, id, name, runAt, seq });
      },
    ),
    { numRuns: 500 },
  );
});

test('the scan says cold only when the record is exactly the plain form, whatever the record holds', () => {
  // Records of every shape: extra fields, other states and priorities, fractional or huge numbers,
  // escapes anywhere, payloads that contain the scan's own markers, keys in another order.
  const marker = fc.constantFrom(',"state":"scheduled","runAt":1,"createdAt":1,"attempt":0,"priority":0,"seq":1}', '"seq":5}', '{"runAt":1}', ',', '}', '"');
  const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), marker, fc.string({ maxLength: 6 }));
  const record = fc.record(
    {
      id: fc.oneof(fc.string({ maxLength: 8 }), marker),
      name: fc.oneof(fc.string({ maxLength: 8 }), marker),
      payload: value,
      state: fc.constantFrom('scheduled', 'running', 'completed'),
      runAt: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(1e21)),
      createdAt: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
      attempt: fc.oneof(fc.nat(5), fc.double({ noNaN: true, noDefaultInfinity: true })),
      priority: fc.oneof(fc.constant(0), fc.integer({ min: -3, max: 3 })),
      seq: fc.oneof(fc.nat(), fc.double({ noNaN: true, noDefaultInfinity: true })),
      relative: fc.constantFrom(true, false),
      group: value,
      retry: fc.record({ attempts: fc.nat(5) }),
      lastError: fc.record({ message: fc.string({ maxLength: 6 }) }),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(record, fc.boolean(), (r, shuffle) => {
      const entries = Object.entries(r);
      if (shuffle) entries.reverse();
      const text = JSON.stringify(Object.fromEntries(entries));
      const got = scanText(text);
      if (!got.cold) return;
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const keys = Object.keys(parsed);
      assert.deepEqual(keys, parsed.relative === true ? [...COLD_KEYS, 'relative'] : COLD_KEYS, text);
      assert.equal(parsed.state, 'scheduled', text);
      assert.equal(parsed.priority, 0, text);
      assert.deepEqual([parsed.id, parsed.name, parsed.runAt, parsed.seq], [got.id, got.name, got.runAt, got.seq], text);
      assert.ok(Number.isSafeInteger(got.runAt) && Number.isSafeInteger(got.seq), text);
    }),
    { numRuns: 150 },
  );
});

test('the scan, by hand at its edges: what it takes it reads as JSON.parse does, and it refuses escapes, raw control bytes, long integers and a bad last byte', () => {
  const line = (r: JobRecord): string => JSON.stringify(r);
  // Taken: an id of any ASCII byte JSON writes unescaped (DEL too), a name of any character, 15-digit integers.
  for (const id of ['a\x7fb', ' ~!#', 'job-1']) assert.deepEqual(scanText(line(plain(id, 5, 1))), { cold: true, id, name: 'bench.job', runAt: 5, seq: 1 }, id);
  assert.deepEqual(scanText(line(plain('n', 5, 1, { name: 'é-報告' }))), { cold: true, id: 'n', name: 'é-報告', runAt: 5, seq: 1 });
  assert.deepEqual(scanText(line(plain('big', 999_999_999_999_999, 100_000_000_000_000))), { cold: true, id: 'big', name: 'bench.job', runAt: 999_999_999_999_999, seq: 100_000_000_000_000 });
  assert.deepEqual(scanText(line(plain('neg', -5, 3))), { cold: true, id: 'neg', name: 'bench.job', runAt: -5, seq: 3 });
  // Numbers with exponents in the payload, as JSON.stringify writes them (1e+21, -2.5e-7) and as a person may (1E5, 1e5).
  const exp = line(plain('exp', 5, 1, { payload: { a: 1e21, b: -2.5e-7, c: 0 } }));
  assert.ok(exp.includes('1e+21') && exp.includes('-2.5e-7'), exp);
  for (const text of [exp, exp.replace('"c":0', '"c":1E5'), exp.replace('"c":0', '"c":1e5')]) {
    assert.deepEqual(scanText(text), { cold: true, id: 'exp', name: 'bench.job', runAt: 5, seq: 1 }, text);
  }
  // Refused: an id that is not ASCII (cold ids are looked up by their latin1 bytes), any escape.
  for (const id of ['é', 'a\u0080', 'a"b', 'a\\b', 'a\nb']) assert.deepEqual(scanText(line(plain(id, 5, 1))), { cold: false }, JSON.stringify(id));
  assert.deepEqual(scanText(line(plain('esc', 5, 1, { name: 'a\tb' }))), { cold: false });
  // Edited by hand (JSON.parse refuses each, or reads another number than the scan would).
  const base = line(plain('j', 5, 12));
  const edits: [string, string][] = [
    ['a raw control byte in a string', base.replace('"j"', `"j${String.fromCharCode(1)}"`)],
    ['a raw tab in the payload', base.replace('"A12"', `"A${String.fromCharCode(9)}12"`)],
    ['a 16-digit runAt', base.replace('"runAt":5,', '"runAt":1234567890123456,')],
    ['a 16-digit seq', base.replace('"seq":12}', '"seq":1234567890123456}')],
    ['a leading zero', base.replace('"runAt":5,', '"runAt":05,')],
    ['an exponent with no digits', base.replace('"amount":12', '"amount":1e')],
    ['an exponent with a sign and no digits', base.replace('"amount":12', '"amount":1e+')],
    ['another last byte', base.replace(/}$/, ']')],
    ['a last byte missing', base.slice(0, -1)],
    ['a byte after the record', `${base} `],
  ];
  // The same at the end of a scheduleIn record (`,"relative":true}`), which the scan reads as a literal.
  const relative = line(plain('j', 5, 12, { relative: true }));
  assert.deepEqual(scanText(relative), { cold: true, id: 'j', name: 'bench.job', runAt: 5, seq: 12 });
  edits.push(['a byte after a relative record', `${relative}x`], ['a relative record cut short', relative.slice(0, -1)]);
  for (const [what, text] of edits) {
    assert.notEqual(text, base, what);
    assert.deepEqual(scanText(text), { cold: false }, `${what}: ${text}`);
  }
});

test('the scan never says cold for bytes JSON.parse refuses (a line edited by hand, its CRC recomputed)', () => {
  // A plain line with one byte changed, inserted or removed: when the scan takes it, JSON.parse must
  // read it, and read the same fields (a cold job is parsed only when it is first read, long after open).
  const base = JSON.stringify(plain('job-7', CT0 + 5000, 12, { relative: true, payload: { a: [1, { b: 'x' }], c: -0.5e-3, d: null, e: true } }));
  const alphabet = '{}[]":,-+.eE0123456789 \tnulrsafé';
  fc.assert(
    fc.property(fc.nat(base.length - 1), fc.constantFrom(...alphabet), fc.constantFrom('replace', 'insert', 'delete'), (at, ch, how) => {
      const text = how === 'replace' ? base.slice(0, at) + ch + base.slice(at + 1) : how === 'insert' ? base.slice(0, at) + ch + base.slice(at) : base.slice(0, at) + base.slice(at + 1);
      const got = scanText(text);
      if (!got.cold) return;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        assert.fail(`scanned as cold but not JSON: ${text}`);
      }
      assert.deepEqual([parsed.id, parsed.name, parsed.runAt, parsed.seq, parsed.state, parsed.priority], [got.id, got.name, got.runAt, got.seq, 'scheduled', 0], text);
    }),
    { numRuns: 4000 },
  );
});

/** Lines of `records` in one block as a snapshot holds them (UTF-8), and where each record's bytes are. */
function linesOf(records: JobRecord[]): { buffer: Buffer; spans: [number, number][] } {
  const spans: [number, number][] = [];
  let text = '';
  for (const r of records) {
    const json = JSON.stringify(r);
    const start = Buffer.byteLength(text);
    spans.push([start, start + Buffer.byteLength(json)]);
    text += `${json}\n`;
  }
  return { buffer: Buffer.from(text, 'utf8'), spans };
}

/**
 * The hash ColdJobs files an id under (FNV-1a of its bytes, 30 bits, as
 * cold-jobs.ts documents it), to build ids that collide or land in a given
 * cell of its table: random ids almost never reach those paths.
 */
function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

/** Two ids of one length with the same idHash (a birthday search over `c-<n>`: deterministic). */
function collidingIds(): [string, string] {
  const seen = new Map<number, string>();
  for (let n = 100_000; ; n++) {
    const id = `c-${n}`;
    const other = seen.get(idHash(id));
    if (other !== undefined) return [other, id];
    seen.set(idHash(id), id);
  }
}

/** The first `count` ids `<prefix><n>` whose idHash is `cell` mod 2^16: in that cell of any table up to 2^16 cells, or the next free one. */
function idsInCell(prefix: string, cell: number, count: number): string[] {
  const out: string[] = [];
  for (let n = 0; out.length < count; n++) if ((idHash(`${prefix}${n}`) & 0xffff) === cell) out.push(`${prefix}${n}`);
  return out;
}

test('ColdJobs: ids found by their bytes, a repeated id refused, jobs leave in (runAt, seq) order, thawed records are the lines', () => {
  const cold = new ColdJobs();
  // Far more jobs than the initial table: it grows, and every id is still found.
  const records: JobRecord[] = [];
  for (let i = 0; i < 3000; i++) records.push(plain(`job-${i}`, CT0 + (i % 7) * 1000, 3000 - i));
  const { buffer, spans } = linesOf(records);
  records.forEach((_, i) => assert.equal(cold.add(buffer, ...(spans[i] as [number, number])), true));
  // The same id again (a damaged snapshot), and a record that is not plain: left to the full parse.
  const again = linesOf([plain('job-5', CT0, 99_999), plain('grouped', CT0, 5, { group: 'g' })]);
  assert.equal(cold.add(again.buffer, ...(again.spans[0] as [number, number])), false);
  assert.equal(cold.add(again.buffer, ...(again.spans[1] as [number, number])), false);
  assert.equal(cold.size, 3000);
  assert.equal(cold.maxSeq, 3000);
  // Every id is still found after the table grew (each growth re-places every id), and none other.
  for (const r of records) assert.equal(cold.has(r.id), true, r.id);
  for (let i = 3000; i < 6000; i++) assert.equal(cold.has(`job-${i}`), false, `job-${i}`);
  assert.equal(cold.has('job-é'), false);
  // Taken before the seal (the journal changed it): gone from the counts too.
  assert.deepEqual(cold.take('job-0'), records[0]);
  assert.deepEqual([...cold.nameCounts()], [['bench.job', 2999]]);
  cold.seal();
  assert.deepEqual(cold.take('job-1'), records[1]);
  assert.equal(cold.take('job-1'), undefined);
  assert.equal(cold.has('job-1'), false);
  const texts = cold.capture();
  assert.equal(texts.length, 2998);
  assert.deepEqual(JSON.parse(texts.text(0)), records[2]);
  assert.deepEqual(JSON.parse(texts.text(2997)), records[2999]);
  const order: JobRecord[] = [];
  for (let job = cold.pop(); job !== undefined; job = cold.pop()) order.push(job);
  const expected = records.slice(2).sort((a, b) => a.runAt - b.runAt || a.seq - b.seq);
  assert.deepEqual(order, expected);
  assert.equal(cold.size, 0);
  assert.equal(cold.peekKey(), undefined);
  // The capture is as it was, though every job left since (and ColdJobs let their blocks go).
  assert.equal(texts.length, 2998);
  assert.deepEqual(JSON.parse(texts.text(0)), records[2]);
  assert.deepEqual(JSON.parse(texts.text(1500)), records[1502]);
});

test('ColdJobs: two ids with one hash are two jobs, each found, thawed and taken as itself (both orders)', () => {
  const [x, y] = collidingIds();
  assert.equal(x.length, y.length);
  assert.equal(idHash(x), idHash(y));
  for (const [first, second] of [[x, y], [y, x]] as const) {
    const cold = new ColdJobs();
    const records = [plain(first, CT0, 1), plain('other', CT0, 2), plain(second, CT0 + 5, 3)];
    const { buffer, spans } = linesOf(records);
    for (const span of spans) assert.equal(cold.add(buffer, ...span), true, 'an id whose hash is taken is still a new job');
    // The same id again is still refused.
    const again = linesOf([plain(second, CT0, 9)]);
    assert.equal(cold.add(again.buffer, ...(again.spans[0] as [number, number])), false);
    cold.seal();
    assert.equal(cold.has(first), true);
    assert.equal(cold.has(second), true);
    // Thawing the one later in the table leaves the earlier one findable, and the other way round.
    assert.deepEqual(cold.thaw(second), records[2]);
    assert.equal(cold.has(second), false);
    assert.equal(cold.has(first), true);
    assert.deepEqual(cold.take(first), records[0]);
    assert.equal(cold.has(first), false);
    assert.deepEqual(cold.take('other'), records[1]);
    assert.equal(cold.size, 0);
  }
});

test('ColdJobs: ids in the first cells of the table are found, and an id not there is not (whatever the cell holds)', () => {
  const cold = new ColdJobs();
  const inZero = idsInCell('z-', 0, 3);
  const inOne = idsInCell('o-', 1, 3);
  const records = [...inZero.slice(0, 2), ...inOne.slice(0, 2)].map((id, i) => plain(id, CT0 + i, i + 1));
  const { buffer, spans } = linesOf(records);
  for (const span of spans) assert.equal(cold.add(buffer, ...span), true);
  cold.seal();
  for (const r of records) assert.deepEqual([r.id, cold.has(r.id)], [r.id, true]);
  // Never added, though their hashes lead to the cells the others fill.
  for (const id of [inZero[2] as string, inOne[2] as string, 'absent']) {
    assert.equal(cold.has(id), false, id);
    assert.equal(cold.thaw(id), undefined, id);
    assert.equal(cold.take(id), undefined, id);
  }
  assert.deepEqual(cold.thaw(records[0]!.id), records[0]);
});

test('ColdJobs.nameCounts: exact counts by name, names that begin alike or come back told apart, a name whose jobs were all taken left out', () => {
  const cold = new ColdJobs();
  const names = ['a', 'a', 'ab', 'abc', 'ab', 'b', 'a', 'été', 'ét', 'abc'];
  const records = names.map((name, i) => plain(`n${i}`, CT0, i + 1, { name }));
  const { buffer, spans } = linesOf(records);
  for (const span of spans) assert.equal(cold.add(buffer, ...span), true);
  const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((p, q) => (p[0] < q[0] ? -1 : 1));
  assert.deepEqual(sorted(cold.nameCounts()), [['a', 3], ['ab', 2], ['abc', 2], ['b', 1], ['ét', 1], ['été', 1]]);
  // Taken before the seal (the journal changed them): every 'abc' and one 'a'.
  cold.take('n3');
  cold.take('n9');
  cold.take('n0');
  assert.deepEqual(sorted(cold.nameCounts()), [['a', 2], ['ab', 2], ['b', 1], ['ét', 1], ['été', 1]]);
});

/** A snapshot of `records` in `dir`, then the two ways to read it: in full, and with cold jobs. */
async function loadBoth(records: JobRecord[]): Promise<{ full: LocalState; cold: LocalState; coldCount: number }> {
  const dir = await tempDir('godelayq-cold-', true);
  const { tempPath } = await writeSnapshotTemp(nodeFs, dir, 1, records, { nextSeq: records.length + 1, storeId: 'coldTestStoreAA', nonce: 'n', sync: false, createdAt: new Date(CT0).toISOString() });
  await nodeFs.link(tempPath, path.join(dir, snapshotName(1)));
  await nodeFs.unlink(tempPath);
  await writeFile(path.join(dir, journalName(1)), journalHeaderLine({ store: 'coldTestStoreAA', generation: 1 }));
  const listing = listFolder(await readdir(dir));
  const inFull = await recover(nodeFs, dir, listing, undefined);
  const withCold = await recover(nodeFs, dir, listing, undefined, { cold: true });
  assert.equal(inFull.cold, undefined);
  const full = new LocalState();
  full.load(inFull.records);
  const cold = new LocalState();
  const coldCount = withCold.cold?.size ?? 0;
  cold.load(withCold.records, withCold.cold);
  return { full, cold, coldCount };
}

test('a LocalState loaded with cold jobs answers every operation as one loaded in full (random operations)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          runAt: fc.integer({ min: 0, max: 20 }),
          name: fc.constantFrom('a', 'a', 'a', 'b', 'été'),
          kind: fc.constantFrom('plain', 'plain', 'plain', 'priority', 'group', 'done'),
        }),
        { minLength: 1, maxLength: 40 },
      ),
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('claim' as const), at: fc.integer({ min: 0, max: 25 }), limit: fc.integer({ min: 1, max: 6 }) }),
          fc.record({ op: fc.constant('get' as const), i: fc.nat(45) }),
          fc.record({ op: fc.constant('cancel' as const), i: fc.nat(45) }),
          fc.record({ op: fc.constant('move' as const), i: fc.nat(45), to: fc.integer({ min: 0, max: 25 }) }),
          fc.record({ op: fc.constant('insert' as const), i: fc.nat(45), at: fc.integer({ min: 0, max: 25 }) }),
          fc.record({ op: fc.constant('list' as const) }),
          fc.record({
            op: fc.constant('page' as const),
            // 'a","payload' is what the bytes after `"name":"` of a job named 'a' begin with: a byte match must not take it.
            name: fc.constantFrom(undefined, 'a', 'b', 'été', 'c', 'a","payload'),
            states: fc.constantFrom(undefined, ['scheduled'] as const, ['running', 'completed'] as const, ['scheduled', 'running'] as const),
            limit: fc.option(fc.nat(12), { nil: undefined }),
            offset: fc.option(fc.nat(12), { nil: undefined }),
            recurring: fc.option(fc.constant(true), { nil: undefined }),
          }),
        ),
        { maxLength: 30 },
      ),
      async (specs, ops) => {
        const records = specs.map((s, i): JobRecord => {
          // Unique seqs, not in line order (the seal sorts them).
          const r = plain(`j${i}`, s.runAt, i % 2 === 1 ? i + 1 : 1000 - i, { name: s.name });
          if (s.kind === 'priority') r.priority = 2;
          if (s.kind === 'group') r.group = 'g';
          if (s.kind === 'done') return { ...r, state: 'completed', finishedAt: 5 };
          return r;
        });
        const { full, cold, coldCount } = await loadBoth(records);
        if (specs.some((s) => s.kind === 'plain')) assert.ok(coldCount > 0, 'some jobs opened cold');
        const both = (fn: (state: LocalState) => unknown): void => assert.deepEqual(fn(cold), fn(full));
        // The next wake: the same for jobs not due yet. A job due at the last claim may sit in a
        // ready queue in one state and in a due heap in the other (takeDue's shortcut runs on
        // different heaps); the claims, compared above, are what tell.
        let lastClaim = -Infinity;
        const wake = (s: LocalState): number | string | undefined => {
          const at = s.nextDueAt();
          return at !== undefined && at <= lastClaim ? 'due' : at;
        };
        const same = (): void => both((s) => [s.counts().scheduled, s.counts().indexed, s.size, s.nextSeq, s.counts().scheduled > 0 && wake(s) === undefined ? 'due' : wake(s)]);
        same();
        let tokens = 0;
        for (const o of ops) {
          if (o.op === 'claim') {
            lastClaim = Math.max(lastClaim, o.at);
            both((s) => {
              const request = { now: o.at, limit: o.limit, capacity: (name: string) => (name === 'b' ? 1 : 3), token: () => `t${tokens++}` };
              const direct = s.takeDue(request);
              let jobs = direct;
              if (jobs === undefined) {
                s.promote(o.at);
                jobs = s.pick(request).jobs;
              }
              for (const job of jobs) s.start(job, runningRecord(job, 'tok'));
              return jobs.map((j) => j.id);
            });
          } else if (o.op === 'get') both((s) => s.get(`j${o.i}`));
          else if (o.op === 'cancel') {
            both((s) => {
              const job = s.get(`j${o.i}`);
              if (job?.state !== 'scheduled') return false;
              s.apply({ op: 'put', job: { ...job, state: 'cancelled', finishedAt: 9 } });
              return true;
            });
          } else if (o.op === 'move') {
            both((s) => {
              const job = s.get(`j${o.i}`);
              if (job?.state !== 'scheduled') return false;
              s.apply({ op: 'put', job: { ...job, runAt: o.to } });
              return true;
            });
          } else if (o.op === 'insert') {
            // A new job under an id that may be cold: refused exactly when it is taken.
            both((s) => {
              const seq = s.nextSeq++;
              return s.insertNew(plain(`j${o.i}`, o.at, 0, { name: 'a' }), seq);
            });
          } else if (o.op === 'page') {
            const { op: _op, ...options } = o;
            const filter = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as StoreListFilter;
            both((s) => listJobs(s, filter));
          } else {
            both((s) => [...s.values()].map((j) => [j.id, j.state, j.runAt]).sort());
          }
          same();
          both((s) => s.counts());
        }
        // Drained to the end, both give every job in the same order, and nothing is left behind.
        both((s) => {
          const request = { now: 1000, limit: 1000, capacity: () => 1000, token: () => 'end' };
          s.promote(1000);
          const ids = s.pick(request).jobs.map((j) => j.id);
          return [ids, s.nextDueAt(), s.counts().indexed];
        });
      },
    ),
    { numRuns: 150 },
  );
});

test('a list of cold jobs filters names on their bytes: exact for non-ASCII names, never fooled by a name holding a quote', async () => {
  const records = [plain('a1', 3, 1, { name: 'a' }), plain('e1', 1, 2, { name: 'été' }), plain('a2', 2, 3, { name: 'a' }), plain('x1', 0, 4, { name: 'ab' })];
  const { full, cold, coldCount } = await loadBoth(records);
  assert.equal(coldCount, 4);
  const ids = (s: LocalState, filter: StoreListFilter): string[] => listJobs(s, filter).map((j) => j.id);
  for (const s of [cold, full]) {
    assert.deepEqual(ids(s, { name: 'a' }), ['a2', 'a1']);
    assert.deepEqual(ids(s, { name: 'été' }), ['e1']);
    assert.deepEqual(ids(s, { name: 'ét' }), []);
    // The bytes after `"name":"` of job a1 are `a","payload":…`: a byte match alone would take it.
    assert.deepEqual(ids(s, { name: 'a","payload' }), []);
    assert.deepEqual(ids(s, { limit: 2, offset: 1 }), ['e1', 'a2']);
    assert.deepEqual(ids(s, { recurring: true }), []);
  }
  assert.equal(cold.coldCount, 4, 'a list leaves them cold');
});

test('cold jobs keep seq order among equal due times through a thaw in place, a walk of every record and new jobs', async () => {
  // Line order is not seq order; the jobs share one due time, so only seq orders them.
  const records = [plain('s5', 0, 5), plain('s2', 0, 2), plain('s9', 0, 9), plain('s1', 0, 1)];
  const { full, cold, coldCount } = await loadBoth(records);
  assert.equal(coldCount, 4);
  const claimOne = (s: LocalState): string[] => {
    const request = { now: 0, limit: 1, capacity: () => 10, token: () => 't' };
    let jobs = s.takeDue(request);
    if (jobs === undefined) {
      s.promote(0);
      jobs = s.pick(request).jobs;
    }
    for (const job of jobs) s.start(job, runningRecord(job, 't'));
    return jobs.map((j) => j.id);
  };
  for (const s of [full, cold]) {
    assert.equal(s.insertNew(plain('new', 0, 0), s.nextSeq++), true);
    assert.equal(s.get('s9')?.seq, 9); // read: thawed in place
    assert.equal(s.get('s2')?.seq, 2); // one read job before a cold one (s5) in seq order
  }
  assert.deepEqual(claimOne(cold), ['s1']);
  assert.deepEqual(claimOne(full), ['s1']);
  for (const s of [full, cold]) assert.equal([...s.values()].length, 5); // a walk reads the cold ones and leaves them cold
  // A page merges the records read (s2, s9, new) with the cold one left (s5) by seq, all due at 0.
  for (const s of [full, cold]) assert.deepEqual(listJobs(s, { limit: 3, states: ['scheduled'] }).map((j) => j.id), ['s2', 's5', 's9']);
  assert.equal(cold.coldCount, 1);
  const order = (s: LocalState): string[] => [claimOne(s), claimOne(s), claimOne(s), claimOne(s)].flat();
  assert.deepEqual(order(cold), ['s2', 's5', 's9', 'new']);
  assert.deepEqual(order(full), ['s2', 's5', 's9', 'new']);
});

test('a JsonFileStore opened cold refuses a cold id, cancels and moves cold jobs, and keeps them through replay, compaction and reopen', async () => {
  const dir = await tempDir('godelayq-cold-store-', true);
  const options = { snapshotEvery: { changes: 1_000_000 } };
  const first = (await openStore(dir, options)).store;
  for (let i = 0; i < 50; i++) await insertOne(first, `c${i}`, { runAt: CT0 + 1000 * (i % 5), payload: { n: i } });
  // Not ASCII (a UTF-8 block: read as bytes, decoded when thawed).
  await insertOne(first, 'utf', { name: 'wörk', runAt: CT0 + 30_000, payload: { note: 'café ☕' } });
  await first.snapshot();
  await first.close();

  // Opened cold: the snapshot's 50 jobs are bytes until read.
  const opened = await openStore(dir, options);
  let store = opened.store;
  assert.deepEqual(opened.warnings, []);
  assert.equal(store.counts().scheduled, 51);
  const stillCold = (): number => (store as unknown as { state: LocalState }).state.coldCount;
  assert.equal(stillCold(), 51);
  // A list of other states leaves them unread; a read by id thaws one.
  assert.deepEqual(await store.list({ states: ['completed', 'dead'] }), []);
  assert.equal(stillCold(), 51);
  // A page is picked among them by name, due time and insertion order, and parsed alone; they stay cold.
  assert.deepEqual((await store.list({ name: 'wörk', limit: 5 })).map((j) => j.payload), [{ note: 'café ☕' }]);
  assert.deepEqual((await store.list({ limit: 3, offset: 9 })).map((j) => j.id), ['c45', 'c1', 'c6']);
  assert.deepEqual(await store.list({ states: ['scheduled', 'running'], recurring: true }), []);
  assert.equal(stillCold(), 51);
  await assert.rejects(insertOne(store, 'c7'), DuplicateJobError);
  // A new id is checked against the cold ones without reading any; a taken one reads its job (to report it).
  await insertOne(store, 'fresh', { runAt: CT0 + 99_000 });
  assert.equal(stillCold(), 50);
  assert.deepEqual(await store.get('utf'), { id: 'utf', name: 'wörk', payload: { note: 'café ☕' }, state: 'scheduled', runAt: CT0 + 30_000, createdAt: CT0, attempt: 0, priority: 0, seq: 51 });
  assert.equal(stillCold(), 49);
  // The snapshot's first job too; a refusal reads the job (to report it).
  await assert.rejects(insertOne(store, 'c0'), DuplicateJobError);
  assert.equal(stillCold(), 48);
  assert.equal((await store.cancel('c3', CT0))?.state, 'cancelled');
  await store.reschedule('c4', CT0 + 60_000);
  // Journal lines only (no snapshot): the replay takes c3 and c4 out of the cold jobs.
  await store.close();
  ({ store } = await openStore(dir, options));
  assert.equal((await store.get('c3'))?.state, 'cancelled');
  assert.deepEqual((await store.get('c4'))?.payload, { n: 4 }, 'an upd line keeps the payload of the cold job it changed');
  assert.equal((await store.get('c4'))?.runAt, CT0 + 60_000);
  const { jobs } = await store.claim(claimAll(CT0 + 1000, { limit: 100 }));
  assert.deepEqual(
    jobs.map((j) => j.id).sort(),
    Array.from({ length: 50 }, (_, i) => i)
      .filter((i) => i % 5 <= 1 && i !== 3 && i !== 4)
      .map((i) => `c${i}`)
      .sort(),
  );
  for (const job of jobs) assert.equal(await store.settle(job.id, job.token as string, { ...job, state: 'completed', finishedAt: CT0 + 1000 }), true);
  const before = await allRecords(store);
  // A compaction writes the jobs still cold as they were read, and a reopen reads the same store.
  await store.snapshot();
  await store.close();
  ({ store } = await openStore(dir, options));
  assert.deepEqual(await allRecords(store), before);
  assert.equal(store.counts().scheduled, 52 - 1 - jobs.length);
  await store.close();
});

test("listSchedules on a JsonFileStore opened cold reads no cold job: it asks the store for schedules only", async () => {
  const dir = await tempDir('godelayq-cold-schedules-', true);
  const clock = new VirtualClock(CT0);
  const writer = new Scheduler<{ work: { n: number }; tick: null }>({ store: new JsonFileStore(dir), clock });
  await writer.start();
  for (let i = 0; i < 40; i++) await writer.scheduleIn('work', 3_600_000 + i, { n: i });
  await writer.scheduleEvery('tick', 60_000, null, { id: 'tick' });
  await writer.stop();
  // A snapshot makes the 40 one-offs cold on the next open (the schedule, with its recurrence, never is).
  const { store: compact } = await openStore(dir);
  await compact.snapshot();
  await compact.close();

  const store = new JsonFileStore(dir);
  const reader = new Scheduler<{ work: { n: number }; tick: null }>({ store, clock });
  await reader.start();
  try {
    const cold = (store as unknown as { state: LocalState }).state.coldJobs;
    assert.equal(cold?.size, 40);
    // Count the cold jobs parsed into records (a list leaves them cold: only a count of reads tells).
    let parsed = 0;
    const record = cold.record.bind(cold);
    cold.record = (i: number): JobRecord => {
      parsed++;
      return record(i);
    };
    const schedules = await reader.listSchedules();
    assert.deepEqual(schedules.map((s) => s.id), ['tick']);
    assert.equal(parsed, 0, 'no one-off job was parsed to list the schedules');
    // The one-offs are all there when asked for, and this count sees them parsed.
    assert.equal((await reader.list({ name: 'work' })).length, 40);
    assert.equal(parsed, 40);
  } finally {
    await reader.stop();
  }
});
