/**
 * What `open` reads first (json-file/recover.ts): the folder's names sorted
 * into generations, the newest snapshot and the journals after it. The
 * order readdir returns is any order; generations are numbers (a 7-digit
 * one is newer than every 6-digit one). Generations a finished snapshot
 * superseded are removed at open; a newest snapshot without its journal is
 * refused, not opened without its changes.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { StoreCorruptError } from '../src/errors.js';
import { journalName, snapshotName } from '../src/store/json-file/format.js';
import { listFolder } from '../src/store/json-file/recover.js';
import { crashCopy, insertOne, openStore, removeTempDirs, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

describe('listFolder', () => {
  it('sorts generations as numbers, whatever order the names come in, and each name into its kind', () => {
    const names = [
      'journal-1000000.jsonl',
      'snapshot-000010.json',
      'README',
      'journal-000002.jsonl',
      'snapshot-000002.json',
      'journal-999999.jsonl',
      'journal-000010.jsonl.bak',
      'LOCK.77.abcdefghijkl.tmp',
      'snapshot-1000000.json',
      'journal-000010.jsonl',
      'snapshot-000010.json.AbCdEfGh_-123456-zZ9_-xYw.tmp',
      'LOCK',
    ];
    const want = {
      snapshots: [2, 10, 1_000_000],
      journals: [2, 10, 999_999, 1_000_000],
      temps: [{ name: 'snapshot-000010.json.AbCdEfGh_-123456-zZ9_-xYw.tmp', store: 'AbCdEfGh_-123456' }],
      lockTemps: [{ name: 'LOCK.77.abcdefghijkl.tmp', pid: 77 }],
      lookalikes: ['journal-000010.jsonl.bak'],
      others: ['README'],
    };
    for (const order of [names, [...names].reverse(), [...names].sort(), [...names].sort().reverse()]) assert.deepEqual(listFolder(order), want);
  });
});

describe('open', () => {
  it('removes the generations a finished snapshot superseded, left by a crash before its clean-up, and keeps every job', async () => {
    const dir = await tempDir('godelayq-recover-', true);
    const saved = await tempDir('godelayq-recover-old-', true);
    const { store } = await openStore(dir, { fsync: false });
    await insertOne(store, 'a');
    // A first snapshot, so the superseded generation has a snapshot as well as a journal.
    await store.snapshot();
    await insertOne(store, 'a2');
    // The generations before the snapshot: kept aside to be put back, as a crash before their removal leaves them.
    const before = (await readdir(dir)).filter((n) => n.startsWith('snapshot-') || n.startsWith('journal-'));
    for (const name of before) await copyFile(path.join(dir, name), path.join(saved, name));
    await store.snapshot();
    await insertOne(store, 'b');
    await store.close();
    const left = (await readdir(dir)).filter((n) => n.startsWith('snapshot-') || n.startsWith('journal-'));
    for (const name of before) if (!left.includes(name)) await copyFile(path.join(saved, name), path.join(dir, name));
    const restored = before.filter((n) => !left.includes(n));
    assert.ok(
      restored.some((n) => n.startsWith('snapshot-')) && restored.some((n) => n.startsWith('journal-')),
      `the snapshot removed a snapshot and a journal of ${before.join(', ')}; now ${left.join(', ')}`,
    );
    const { store: again } = await openStore(dir, { fsync: false });
    assert.deepEqual((await again.list({})).map((r) => r.id).sort(), ['a', 'a2', 'b']);
    const names = await readdir(dir);
    for (const name of restored) assert.ok(!names.includes(name), `${name} removed at open: ${names.join(', ')}`);
    await again.close();
  });

  it('counts the changes and bytes the journals hold toward snapshotEvery: a reopened store snapshots once the rest arrive', async () => {
    const dir = await tempDir('godelayq-recover-', true);
    const { store } = await openStore(dir, { fsync: false, snapshotEvery: { changes: 1_000_000 } });
    for (let i = 0; i < 6; i++) await insertOne(store, `j${i}`);
    // As a crash leaves it: one journal holding the six changes, none snapshotted.
    const copies = [await crashCopy(dir), await crashCopy(dir)];
    await store.close();
    const journals = async (d: string): Promise<string[]> => (await readdir(d)).filter((n) => n.startsWith('journal-')).sort();
    const [first] = await journals(copies[0]!);
    const journalBytes = (await stat(path.join(copies[0]!, first!))).size;
    const cases = [
      { copy: copies[0]!, snapshotEvery: { changes: 8 } },
      // A threshold the journal's bytes alone nearly reach: four more small lines pass it.
      { copy: copies[1]!, snapshotEvery: { changes: 1_000_000, bytes: journalBytes + 100 } },
    ];
    for (const { copy, snapshotEvery } of cases) {
      const before = await journals(copy);
      assert.deepEqual(before, [first], `${JSON.stringify(snapshotEvery)}: one journal after the crash`);
      const { store: again } = await openStore(copy, { fsync: false, snapshotEvery });
      // Open after a crash starts the next journal (fencing off the old one's tail); no snapshot yet.
      const opened = await journals(copy);
      assert.ok(!(await readdir(copy)).some((n) => n.startsWith('snapshot-')), 'no snapshot at open');
      // Counted from zero instead, four changes would be far from either threshold.
      for (let i = 0; i < 4; i++) await insertOne(again, `k${i}`);
      const after = await journals(copy);
      assert.ok(after.at(-1)! > opened.at(-1)!, `${JSON.stringify(snapshotEvery)}: a generation after ${opened.join(', ')} started: ${after.join(', ')}`);
      assert.deepEqual((await again.list({})).map((r) => r.id).sort(), ['j0', 'j1', 'j2', 'j3', 'j4', 'j5', 'k0', 'k1', 'k2', 'k3']);
      await again.close();
    }
  });

  it('refuses a folder whose newest snapshot lost its journal, naming that journal', async () => {
    const dir = await tempDir('godelayq-recover-', true);
    const { store } = await openStore(dir, { fsync: false });
    await insertOne(store, 'a');
    await store.snapshot();
    await store.close();
    const names = await readdir(dir);
    const newest = Math.max(...names.filter((n) => n.startsWith('snapshot-')).map((n) => Number(n.slice(9, -5))));
    // Every journal from the newest snapshot's generation on is gone.
    for (const name of names) if (name.startsWith('journal-') && Number(name.slice(8, -6)) >= newest) await unlink(path.join(dir, name));
    assert.ok((await readdir(dir)).includes(snapshotName(newest)));
    await assert.rejects(openStore(dir, { fsync: false }), (e: unknown) => {
      assert.ok(e instanceof StoreCorruptError, String(e));
      assert.equal(e.path, path.join(dir, journalName(newest)));
      assert.match(e.message, /expected the journal of the newest snapshot, got none/);
      return true;
    });
  });
});
