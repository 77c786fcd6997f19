/**
 * JsonFileStore: the conformance suite, then what only a durable store has:
 * the on-disk format, reopen equality, group commit, rotation under load,
 * torn tails (fault 3) and corruption (fault 4).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { ValidationError } from '../src/errors.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { FaultyFs } from '../src/store/json-file/faulty-fs.js';
import { type FsLayer, nodeFs } from '../src/store/json-file/fs.js';
import type { JobRecord } from '../src/store/store.js';
import { claimAll, storeConformance } from './store-conformance.js';
import {
  CT0,
  allRecords,
  afterRecovery,
  insertOne,
  newRecord,
  openStore,
  removeTempDirs,
  storeContext,
  tempDir,
} from './json-file-helpers.js';

after(removeTempDirs);

/** The checksum rule of the format: CRC-32 of the line's bytes before `,"crc":`. */
function assertCrc(line: string): void {
  const at = line.lastIndexOf(',"crc":');
  assert.ok(at > 0, line);
  const value = Number(line.slice(at + 7).replace(/[}\s]/g, ''));
  assert.equal(zlib.crc32(Buffer.from(line.slice(0, at))), value, line);
}

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
  it('writes a JSON-lines journal and a JSON snapshot a person can read, every line checksummed', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    await insertOne(store, 'a', { payload: { text: 'héllo ✓\nnew line' } });
    await store.insert([
      { record: newRecord('b'), onDuplicate: 'reject' },
      { record: newRecord('c'), onDuplicate: 'reject' },
    ]);
    const journal1 = await readFile(path.join(dir, 'journal-000001.jsonl'));
    let lines = journal1.toString('utf8').split('\n');
    assert.equal(lines.pop(), '');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const storeId = parsed[0]?.store;
    assert.equal(typeof storeId, 'string');
    assert.deepEqual({ ...parsed[0], crc: 0 }, { godelayq: 'journal', version: 2, store: storeId, generation: 1, crc: 0 });
    assert.equal(parsed[1]?.op, 'put');
    assert.equal(parsed[2]?.op, 'batch');
    assert.equal((parsed[2]?.changes as unknown[]).length, 2);
    // The documented rule: crc = CRC-32 of the line's bytes before `,"crc":`.
    for (const line of journal1.toString('utf8').split('\n').filter(Boolean)) assertCrc(line);

    await store.snapshot();
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, ['LOCK', 'journal-000002.jsonl', 'snapshot-000002.json']);
    const snapshotText = await readFile(path.join(dir, 'snapshot-000002.json'), 'utf8');
    const doc = JSON.parse(snapshotText) as {
      godelayq: string;
      version: number;
      store: string;
      generation: number;
      count: number;
      jobs: { job: JobRecord; crc: number }[];
    };
    assert.equal(doc.godelayq, 'snapshot');
    assert.equal(doc.version, 2);
    assert.equal(doc.store, storeId);
    assert.equal(doc.generation, 2);
    assert.equal(doc.count, 3);
    assert.deepEqual(doc.jobs.map((j) => j.job.id).sort(), ['a', 'b', 'c']);
    for (const line of snapshotText.split('\n').slice(1, -2)) assertCrc(line.replace(/,$/, ''));
    assertCrc(`${snapshotText.split('\n')[0]?.replace(/,"jobs":\[$/, '')}}`);
    lines = (await readFile(path.join(dir, 'journal-000002.jsonl'), 'utf8')).split('\n');
    const header2 = JSON.parse(lines[0] as string) as Record<string, unknown>;
    assert.deepEqual({ ...header2, crc: 0 }, { godelayq: 'journal', version: 2, store: storeId, generation: 2, prev: journal1.length, crc: 0 });
    const size2 = (await readFile(path.join(dir, 'journal-000002.jsonl'))).length;
    await store.close();
    // Close releases LOCK and starts an empty journal recording the last one's length.
    assert.deepEqual((await readdir(dir)).sort(), ['journal-000002.jsonl', 'journal-000003.jsonl', 'snapshot-000002.json']);
    const sealed = JSON.parse(await readFile(path.join(dir, 'journal-000003.jsonl'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual({ ...sealed, crc: 0 }, { godelayq: 'journal', version: 2, store: storeId, generation: 3, prev: size2, closed: true, crc: 0 });
    const { store: again } = await openStore(dir);
    assert.deepEqual((await again.get('a'))?.payload, { text: 'héllo ✓\nnew line' });
    await again.close();
    // Reopened and closed without a change: the sealed journal was reused, no new file.
    assert.deepEqual((await readdir(dir)).sort(), ['journal-000002.jsonl', 'journal-000003.jsonl', 'snapshot-000002.json']);
  });

  it('after reopen, the store holds what it acknowledged (random operations, several rotations), and records deep-equal those before', async () => {
    const dir = await tempDir();
    const options = { snapshotEvery: { changes: 40 } };
    const { store } = await openStore(dir, options, { keepCompleted: 30, keepDead: 10 });
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // The oracle: what each resolved call acknowledged, built from the calls' own arguments.
    const acked = new Map<string, { state: JobRecord['state']; runAt: number; priority: number; name: string }>();
    let now = CT0;
    let next = 0;
    for (let round = 0; round < 60; round++) {
      const ops: Promise<unknown>[] = [];
      for (let k = 0; k < 8; k++) {
        const id = `j${next++}`;
        const fields = { runAt: now + rand(5000), priority: rand(3), name: `n${rand(3)}` };
        ops.push(insertOne(store, id, fields).then(() => acked.set(id, { state: 'scheduled', ...fields })));
      }
      const cancelId = `j${rand(next)}`;
      const cancel = store.cancel(cancelId, now);
      const moveId = `j${rand(next)}`;
      const moveTo = now + rand(9000);
      const move = store.reschedule(moveId, moveTo).then(
        () => true,
        () => false,
      );
      await Promise.all(ops);
      // Applied once the round's inserts are in the oracle (a group commit resolves them in any order).
      if (await cancel) acked.get(cancelId)!.state = 'cancelled';
      if (await move) acked.get(moveId)!.runAt = moveTo;
      now += 1000;
      const { jobs } = await store.claim(claimAll(now, { limit: 5 }));
      for (const job of jobs) acked.get(job.id)!.state = 'running';
      await Promise.all(
        jobs.map((job, i) => {
          if (i % 3 === 2) return Promise.resolve();
          const state = i % 3 === 0 ? 'completed' : 'dead';
          return store.settle(job.id, job.token as string, { ...job, state, finishedAt: now, result: i }).then((ok) => {
            assert.equal(ok, true);
            acked.get(job.id)!.state = state;
          });
        }),
      );
    }
    const before = await allRecords(store);
    assert.ok(before.some((r) => r.state === 'running'));
    await store.close();
    const { store: again, warnings } = await openStore(dir, options, { keepCompleted: 30, keepDead: 10 });
    assert.deepEqual(warnings, []);
    const reopened = await allRecords(again);

    // Against the oracle: every live job exactly (running ones come back scheduled), finished
    // ones only as retention allows (the newest 30 completed or cancelled, 10 dead), none invented.
    const live = [...acked].filter(([, j]) => j.state === 'scheduled' || j.state === 'running');
    assert.deepEqual(
      reopened.filter((r) => r.state === 'scheduled').map((r) => [r.id, r.runAt, r.priority, r.name]).sort(),
      live.map(([id, j]) => [id, j.runAt, j.priority, j.name]).sort(),
    );
    for (const r of reopened) assert.equal(r.state === 'scheduled' ? 'live' : r.state, ['scheduled', 'running'].includes(acked.get(r.id)!.state) ? 'live' : acked.get(r.id)!.state, r.id);
    const count = (...states: string[]): number => [...acked.values()].filter((j) => states.includes(j.state)).length;
    const kept = (...states: string[]): number => reopened.filter((r) => states.includes(r.state)).length;
    assert.ok(count('completed', 'cancelled') > 30 && count('dead') > 10, 'retention was exercised');
    assert.equal(kept('completed', 'cancelled'), 30);
    assert.equal(kept('dead'), 10);
    const counts = again.counts();
    assert.deepEqual(
      [counts.scheduled, counts.running, counts.completed + counts.cancelled, counts.dead],
      [live.length, 0, 30, 10],
    );
    // And, record for record, what the store held before it closed.
    assert.deepEqual(reopened, afterRecovery(before));
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
    // The snapshot's journal, and the empty one the close started.
    assert.equal(names.filter((n) => n.startsWith('journal-')).length, 2, names.join());
    const { store: again } = await openStore(dir, options);
    assert.deepEqual(await allRecords(again), before);
    await again.close();
  });

  it('a snapshot is streamed: 20k jobs go out in ~1 MiB writes, with the event loop turning between them', async () => {
    // How long the loop is blocked is a timing figure: bench/store-large.ts measures it.
    // Here, the structure that bounds it: no write holds the whole snapshot, and other work runs between writes.
    const dir = await tempDir();
    let ticks = 0;
    const writes: { bytes: number; ticks: number }[] = [];
    const snapshotFds = new Set<number>();
    const counting: FsLayer = {
      ...nodeFs,
      open: async (file, flags, mode) => {
        const fd = await nodeFs.open(file, flags, mode);
        if (path.basename(file).startsWith('snapshot-') && flags !== 'r') snapshotFds.add(fd);
        return fd;
      },
      write: (fd, buffer, offset, length, position) => {
        if (snapshotFds.has(fd)) writes.push({ bytes: length, ticks });
        return nodeFs.write(fd, buffer, offset, length, position);
      },
    };
    const { store } = await openStore(dir, { fsync: false, fs: counting });
    const requests = Array.from({ length: 20_000 }, (_, i) => ({ record: newRecord(`big${i}`, { payload: { pad: 'x'.repeat(100), i } }), onDuplicate: 'reject' as const }));
    await store.insert(requests);
    let ticking = true;
    const tick = (): void => {
      ticks++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    await store.snapshot();
    ticking = false;
    const total = writes.reduce((sum, w) => sum + w.bytes, 0);
    assert.ok(total > 3 << 20, `the snapshot wrote ${total} bytes`);
    assert.ok(writes.length >= 3, `${writes.length} writes`);
    for (const w of writes) assert.ok(w.bytes <= (1 << 20) + (64 << 10), `one write of ${w.bytes} bytes`);
    // Between any two consecutive big writes, the event loop ran other callbacks.
    const big = writes.filter((w) => w.bytes >= 256 << 10);
    for (let i = 1; i < big.length; i++) assert.ok(big[i]!.ticks > big[i - 1]!.ticks, `no event-loop turn between writes ${i - 1} and ${i}`);
    await store.close();
    const { store: again } = await openStore(dir);
    assert.equal(again.counts().scheduled, 20_000);
    await again.close();
  });
});

describe('JsonFileStore open', () => {
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
