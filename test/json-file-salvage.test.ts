// JsonFileStore.salvage on each kind of damage it must read around: a missing
// journal generation, damaged journal and snapshot headers, a journal longer
// or shorter than the next one recorded, torn and unterminated tails, a store
// with no snapshot and no readable store id, version-1 files. Every test
// checks the report and what the rebuilt store holds against what was
// acknowledged before the damage (never against the store's own listing).
import assert from 'node:assert/strict';
import { appendFile, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { StorePersistError, ValidationError } from '../src/errors.js';
import { JsonFileStore } from '../src/index.js';
import { type FsLayer, errnoError, nodeFs } from '../src/store/json-file/fs.js';
import type { JobRecord } from '../src/store/store.js';
import { CT0, afterRecovery, allRecords, insertOne, newRecord, openStore, removeTempDirs, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

const J = (gen: number): string => `journal-${String(gen).padStart(6, '0')}.jsonl`;

/**
 * A store with no snapshot and three journals, as three sessions leave it:
 * journal 1 creates a and b; journal 2 creates c and cancels a; journal 3
 * cancels c; journal 4 is empty. `acked` is what each session's calls
 * acknowledged, by id.
 */
async function threeJournals(): Promise<{ dir: string; acked: Map<string, JobRecord> }> {
  const dir = await tempDir('godelayq-salvage-', true);
  const acked = new Map<string, JobRecord>();
  let { store } = await openStore(dir, { fsync: false });
  for (const id of ['a', 'b']) acked.set(id, await insertOne(store, id));
  await store.close();
  ({ store } = await openStore(dir, { fsync: false }));
  acked.set('c', await insertOne(store, 'c'));
  acked.set('a', (await store.cancel('a', 5)) as JobRecord);
  await store.close();
  ({ store } = await openStore(dir, { fsync: false }));
  acked.set('c', (await store.cancel('c', 6)) as JobRecord);
  await store.close();
  assert.deepEqual((await readdir(dir)).sort(), [J(1), J(2), J(3), J(4)]);
  return { dir, acked };
}

/** What the rebuilt store holds, by id, after reopening it (no warnings). */
async function reopened(dir: string): Promise<Map<string, JobRecord>> {
  const { store, warnings } = await openStore(dir, { fsync: false });
  assert.deepEqual(warnings, []);
  const records = await allRecords(store);
  await store.close();
  return new Map(records.map((r) => [r.id, r]));
}

const expected = (acked: Map<string, JobRecord>, ids: string[]): Map<string, JobRecord> =>
  new Map(afterRecovery(ids.map((id) => acked.get(id) as JobRecord)).map((r) => [r.id, r]));

/** The report's drops as [file name, reason, ids], digits in reasons as N. */
const drops = (report: Awaited<ReturnType<typeof JsonFileStore.salvage>>): [string, string, string[]][] =>
  report.dropped.map((d) => [path.basename(d.file), d.reason.replace(/\d+/g, 'N'), d.ids]);

describe('JsonFileStore.salvage refuses what is not a store folder', () => {
  test('a missing path and a file are ValidationErrors; a folder it cannot stat is a StorePersistError', async () => {
    const dir = await tempDir('godelayq-salvage-', true);
    await assert.rejects(JsonFileStore.salvage(path.join(dir, 'nope')), (e: unknown) => e instanceof ValidationError && /which is not a folder/.test(e.message));
    await writeFile(path.join(dir, 'file'), 'x');
    await assert.rejects(JsonFileStore.salvage(path.join(dir, 'file')), ValidationError);
    const denied: FsLayer = {
      ...nodeFs,
      stat: async () => {
        throw errnoError('EACCES', 'stat', dir);
      },
    };
    await assert.rejects(JsonFileStore.salvage(dir, { fs: denied }), (e: unknown) => e instanceof StorePersistError && e.message.startsWith(`Could not read store folder ${dir}`));
  });

  test('an unexpected failure while rebuilding is a StorePersistError naming the store, and the lock is released', async () => {
    const { dir } = await threeJournals();
    const failing: FsLayer = {
      ...nodeFs,
      readdir: async () => {
        throw new TypeError('boom');
      },
    };
    await assert.rejects(JsonFileStore.salvage(dir, { fs: failing }), (e: unknown) => e instanceof StorePersistError && e.message === `Could not salvage store ${dir}: boom`);
    assert.ok(!(await readdir(dir)).includes('LOCK'));
  });
});

describe('JsonFileStore.salvage reads around damaged journals', () => {
  test('an intact store: nothing dropped, every acknowledged job kept, the old journals moved aside', async () => {
    const { dir, acked } = await threeJournals();
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    assert.deepEqual(report.dropped, []);
    assert.equal(report.kept, 3);
    assert.equal(report.generation, 5);
    assert.deepEqual((await readdir(report.movedTo as string)).sort(), [J(1), J(2), J(3), J(4)]);
    assert.deepEqual(await reopened(dir), expected(acked, ['a', 'b', 'c']));
  });

  test('a job added after a salvage is numbered after every job it kept (their order among equal due times stays)', async () => {
    const { dir } = await threeJournals();
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    // The rebuilt snapshot's header records the next sequence number: one past every kept job's.
    const snapshot = await readFile(path.join(dir, `snapshot-${String(report.generation).padStart(6, '0')}.json`), 'utf8');
    const nextSeq = Number(/"nextSeq":(\d+)/.exec(snapshot)?.[1]);
    const { store } = await openStore(dir, { fsync: false });
    const kept = await allRecords(store);
    assert.equal(nextSeq, Math.max(...kept.map((r) => r.seq)) + 1);
    const added = await insertOne(store, 'after');
    await store.close();
    assert.equal(kept.length, 3);
    for (const r of kept) assert.ok(added.seq > r.seq, `seq ${added.seq} after ${r.id}'s ${r.seq}`);
  });

  test('the next sequence number is past the highest kept, not the last read: a job replaced later keeps its first place in the journal', async () => {
    const dir = await tempDir('godelayq-salvage-', true);
    const { store } = await openStore(dir, { fsync: false });
    await insertOne(store, 'a');
    await insertOne(store, 'b');
    // The replacement takes a new, higher sequence number; read back, `a` still comes first.
    await store.insert([{ record: newRecord('a', { runAt: CT0 + 9 }), onDuplicate: 'replace' }]);
    const seqs = new Map((await allRecords(store)).map((r) => [r.id, r.seq]));
    await store.close();
    assert.ok(seqs.get('a')! > seqs.get('b')!, JSON.stringify([...seqs]));
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    const snapshot = await readFile(path.join(dir, `snapshot-${String(report.generation).padStart(6, '0')}.json`), 'utf8');
    assert.equal(Number(/"nextSeq":(\d+)/.exec(snapshot)?.[1]), Math.max(...seqs.values()) + 1);
  });

  test('a missing journal generation is reported; a job changed after its creation was lost is dropped, not half kept', async () => {
    const { dir, acked } = await threeJournals();
    await rm(path.join(dir, J(2)));
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    assert.deepEqual(drops(report), [
      [J(2), 'journal generation N is missing', []],
      ['', 'job `c` was changed after a line that created it was dropped', ['c']],
    ]);
    // a as journal 1 created it (its cancel was in journal 2); c's cancel has no payload to keep.
    const got = await reopened(dir);
    assert.deepEqual([...got.keys()].sort(), ['a', 'b']);
    const { state: _s, finishedAt: _f, ...aCancelled } = acked.get('a') as JobRecord;
    assert.deepEqual(got.get('a'), { ...aCancelled, state: 'scheduled' });
    assert.deepEqual(got.get('b'), acked.get('b'));
  });

  test('two generations missing in a row: each reported once, and the journal after them is not', async () => {
    const { dir, acked } = await threeJournals();
    await rm(path.join(dir, J(2)));
    await rm(path.join(dir, J(3)));
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    assert.deepEqual(drops(report), [
      [J(2), 'journal generation N is missing', []],
      [J(3), 'journal generation N is missing', []],
    ]);
    assert.deepEqual(report.dropped.map((d) => d.reason), ['journal generation 2 is missing', 'journal generation 3 is missing']);
    const { state: _s, finishedAt: _f, ...aCancelled } = acked.get('a') as JobRecord;
    assert.deepEqual(await reopened(dir), new Map([['a', { ...aCancelled, state: 'scheduled' }], ['b', acked.get('b')]]));
  });

  test('a damaged journal header is reported and the journal\'s change lines are still applied', async () => {
    const { dir, acked } = await threeJournals();
    const file = path.join(dir, J(2));
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"generation":2', '"generation":9'));
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    assert.deepEqual(drops(report), [[J(2), 'damaged journal header (the change lines were still read)', []]]);
    assert.deepEqual(await reopened(dir), expected(acked, ['a', 'b', 'c']));
  });

  test('every header damaged and no snapshot: a new store id, every job kept', async () => {
    const { dir, acked } = await threeJournals();
    const ids = new Set<string>();
    for (const gen of [1, 2, 3, 4]) {
      const file = path.join(dir, J(gen));
      const text = await readFile(file, 'utf8');
      ids.add(/"store":"([^"]+)"/.exec(text)?.[1] as string);
      await writeFile(file, text.replace('"godelayq":"journal"', '"godelayq":"jurnal"'));
    }
    assert.equal(ids.size, 1);
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    assert.equal(report.dropped.length, 4);
    const head = (await readFile(path.join(dir, J(report.generation)), 'utf8')).split('\n')[0] as string;
    const store = /"store":"([^"]+)"/.exec(head)?.[1];
    assert.ok(store !== undefined && !ids.has(store), `new store id, got ${store}`);
    assert.deepEqual(await reopened(dir), expected(acked, ['a', 'b', 'c']));
  });

  test('bytes after the length the next journal recorded are dropped as never acknowledged', async () => {
    const { dir, acked } = await threeJournals();
    const line = '{"op":"del","id":"b"}\n';
    await appendFile(path.join(dir, J(1)), line);
    const size = (await stat(path.join(dir, J(1)))).size;
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    // The appended line is past journal 2's `prev`: not read, so b stays.
    assert.deepEqual(report.dropped, [
      {
        file: path.join(dir, J(1)),
        offset: size - line.length,
        bytes: line.length,
        reason: 'bytes after the length recorded by the next journal (never acknowledged)',
        ids: [],
      },
    ]);
    assert.deepEqual(await reopened(dir), expected(acked, ['a', 'b', 'c']));
  });

  test('a journal cut short of the length the next one recorded: the cut line and the missing bytes are reported', async () => {
    const { dir, acked } = await threeJournals();
    const file = path.join(dir, J(1));
    const size = (await stat(file)).size;
    await truncate(file, size - 10);
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    assert.deepEqual(drops(report), [
      [J(1), 'unterminated line', ['b']],
      [J(1), 'the file is N bytes shorter than the next journal recorded (cut off)', []],
    ]);
    assert.equal(report.dropped[1]?.bytes, 10);
    assert.deepEqual(await reopened(dir), expected(acked, ['a', 'c']));
  });

  test('the last journal: an unterminated tail is reported as such, one ending at a page boundary as torn by a crash', async () => {
    for (const torn of [false, true]) {
      const { dir, acked } = await threeJournals();
      const file = path.join(dir, J(4));
      const size = (await stat(file)).size;
      const tail = torn ? `{"op":"del","id":"a"`.padEnd(4096 - size, ' ') : '{"op":"del","id":"a"';
      await appendFile(file, tail);
      const report = await JsonFileStore.salvage(dir, { fsync: false });
      assert.deepEqual(drops(report), [
        [J(4), torn ? 'a write torn by a crash (never acknowledged; ends at a N-byte boundary)' : 'unterminated line', ['a']],
      ]);
      assert.equal(report.dropped[0]?.offset, size);
      assert.deepEqual(await reopened(dir), expected(acked, ['a', 'b', 'c']));
    }
  });

  test('a change line that is not JSON is dropped with the ids it still names', async () => {
    const { dir, acked } = await threeJournals();
    const file = path.join(dir, J(2));
    const lines = (await readFile(file, 'utf8')).split('\n');
    const at = lines.findIndex((l) => l.includes('"id":"c"'));
    // An escaped id is read as JSON reads it; one that is not a JSON string is left out.
    // Changed in place (same length), as bit rot would.
    lines[at] = '{"op":"put","job":{"id":"c\\u0041","x":{"id":"\\q"}} not json'.padEnd((lines[at] as string).length, ' ');
    await writeFile(file, lines.join('\n'));
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    assert.deepEqual(drops(report), [
      [J(2), 'expected a line ending in `,"crc":<n>}`', ['cA']],
      ['', 'job `c` was changed after a line that created it was dropped', ['c']],
    ]);
    assert.deepEqual(await reopened(dir), expected(acked, ['a', 'b']));
  });
});

