/**
 * inspectStore (src/store/json-file/inspect.ts), the read behind `godelayq
 * jobs|show|stats`, in-process where a race can be forced: a snapshot that
 * rotates the store (and removes the files being read) in the middle of a
 * read makes it start over and still see every job; every call it makes is
 * a read (its layer refuses the rest); it reports the LOCK's holder.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { JsonFileStore, Scheduler } from '../src/index.js';
import { type FsLayer, nodeFs } from '../src/store/json-file/fs.js';
import { inspectStore, readOnlyFs } from '../src/store/json-file/inspect.js';
import { hashFolder, tempDir, writeStore } from './cli-helpers.js';

describe('inspectStore: reading a JsonFileStore folder without its lock', () => {
  it('starts over when a rotation removes the files it is reading, and sees every job', async (t) => {
    const dir = tempDir(t);
    const store = new JsonFileStore(dir);
    const scheduler = new Scheduler({ store, unref: true });
    await scheduler.start();
    t.after(() => scheduler.stop());
    await scheduler.scheduleMany(Array.from({ length: 200 }, (_, i) => ({ name: 'n', payload: { i }, delay: 3_600_000, options: { id: `j${i}` } })));
    const journalsBefore = readdirSync(dir).filter((n) => n.startsWith('journal-'));
    let rotated = false;
    // The first time the read opens a journal, the app snapshots: journal and snapshot generations move on, old ones are removed.
    const racing: FsLayer = {
      ...nodeFs,
      open: async (file, flags) => {
        if (!rotated && /journal-\d+\.jsonl$/.test(file)) {
          rotated = true;
          await store.snapshot();
        }
        return nodeFs.open(file, flags);
      },
    };
    const seen = await inspectStore(dir, { fs: racing });
    assert.ok(rotated);
    assert.ok(readdirSync(dir).every((n) => !journalsBefore.includes(n)), 'the snapshot did not remove the journals the read had listed');
    assert.equal(seen.restarts, 1, 'the read should have started over once');
    assert.equal(seen.records.length, 200);
    assert.ok(seen.snapshot, 'the second read found the new snapshot');
    assert.equal(seen.lock?.pid, process.pid);
  });

  it('makes only reads: every other file-system call is refused', async (t) => {
    const dir = tempDir(t);
    await writeStore(dir);
    const calls = new Set<string>();
    const spy = new Proxy(nodeFs, {
      get(target, key: string) {
        const fn = target[key as keyof FsLayer] as (...args: unknown[]) => unknown;
        return (...args: unknown[]) => {
          calls.add(key === 'open' ? `open:${String(args[1])}` : key);
          return fn.apply(target, args);
        };
      },
    });
    const before = hashFolder(dir);
    const seen = await inspectStore(dir, { fs: spy });
    assert.equal(seen.records.length, 5);
    assert.deepEqual([...calls].filter((c) => !['open:r', 'close', 'read', 'fstat', 'stat', 'readdir', 'readFile'].includes(c)), []);
    assert.deepEqual(hashFolder(dir), before);
    const ro = readOnlyFs(nodeFs);
    await assert.rejects(ro.open(`${dir}/x`, 'wx'), /read-only: `open\(wx\)` refused/);
    for (const call of [() => ro.unlink(`${dir}/x`), () => ro.mkdir(`${dir}/y`), () => ro.link(`${dir}/a`, `${dir}/b`), () => ro.rename(`${dir}/a`, `${dir}/b`)]) {
      await assert.rejects(call(), /store inspection is read-only/);
    }
  });

  it('reports read progress up to the bytes of the files it reads', async (t) => {
    const dir = tempDir(t);
    await writeStore(dir, 500);
    const seen: [number, number][] = [];
    const result = await inspectStore(dir, { onProgress: (done, total) => seen.push([done, total]) });
    assert.ok(seen.length > 0);
    const [done, total] = seen.at(-1)!;
    assert.ok(total > 0 && done >= total, `progress ended at ${done}/${total}`);
    assert.equal(result.bytesRead, done);
  });
});
