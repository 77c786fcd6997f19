/**
 * JsonFileStore: the conformance suite, then what only a durable store has:
 * the on-disk format, reopen equality, group commit, rotation under load,
 * torn tails (fault 3) and corruption (fault 4).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { copyFile, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StoreCorruptError, ValidationError } from '../src/errors.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { FaultyFs } from '../src/store/json-file/fs.js';
import type { JobRecord } from '../src/store/store.js';
import { claimAll, storeConformance } from './store-conformance.js';
import {
  CT0,
  allRecords,
  afterRecovery,
  hashDir,
  insertOne,
  newRecord,
  openStore,
  removeTempDirs,
  storeContext,
  tempDir,
} from './json-file-helpers.js';

after(removeTempDirs);

storeConformance('JsonFileStore', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'godelayq-conf-'));
  return {
    store: new JsonFileStore(dir),
    reopen: () => Promise.resolve(new JsonFileStore(dir)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

// The same suite with a snapshot every 3 changes: rotation must be invisible.
storeConformance('JsonFileStore (snapshot every 3 changes, no fsync)', async () => {
  const dir = await tempDir('godelayq-conf-', true);
  const options = { snapshotEvery: { changes: 3 }, fsync: false };
  return {
    store: new JsonFileStore(dir, options),
    reopen: () => Promise.resolve(new JsonFileStore(dir, options)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('JsonFileStore options', () => {
  it('rejects bad and unknown options with ValidationError', () => {
    assert.throws(() => new JsonFileStore(''), ValidationError);
    assert.throws(() => new JsonFileStore('x', { snapshotEvery: { changes: 0 } }), ValidationError);
    assert.throws(() => new JsonFileStore('x', { snapshotEvery: { bytes: 1.5 } }), ValidationError);
    assert.throws(() => new JsonFileStore('x', { fsync: 'yes' as unknown as boolean }), ValidationError);
    assert.throws(() => new JsonFileStore('x', { snapshotevery: {} } as never), /snapshotevery/);
  });
});

describe('JsonFileStore on disk', () => {
  it('writes a JSON-lines journal and a JSON snapshot a person can read', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    await insertOne(store, 'a', { payload: { text: 'héllo ✓\nnew line' } });
    await store.insert([
      { record: newRecord('b'), onDuplicate: 'reject' },
      { record: newRecord('c'), onDuplicate: 'reject' },
    ]);
    let lines = (await readFile(path.join(dir, 'journal-000001.jsonl'), 'utf8')).split('\n');
    assert.equal(lines.pop(), '');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(parsed[0], { godelayq: 'journal', version: 1, generation: 1 });
    assert.equal(parsed[1]?.op, 'put');
    assert.equal(parsed[2]?.op, 'batch');
    assert.equal((parsed[2]?.changes as unknown[]).length, 2);

    await store.snapshot();
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, ['LOCK', 'journal-000002.jsonl', 'snapshot-000002.json']);
    const doc = JSON.parse(await readFile(path.join(dir, 'snapshot-000002.json'), 'utf8')) as {
      godelayq: string;
      version: number;
      generation: number;
      count: number;
      jobs: JobRecord[];
    };
    assert.equal(doc.godelayq, 'snapshot');
    assert.equal(doc.version, 1);
    assert.equal(doc.generation, 2);
    assert.equal(doc.count, 3);
    assert.deepEqual(doc.jobs.map((j) => j.id).sort(), ['a', 'b', 'c']);
    lines = (await readFile(path.join(dir, 'journal-000002.jsonl'), 'utf8')).split('\n');
    assert.deepEqual(JSON.parse(lines[0] as string), { godelayq: 'journal', version: 1, generation: 2 });
    await store.close();
    assert.deepEqual((await readdir(dir)).sort(), ['journal-000002.jsonl', 'snapshot-000002.json'], 'close releases LOCK');
    const { store: again } = await openStore(dir);
    assert.deepEqual((await again.get('a'))?.payload, { text: 'héllo ✓\nnew line' });
    await again.close();
  });

  it('after reopen, records deep-equal the records before (random operations, several rotations)', async () => {
    const dir = await tempDir();
    const options = { snapshotEvery: { changes: 40 } };
    const { store } = await openStore(dir, options, { keepCompleted: 30, keepDead: 10 });
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let now = CT0;
    let next = 0;
    for (let round = 0; round < 60; round++) {
      const ops: Promise<unknown>[] = [];
      for (let k = 0; k < 8; k++) {
        const id = `j${next++}`;
        ops.push(insertOne(store, id, { runAt: now + rand(5000), priority: rand(3), name: `n${rand(3)}` }));
      }
      ops.push(store.cancel(`j${rand(next)}`, now));
      ops.push(store.reschedule(`j${rand(next)}`, now + rand(9000)).catch(() => undefined));
      await Promise.all(ops);
      now += 1000;
      const { jobs } = await store.claim(claimAll(now, { limit: 5 }));
      await Promise.all(
        jobs.map((job, i) =>
          i % 3 === 2
            ? Promise.resolve()
            : store.settle(job.id, job.token as string, { ...job, state: i % 3 === 0 ? 'completed' : 'dead', finishedAt: now, result: i }),
        ),
      );
    }
    const before = await allRecords(store);
    assert.ok(before.some((r) => r.state === 'running'));
    await store.close();
    const { store: again, warnings } = await openStore(dir, options, { keepCompleted: 30, keepDead: 10 });
    assert.deepEqual(warnings, []);
    assert.deepEqual(await allRecords(again), afterRecovery(before));
    assert.deepEqual(again.counts(), (() => {
      const c = { scheduled: 0, running: 0, completed: 0, dead: 0, cancelled: 0 };
      for (const r of afterRecovery(before)) c[r.state]++;
      return { ...again.counts(), ...c };
    })());
    await again.close();
  });

  it('group commit: many concurrent inserts share far fewer durable writes', async () => {
    const dir = await tempDir();
    const fs = new FaultyFs();
    const { store } = await openStore(dir, { fs });
    fs.resetCounts();
    const before = store.syncCount;
    const n = 500;
    await Promise.all(Array.from({ length: n }, (_, i) => insertOne(store, `g${i}`)));
    const syncs = store.syncCount - before;
    assert.ok(syncs >= 1 && syncs < n / 10, `expected far fewer than ${n} syncs, got ${syncs}`);
    // Each durable write is one write (O_DSYNC) or one write + one fdatasync.
    assert.equal(fs.counts.write, syncs);
    assert.ok(fs.counts.fdatasync === undefined || fs.counts.fdatasync === syncs);
    // One at a time: one durable write each.
    fs.resetCounts();
    for (let i = 0; i < 5; i++) await insertOne(store, `s${i}`);
    assert.equal(fs.counts.write, 5);
    assert.equal(store.syncCount - before - syncs, 5);
    await store.close();
    const { store: again } = await openStore(dir);
    assert.equal(again.counts().scheduled, n + 5);
    await again.close();
  });

  it('a call resolves only after the write and sync that cover it', async () => {
    const dir = await tempDir();
    const events: string[] = [];
    const base = new FaultyFs().base;
    let journalFd = -1;
    let dsync = false;
    const spy: typeof base = {
      ...base,
      open: async (file, flags, mode) => {
        const fd = await base.open(file, flags, mode);
        if (file.endsWith('.jsonl') && flags !== 'r') {
          journalFd = fd;
          dsync = typeof flags === 'number' && (flags & constants.O_DSYNC) !== 0;
        }
        return fd;
      },
      write: async (fd, buffer, offset, length, position) => {
        if (fd === journalFd) events.push('write-start');
        const n = await base.write(fd, buffer, offset, length, position);
        if (fd === journalFd) events.push('write-end');
        return n;
      },
      fdatasync: async (fd) => {
        events.push('sync-start');
        await base.fdatasync(fd);
        events.push('sync-end');
      },
    };
    const { store } = await openStore(dir, { fs: spy });
    await insertOne(store, 'x');
    events.push('resolved');
    assert.deepEqual(events, dsync ? ['write-start', 'write-end', 'resolved'] : ['write-start', 'write-end', 'sync-start', 'sync-end', 'resolved']);
    await store.close();
  });

  it('rotates snapshot + journal while writes keep arriving, and loses none', async () => {
    const dir = await tempDir();
    const options = { snapshotEvery: { changes: 100 } };
    const { store, warnings } = await openStore(dir, options);
    const acked: string[] = [];
    const waves: Promise<void>[] = [];
    for (let w = 0; w < 20; w++) {
      const batch = Array.from({ length: 60 }, (_, i) => `w${w}-${i}`);
      waves.push(
        Promise.all(batch.map((id) => insertOne(store, id, { runAt: CT0 + (w * 60 + 1) }))).then(() => {
          acked.push(...batch);
        }),
      );
      if (w % 4 === 3) waves.push(store.snapshot());
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(waves);
    for (let i = 0; i < 60; i += 3) await store.cancel(`w7-${i}`, CT0);
    assert.equal(acked.length, 1200);
    const before = await allRecords(store);
    await store.close();
    assert.deepEqual(warnings, []);
    const names = await readdir(dir);
    assert.equal(names.filter((n) => n.startsWith('snapshot-')).length, 1, names.join());
    assert.equal(names.filter((n) => n.startsWith('journal-')).length, 1, names.join());
    const { store: again } = await openStore(dir, options);
    assert.deepEqual(await allRecords(again), before);
    await again.close();
  });

  it('a snapshot is streamed: 20k jobs never block the event loop long', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir, { fsync: false });
    const requests = Array.from({ length: 20_000 }, (_, i) => ({ record: newRecord(`big${i}`, { payload: { pad: 'x'.repeat(100), i } }), onDuplicate: 'reject' as const }));
    await store.insert(requests);
    // A gap between ticks counts as blocking only as far as this process
    // was on the CPU: on a loaded machine the OS may deschedule it.
    let worst = 0;
    let last = performance.now();
    let lastCpu = process.cpuUsage();
    let ticking = true;
    const tick = (): void => {
      const t = performance.now();
      const cpu = process.cpuUsage(lastCpu);
      worst = Math.max(worst, Math.min(t - last, (cpu.user + cpu.system) / 1000));
      last = t;
      lastCpu = process.cpuUsage();
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    await store.snapshot();
    ticking = false;
    assert.ok(worst < 100, `event loop blocked ${worst.toFixed(1)} ms of CPU`);
    await store.close();
    const { store: again } = await openStore(dir);
    assert.equal(again.counts().scheduled, 20_000);
    await again.close();
  });
});

/** Builds a store whose journal ends with `last` as its final record; returns the dir and that line's span. */
async function journalEndingWith(last: 'single' | 'batch'): Promise<{ dir: string; start: number; end: number; expected: JobRecord[] }> {
  const dir = await tempDir('godelayq-torn-', true);
  const { store } = await openStore(dir, { fsync: false });
  await insertOne(store, 'keep1');
  await insertOne(store, 'keep2', { runAt: CT0 + 5 });
  await store.cancel('keep1', CT0);
  const expected = await allRecords(store);
  const file = path.join(dir, 'journal-000001.jsonl');
  const start = (await readFile(file)).length;
  if (last === 'single') await insertOne(store, 'torn', { payload: { text: 'ünïcode ✓' } });
  else {
    await store.insert([
      { record: newRecord('torn-a'), onDuplicate: 'reject' },
      { record: newRecord('torn-b'), onDuplicate: 'reject' },
      { record: newRecord('keep2', { payload: 'replaced' }), onDuplicate: 'replace' },
    ]);
  }
  await store.close();
  const end = (await readFile(file)).length;
  return { dir, start, end, expected };
}