describe('JsonFileStore.salvage reads around a damaged snapshot', () => {
  /** Snapshot 2 holds s0..s2; journal 2 creates j1; journal 3 is empty. */
  async function snapshotted(): Promise<{ dir: string; acked: Map<string, JobRecord>; file: string }> {
    const dir = await tempDir('godelayq-salvage-', true);
    const acked = new Map<string, JobRecord>();
    const { store } = await openStore(dir, { fsync: false });
    for (const id of ['s0', 's1', 's2']) acked.set(id, await insertOne(store, id));
    await store.snapshot();
    acked.set('j1', await insertOne(store, 'j1'));
    await store.close();
    const file = path.join(dir, 'snapshot-000002.json');
    assert.ok((await readdir(dir)).includes('snapshot-000002.json'));
    return { dir, acked, file };
  }

  test('a header that is not JSON at all: reported, the job lines still read', async () => {
    const { dir, acked, file } = await snapshotted();
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines[0] = 'garbage';
    await writeFile(file, lines.join('\n'));
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    assert.deepEqual(drops(report), [['snapshot-000002.json', 'damaged snapshot header (the job lines were still read)', []]]);
    assert.deepEqual(await reopened(dir), expected(acked, ['j1', 's0', 's1', 's2']));
  });

  test("the snapshot's store id is kept when every journal header after it is damaged", async () => {
    const { dir, acked, file } = await snapshotted();
    const storeId = /"store":"([^"]+)"/.exec(await readFile(file, 'utf8'))?.[1] as string;
    assert.ok(storeId);
    for (const name of (await readdir(dir)).filter((n) => n.startsWith('journal-'))) {
      const journal = path.join(dir, name);
      const lines = (await readFile(journal, 'utf8')).split('\n');
      lines[0] = 'garbage';
      await writeFile(journal, lines.join('\n'));
    }
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    assert.ok(report.dropped.every((d) => d.reason.startsWith('damaged journal header')), JSON.stringify(report.dropped));
    const gen = String(report.generation).padStart(6, '0');
    for (const name of [`snapshot-${gen}.json`, `journal-${gen}.jsonl`]) {
      const head = (await readFile(path.join(dir, name), 'utf8')).split('\n')[0] as string;
      assert.equal(/"store":"([^"]*)"/.exec(head)?.[1], storeId, `${name}: ${head}`);
    }
    assert.deepEqual(await reopened(dir), expected(acked, ['j1', 's0', 's1', 's2']));
  });

  test('an unterminated tail after the footer is reported', async () => {
    const { dir, acked, file } = await snapshotted();
    await appendFile(file, '{"job":{"id":"zz"');
    const report = await JsonFileStore.salvage(dir, { fsync: false });
    assert.deepEqual(drops(report), [['snapshot-000002.json', 'unterminated last line', ['zz']]]);
    assert.deepEqual(await reopened(dir), expected(acked, ['j1', 's0', 's1', 's2']));
  });
});

