/**
 * What a name in a JsonFileStore folder is (json-file/format.ts `classify`).
 * It decides what the store reads and what it deletes: after a snapshot the
 * older generations' journals and snapshots are removed, so a name that only
 * looks like one of them (a backup a person made, another program's file)
 * must never be taken for one.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type FileKind, classify } from '../src/store/json-file/format.js';
import { insertOne, openStore, removeTempDirs, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

describe('classify', () => {
  it('names each kind of file the store writes, with its generation, store or pid', () => {
    const cases: [string, FileKind][] = [
      ['LOCK', { kind: 'lock' }],
      ['LOCK.takeover', { kind: 'guard' }],
      ['journal-000001.jsonl', { kind: 'journal', gen: 1 }],
      ['journal-1234567.jsonl', { kind: 'journal', gen: 1234567 }],
      ['snapshot-000042.json', { kind: 'snapshot', gen: 42 }],
      ['snapshot-000042.json.AbCdEfGh_-123456-zZ9_-xYw.tmp', { kind: 'temp', store: 'AbCdEfGh_-123456' }],
      ['journal-000007.jsonl.AbCdEfGh_-123456-zZ9_-xYw.tmp', { kind: 'temp', store: 'AbCdEfGh_-123456' }],
      ['LOCK.4242.abcdefghijkl.tmp', { kind: 'lockTemp', pid: 4242 }],
      ['salvaged-2026-12-06T04-00-00', { kind: 'salvaged' }],
    ];
    for (const [name, kind] of cases) assert.deepEqual(classify(name), kind, name);
  });

  it('takes a name that only starts like ours for a look-alike, and any other name for something else', () => {
    const lookalikes = [
      'journal-000001.jsonl.bak',
      'journal-12.jsonl.tmp', // write-file-atomic's temp, or a short generation
      'snapshot-000001.json.orig',
      'snapshot-3.json.1234',
      'LOCK.old',
      'LOCK.4242.abcdefghijkl.tmp.1',
      'snapshot-000042.json.short-abc.tmp', // not our temp's shape
    ];
    for (const name of lookalikes) assert.deepEqual(classify(name), { kind: 'lookalike' }, name);
    const others = [
      'README',
      'my-journal-000001.jsonl',
      'journal-000001.jsonl~',
      'journal-00001.jsonl', // five digits: never ours
      'journal-abcdef.jsonl',
      'old-snapshot-000001.json',
      'snapshot-000001.json5',
      'xLOCK',
      'LOCKED',
      'xLOCK.4242.abcdefghijkl.tmp',
      'notes-salvaged-1',
      'journal-.jsonl.x',
      'snapshot-x.json.x',
    ];
    for (const name of others) assert.deepEqual(classify(name), { kind: 'other' }, name);
  });

  it("a store's snapshots delete its old generations and never a file that only looks like one", async () => {
    const dir = await tempDir('godelayq-names-', true);
    const theirs = ['journal-000001.jsonl.bak', 'my-journal-000001.jsonl', 'old-snapshot-000001.json', 'snapshot-000001.json.orig', 'journal-00001.jsonl', 'notes.txt'];
    const { store: first } = await openStore(dir, { fsync: false });
    await insertOne(first, 'a');
    await first.close();
    // Files a person or another program left in the store's folder.
    for (const name of theirs) await writeFile(path.join(dir, name), `kept: ${name}\n`);
    const { store } = await openStore(dir, { fsync: false });
    await store.snapshot();
    await insertOne(store, 'b');
    await store.snapshot();
    await store.close();
    const names = await readdir(dir);
    for (const name of theirs) {
      assert.ok(names.includes(name), `${name} is still there: ${names.join(', ')}`);
      assert.equal(await readFile(path.join(dir, name), 'utf8'), `kept: ${name}\n`);
    }
    // The store's own old generations are gone: one snapshot is left.
    assert.equal(names.filter((n) => classify(n).kind === 'snapshot').length, 1, names.join(', '));
    const { store: again } = await openStore(dir, { fsync: false });
    assert.deepEqual((await again.list({})).map((r) => r.id).sort(), ['a', 'b']);
    await again.close();
  });
});