describe('fault 3: torn last journal record', () => {
  for (const kind of ['single', 'batch'] as const) {
    it(`a cut at every byte of the last record (${kind}) drops only that record`, async () => {
      const { dir, start, end, expected } = await journalEndingWith(kind);
      const file = path.join(dir, 'journal-000001.jsonl');
      const whole = await readFile(file);
      assert.equal(whole[end - 1], 10);
      const work = await tempDir('godelayq-torn-', true);
      const target = path.join(work, 'journal-000001.jsonl');
      for (let cut = start; cut < end; cut++) {
        await writeFile(target, whole.subarray(0, cut));
        const { store, warnings } = await openStore(work, { fsync: false });
        assert.deepEqual(await allRecords(store), expected, `cut at ${cut}`);
        assert.equal(warnings.length, cut === start ? 0 : 1, `cut at ${cut}: ${warnings.join()}`);
        if (cut > start) assert.match(warnings[0] as string, /torn last line/);
        await store.close();
        // The torn bytes were cut off, so later appends land on a clean line.
        assert.equal((await readFile(target)).length, start, `cut at ${cut}`);
      }
      // The whole record is kept.
      await writeFile(target, whole);
      const { store } = await openStore(work, { fsync: false });
      assert.equal((await allRecords(store)).length, kind === 'single' ? 3 : 4);
      await store.close();
    });
  }

  it('appends after a dropped torn tail survive the next reopen', async () => {
    const { dir, start, end } = await journalEndingWith('single');
    await truncate(path.join(dir, 'journal-000001.jsonl'), start + Math.floor((end - start) / 2));
    const { store, warnings } = await openStore(dir);
    assert.equal(warnings.length, 1);
    await insertOne(store, 'after');
    const before = await allRecords(store);
    await store.close();
    const { store: again, warnings: w2 } = await openStore(dir);
    assert.deepEqual(w2, []);
    assert.deepEqual(await allRecords(again), before);
    await again.close();
  });
});