describe('JsonFileStore.salvage of a version-1 store (no checksums)', () => {
  test('keeps what the version-1 files say, and drops a job line that is not JSON', async () => {
    const fixture = path.join(import.meta.dirname, 'fixtures', 'json-file-v1', 'store');
    const load = async (): Promise<string> => {
      const dir = await tempDir('godelayq-salvage-v1-', true);
      for (const name of await readdir(fixture)) await writeFile(path.join(dir, name), await readFile(path.join(fixture, name)));
      return dir;
    };
    const intact = await load();
    // What the store itself reads from the fixture is the oracle for the intact case.
    const { store } = await openStore(await load(), { fsync: false });
    const want = new Map((await allRecords(store)).map((r) => [r.id, r]));
    await store.close();
    const report = await JsonFileStore.salvage(intact, { fsync: false });
    assert.deepEqual(report.dropped, []);
    assert.deepEqual(await reopened(intact), want);

    const damaged = await load();
    const snap = path.join(damaged, 'snapshot-000002.json');
    await writeFile(snap, (await readFile(snap, 'utf8')).replace('{"id":"a","name":"work"', '{"id":"a","name":wrk"'));
    const report2 = await JsonFileStore.salvage(damaged, { fsync: false });
    // a is in the snapshot only (the journal never changed it): only a is lost.
    assert.deepEqual(drops(report2), [['snapshot-000002.json', 'not JSON', ['a']]]);
    want.delete('a');
    assert.deepEqual(await reopened(damaged), want);
  });
});