async function expectCorrupt(dir: string, file: string, offset: number | ((o: number) => boolean), message?: RegExp): Promise<void> {
  const hashes = await hashDir(dir);
  await assert.rejects(
    openStore(dir),
    (e: unknown) => {
      assert.ok(e instanceof StoreCorruptError, `expected StoreCorruptError, got ${String(e)}`);
      assert.equal(e.code, 'ERR_STORE_CORRUPT');
      assert.equal(e.path, path.join(dir, file));
      if (typeof offset === 'number') assert.equal(e.offset, offset, e.message);
      else assert.ok(offset(e.offset), `offset ${e.offset}: ${e.message}`);
      if (message) assert.match(e.message, message);
      return true;
    },
  );
  assert.deepEqual(await hashDir(dir), hashes, 'every file byte-for-byte untouched, no LOCK left');
}

/** A store with a snapshot (generation 2) of 30 jobs and a journal of 5 more lines. */
async function snapshotted(): Promise<string> {
  const dir = await tempDir();
  const { store } = await openStore(dir, { fsync: false });
  await store.insert(Array.from({ length: 30 }, (_, i) => ({ record: newRecord(`s${i}`), onDuplicate: 'reject' as const })));
  await store.snapshot();
  for (let i = 0; i < 5; i++) await insertOne(store, `j${i}`);
  await store.close();
  // A leftover temp file must survive a failed open too.
  await writeFile(path.join(dir, 'snapshot-000003.json.tmp'), 'partial');
  return dir;
}