describe("JsonFileStore.salvage keeps the store's identity and its deletions, and only its own temp files", () => {
  test('a job a journal deleted stays deleted; the rebuilt files carry the store id; our temp files move aside, another store’s stay', async () => {
    const dir = await tempDir('godelayq-salvage-', true);
    // Retention keeps one finished job: cancelling b deletes a (a `del` line in the journal).
    const { store } = await openStore(dir, { fsync: false }, { keepCompleted: 1 });
    const acked = new Map<string, JobRecord>();
    for (const id of ['a', 'b', 'c']) acked.set(id, await insertOne(store, id));
    await store.cancel('a', CT0 + 1);
    acked.set('b', (await store.cancel('b', CT0 + 2)) as JobRecord);
    assert.equal(await store.get('a'), undefined);
    await store.close();
    const journal = await readFile(path.join(dir, J(1)), 'utf8');
    assert.match(journal, /"op":"del"/, 'the deletion is in the journal');
    const storeId = /"store":"([A-Za-z0-9_-]{16})"/.exec(journal)?.[1] as string;
    assert.ok(storeId, 'the journal header names its store');
    // A temp file this store left (a crash mid-write), and one of another store sharing the folder.
    const ours = `snapshot-000009.json.${storeId}-AbCdEfGh.tmp`;
    const theirs = `snapshot-000009.json.${storeId.startsWith('Z') ? 'Y' : 'Z'}${storeId.slice(1)}-AbCdEfGh.tmp`;
    for (const name of [ours, theirs]) await writeFile(path.join(dir, name), 'partial');

    const report = await JsonFileStore.salvage(dir, { fsync: false });
    assert.deepEqual(report.dropped, []);
    assert.equal(report.kept, 2);
    const gen = String(report.generation).padStart(6, '0');
    for (const name of [`snapshot-${gen}.json`, `journal-${gen}.jsonl`]) {
      // The snapshot's first line opens its job array, so it is read by pattern, not parsed.
      const head = (await readFile(path.join(dir, name), 'utf8')).split('\n')[0] as string;
      assert.equal(/"store":"([^"]*)"/.exec(head)?.[1], storeId, `${name} keeps the store id: ${head}`);
    }
    const moved = await readdir(report.movedTo as string);
    assert.ok(moved.includes(ours), `our temp file moved aside: ${moved.join(', ')}`);
    const left = await readdir(dir);
    assert.ok(left.includes(theirs) && !moved.includes(theirs), `the other store's temp file stays: ${left.join(', ')}`);
    const { store: again, warnings } = await openStore(dir, { fsync: false });
    assert.deepEqual(new Map((await allRecords(again)).map((r) => [r.id, r])), expected(acked, ['b', 'c']));
    await again.close();
    // Open names the file it leaves alone.
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0]?.endsWith(`not written by this store: ${theirs}`), warnings[0]);
  });
});