describe('fault 4: corruption is reported, files left untouched', () => {
  it('a snapshot cut mid-JSON', async () => {
    const dir = await snapshotted();
    const file = path.join(dir, 'snapshot-000002.json');
    const whole = await readFile(file);
    const cuts = [whole.length - 1, whole.length - 3, Math.floor(whole.length / 2), whole.indexOf(10) + 1, 20];
    for (const cut of cuts) {
      await writeFile(file, whole.subarray(0, cut));
      await expectCorrupt(dir, 'snapshot-000002.json', (o) => o >= 0 && o <= cut);
    }
    // Restored, it opens again.
    await writeFile(file, whole);
    const { store } = await openStore(dir);
    assert.equal(store.counts().scheduled, 35);
    await store.close();
  });

  it('a bad line in the middle of the journal, at its byte offset', async () => {
    const dir = await snapshotted();
    const file = path.join(dir, 'journal-000002.jsonl');
    const text = await readFile(file, 'utf8');
    const lines = text.split('\n');
    const offset = Buffer.byteLength(lines.slice(0, 3).join('\n')) + 1;
    lines[3] = `${lines[3]?.slice(0, 10)}#${lines[3]?.slice(11)}`;
    await writeFile(file, lines.join('\n'));
    await expectCorrupt(dir, 'journal-000002.jsonl', offset, /JSON line/);
  });

  it('a valid JSON line that is not a change', async () => {
    const dir = await snapshotted();
    const file = path.join(dir, 'journal-000002.jsonl');
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.splice(2, 0, '{"op":"zap","id":"x"}');
    await writeFile(file, lines.join('\n'));
    await expectCorrupt(dir, 'journal-000002.jsonl', Buffer.byteLength(lines.slice(0, 2).join('\n')) + 1, /op/);
  });

  it('an unknown format version (journal or snapshot)', async () => {
    let dir = await snapshotted();
    let file = path.join(dir, 'journal-000002.jsonl');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"version":1', '"version":2'));
    await expectCorrupt(dir, 'journal-000002.jsonl', 0, /version 1, got 2/);
    dir = await snapshotted();
    file = path.join(dir, 'snapshot-000002.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"version":1', '"version":99'));
    await expectCorrupt(dir, 'snapshot-000002.json', 0, /version 1, got 99/);
  });

  it('a torn line in a journal that is not the last, or a missing journal', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir, { fsync: false });
    await insertOne(store, 'a');
    await store.close();
    // Journal 2 continues journal 1, so journal 1's tail is no crash artefact.
    await writeFile(path.join(dir, 'journal-000002.jsonl'), '{"godelayq":"journal","version":1,"generation":2}\n');
    const first = path.join(dir, 'journal-000001.jsonl');
    const size = (await readFile(first)).length;
    await writeFile(first, Buffer.concat([await readFile(first), Buffer.from('{"op":"put","jo')]));
    await expectCorrupt(dir, 'journal-000001.jsonl', size);
    await truncate(first, size);
    await copyFile(path.join(dir, 'journal-000002.jsonl'), path.join(dir, 'journal-000004.jsonl'));
    await writeFile(path.join(dir, 'journal-000004.jsonl'), '{"godelayq":"journal","version":1,"generation":4}\n');
    await expectCorrupt(dir, 'journal-000003.jsonl', 0, /generation 3/);
  });

  it('a snapshot whose job count does not match its header', async () => {
    const dir = await snapshotted();
    const file = path.join(dir, 'snapshot-000002.json');
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.splice(3, 1);
    await writeFile(file, lines.join('\n'));
    await expectCorrupt(dir, 'snapshot-000002.json', (o) => o > 0, /expected 30 jobs/);
  });
});

describe('JsonFileStore open', () => {
  it('removes leftover temp files and older generations at open', async () => {
    const dir = await snapshotted();
    await writeFile(path.join(dir, 'journal-000001.jsonl'), '{"godelayq":"journal","version":1,"generation":1}\n');
    await writeFile(path.join(dir, 'journal-000009.jsonl.123456'), 'x');
    await writeFile(path.join(dir, 'notes.txt'), 'mine');
    const { store } = await openStore(dir);
    assert.deepEqual((await readdir(dir)).sort(), ['LOCK', 'journal-000002.jsonl', 'notes.txt', 'snapshot-000002.json']);
    assert.equal(store.counts().scheduled, 35);
    await store.close();
  });

  it('rejects a second open of the same instance and works again after close', async () => {
    const dir = await tempDir();
    const store = new JsonFileStore(dir);
    await store.open(storeContext());
    await assert.rejects(store.open(storeContext()), /already open/);
    await insertOne(store, 'a');
    await store.close();
    await store.close();
    await assert.rejects(insertOne(store, 'b'), { code: 'ERR_STORE_PERSIST' });
    await store.open(storeContext());
    assert.equal((await store.list({})).length, 1);
    await store.close();
  });
});