describe('JsonFileStore.salvage makes its renames durable', () => {
  /** nodeFs logging `sync <path>` for each fsync of a descriptor opened read-only (a folder), and `rename <to>`. */
  function folderSpy(log: string[]): FsLayer {
    const paths = new Map<number, string>();
    return {
      ...nodeFs,
      open: async (file, flags, mode) => {
        const fd = await nodeFs.open(file, flags, mode);
        if (flags === 'r') paths.set(fd, file);
        return fd;
      },
      fsync: (fd) => {
        log.push(paths.has(fd) ? `sync ${paths.get(fd)}` : 'fsync file');
        return nodeFs.fsync(fd);
      },
      fdatasync: (fd) => {
        log.push('fdatasync file');
        return nodeFs.fdatasync(fd);
      },
      rename: (from, to) => {
        log.push(`rename ${path.dirname(to)}`);
        return nodeFs.rename(from, to);
      },
    };
  }

  test('with fsync, the folder is synced once the new generation exists (before anything moves), then the moved-to folder and the folder after the moves; without, nothing is synced', async () => {
    for (const fsync of [true, false]) {
      const { dir, acked } = await threeJournals();
      const log: string[] = [];
      const report = await JsonFileStore.salvage(dir, { fsync, fs: folderSpy(log) });
      const moved = report.movedTo as string;
      assert.deepEqual(await reopened(dir), expected(acked, ['a', 'b', 'c']));
      if (!fsync) {
        assert.deepEqual(
          log.filter((l) => !l.startsWith('rename')),
          [],
          'no sync of any kind',
        );
        continue;
      }
      const firstMove = log.indexOf(`rename ${moved}`);
      const lastMove = log.lastIndexOf(`rename ${moved}`);
      assert.ok(firstMove > 0, log.join('\n'));
      assert.ok(log.slice(0, firstMove).includes(`sync ${dir}`), `the folder synced before the first move:\n${log.join('\n')}`);
      const after = log.slice(lastMove + 1);
      assert.ok(after.includes(`sync ${moved}`) && after.includes(`sync ${dir}`), `both folders synced after the moves:\n${log.join('\n')}`);
    }
  });
});
