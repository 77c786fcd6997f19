/**
 * JsonFileStore integrity (issue 11 item 4): every journal batch, header and
 * snapshot job carries a checksum; only a write torn by a crash (at a page
 * boundary, at the end of the last journal) is dropped silently; any other
 * damage is StoreCorruptError with path and offset, the files untouched; and
 * `JsonFileStore.salvage` is the way out.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { StoreCorruptError, StoreLockedError } from '../src/errors.js';
import { JsonFileStore } from '../src/index.js';
import type { JobRecord } from '../src/store/store.js';
import { claimAll } from './store-conformance.js';
import {
  CT0,
  allRecords,
  afterRecovery,
  crashCopy,
  deadPid,
  expectCorrupt,
  hashDir,
  insertOne,
  newRecord,
  openStore,
  removeTempDirs,
  storeContext,
  tempDir,
} from './json-file-helpers.js';

after(removeTempDirs);

/**
 * A closed store: snapshot 2 (3 jobs), journal 2 (an insert with a unicode
 * payload, a batch, a claim and a cancel), journal 3 (empty, from the close).
 */
async function closedStore(): Promise<{ dir: string; records: JobRecord[] }> {
  const dir = await tempDir('godelayq-int-', true);
  const { store } = await openStore(dir, { fsync: false });
  await store.insert(['s0', 's1', 's2'].map((id) => ({ record: newRecord(id), onDuplicate: 'reject' as const })));
  await store.snapshot();
  await insertOne(store, 'j1', { payload: { text: 'héllo ✓', n: 12 }, runAt: CT0 + 7 });
  await store.insert([
    { record: newRecord('j2', { priority: 2 }), onDuplicate: 'reject' },
    { record: newRecord('j3', { runAt: CT0 + 99 }), onDuplicate: 'reject' },
  ]);
  await store.claim(claimAll(CT0, { limit: 1 }));
  await store.cancel('s1', CT0 + 1);
  const records = afterRecovery(await allRecords(store));
  await store.close();
  assert.deepEqual((await readdir(dir)).sort(), ['journal-000002.jsonl', 'journal-000003.jsonl', 'snapshot-000002.json']);
  return { dir, records };
}

/**
 * What a crash leaves after `changes` inserts into a reopened closed store:
 * the copy's folder and its last journal (name, path, bytes).
 */
async function crashedWithChanges(changes: number, fsync: boolean): Promise<{ dir: string; lastName: string; file: string; whole: Buffer }> {
  const { dir: live } = await closedStore();
  const { store } = await openStore(live, { fsync });
  for (let i = 0; i < changes; i++) await insertOne(store, `c${i}`);
  const dir = await crashCopy(live);
  await store.close();
  const names = (await readdir(dir)).filter((n) => n.startsWith('journal-')).sort();
  const lastName = names[names.length - 1] as string;
  const file = path.join(dir, lastName);
  return { dir, lastName, file, whole: await readFile(file) };
}

/** Byte offset of the line holding `needle` in `file`. */
async function lineOffset(file: string, needle: string): Promise<number> {
  const text = await readFile(file, 'utf8');
  const at = text.indexOf(needle);
  assert.ok(at >= 0, needle);
  return Buffer.byteLength(text.slice(0, text.lastIndexOf('\n', at) + 1));
}

describe('item 4: damage is StoreCorruptError with path and offset, files untouched', () => {
  it('a changed byte anywhere in any file (every byte of a small store, one bit each)', async () => {
    const { dir, records } = await closedStore();
    let flips = 0;
    for (const name of (await readdir(dir)).sort()) {
      const file = path.join(dir, name);
      const original = await readFile(file);
      for (let pos = 0; pos < original.length; pos++) {
        const damaged = Buffer.from(original);
        damaged[pos] = (damaged[pos] as number) ^ (1 << pos % 8);
        await writeFile(file, damaged);
        const outcome = await new JsonFileStore(dir, { fsync: false }).open(storeContext()).then(
          () => 'opened',
          (e: unknown) => e,
        );
        assert.ok(outcome instanceof StoreCorruptError, `${name} byte ${pos}: ${String(outcome)}`);
        assert.equal(outcome.path, file);
        assert.ok(outcome.offset <= pos, `${name} byte ${pos}: ${outcome.message}`);
        assert.ok((await readFile(file)).equals(damaged), 'left untouched');
        flips++;
      }
      await writeFile(file, original);
    }
    assert.ok(flips > 1500, `${flips} flips`);
    assert.ok(!(await readdir(dir)).includes('LOCK'));
    const { store } = await openStore(dir, { fsync: false });
    assert.deepEqual(await allRecords(store), records);
    await store.close();
  });

  it("the issue's edits: a payload byte, an id, a runAt digit, 'scheduled' turned 'completed'", async () => {
    const edits: [string, string][] = [
      ['"text":"héllo', '"text":"hallo'],
      ['"id":"j2"', '"id":"j7"'],
      ['"runAt":1798761600099', '"runAt":1798761600098'],
      ['"id":"j3","name":"work","payload":{"id":"j3"},"state":"scheduled"', '"id":"j3","name":"work","payload":{"id":"j3"},"state":"completed"'],
    ];
    for (const [from, to] of edits) {
      const { dir } = await closedStore();
      const file = path.join(dir, 'journal-000002.jsonl');
      const text = await readFile(file, 'utf8');
      assert.ok(text.includes(from), from);
      const offset = await lineOffset(file, from);
      await writeFile(file, text.replace(from, to));
      await expectCorrupt(dir, 'journal-000002.jsonl', offset, /checksum/);
    }
  });

  it('a journal cut at 50%, or cut at a line boundary, before the one after it', async () => {
    const { dir } = await closedStore();
    const file = path.join(dir, 'journal-000002.jsonl');
    const whole = await readFile(file);
    const half = Math.floor(whole.length / 2);
    await writeFile(file, whole.subarray(0, half));
    await expectCorrupt(dir, 'journal-000002.jsonl', half, /the file was cut/);
    // Complete-looking lines only: the next journal's header knows the length.
    const boundary = whole.lastIndexOf(10, half) + 1;
    await writeFile(file, whole.subarray(0, boundary));
    await expectCorrupt(dir, 'journal-000002.jsonl', boundary, /the file was cut/);
  });

  it('the last journal after a crash: cut at 50%, truncated to 0 bytes, final newline missing or replaced', async () => {
    const { dir, lastName, file, whole } = await crashedWithChanges(5, false);
    assert.ok(whole.length % 4096 !== 0 && whole.length > 600);
    const cases: [string, Buffer, RegExp][] = [
      ['cut at 50%', whole.subarray(0, Math.floor(whole.length / 2)), /unterminated bytes/],
      ['truncated to 0 bytes', Buffer.alloc(0), /empty file/],
      ['final newline missing (a complete batch)', whole.subarray(0, whole.length - 1), /unterminated bytes/],
      ['final newline replaced by a space', Buffer.concat([whole.subarray(0, whole.length - 1), Buffer.from(' ')]), /unterminated bytes/],
    ];
    for (const [what, content, message] of cases) {
      await writeFile(file, content);
      await expectCorrupt(dir, lastName, (o) => o <= Math.max(0, content.length), message).catch((e: unknown) => {
        throw new Error(`${what}: ${String(e)}`, { cause: e });
      });
    }
  });

  it('a damaged snapshot header, a snapshot cut short, a job count that does not match', async () => {
    const { dir } = await closedStore();
    const file = path.join(dir, 'snapshot-000002.json');
    const whole = await readFile(file, 'utf8');
    await writeFile(file, whole.replace('"count":3', '"count":4'));
    await expectCorrupt(dir, 'snapshot-000002.json', 0, /header: expected checksum/);
    await writeFile(file, whole.replace('"version":2', '"version":9'));
    await expectCorrupt(dir, 'snapshot-000002.json', 0, /version 1 or 2, got 9/);
    await writeFile(file, whole.slice(0, -3));
    await expectCorrupt(dir, 'snapshot-000002.json', (o) => o > 0);
    const lines = whole.split('\n');
    lines.splice(2, 1);
    await writeFile(file, lines.join('\n'));
    await expectCorrupt(dir, 'snapshot-000002.json', (o) => o > 0, /expected 3 jobs/);
  });

  it('a journal that belongs to another store, or a missing generation', async () => {
    const { dir } = await closedStore();
    const { dir: other } = await closedStore();
    const file = path.join(dir, 'journal-000003.jsonl');
    const original = await readFile(file);
    await writeFile(file, await readFile(path.join(other, 'journal-000003.jsonl')));
    await expectCorrupt(dir, 'journal-000003.jsonl', 0, /belongs to another store/);
    await writeFile(path.join(dir, 'journal-000004.jsonl'), original.toString('utf8').replace('"generation":3', '"generation":4'));
    const { unlink } = await import('node:fs/promises');
    await unlink(file);
    await expectCorrupt(dir, 'journal-000003.jsonl', 0, /generation 3 to exist/);
  });

  it('the last journal shorter than the durable length its crashed holder recorded in LOCK', async () => {
    const { dir, lastName, file, whole } = await crashedWithChanges(6, true);
    // Complete-looking lines only: nothing in the journals tells this cut from fewer writes.
    const boundary = whole.lastIndexOf(10, whole.length - 2) + 1;
    await writeFile(file, whole.subarray(0, boundary));
    // What the holder's heartbeat wrote before it died.
    await writeDeadHolderLock(dir, Number(/\d+/.exec(lastName)?.[0]), whole.length);
    const files = async (): Promise<Record<string, string>> => {
      const { LOCK: _lock, ...rest } = await hashDir(dir);
      return rest;
    };
    const before = await files();
    await assert.rejects(openStore(dir, { fsync: false }), (e: unknown) => {
      assert.ok(e instanceof StoreCorruptError, String(e));
      assert.equal(e.path, file);
      assert.equal(e.offset, boundary);
      assert.match(e.message, /durable length its last writer recorded/);
      return true;
    });
    assert.deepEqual(await files(), before);
  });

  it('a durable length recorded for an older journal does not bind the newer one (a crash after a snapshot, before the next heartbeat)', async () => {
    const { dir, lastName, file, whole } = await crashedWithChanges(6, true);
    const gen = Number(/\d+/.exec(lastName)?.[0]);
    assert.ok(gen > 1, `a snapshot started generation ${gen}`);
    // The heartbeat last wrote while generation gen - 1 was the journal, longer than the new one is now.
    await writeDeadHolderLock(dir, gen - 1, whole.length + 10_000);
    const { store } = await openStore(dir, { fsync: false });
    const ids = (await allRecords(store)).map((r) => r.id);
    for (let i = 0; i < 6; i++) assert.ok(ids.includes(`c${i}`), `c${i} in ${ids.join(', ')}`);
    await store.close();
    assert.ok((await readFile(file)).length >= whole.length);
  });
});

/** Writes the LOCK a holder on this machine left when it died: syncing, with `length` durable bytes of journal `journal`. */
async function writeDeadHolderLock(dir: string, journal: number, length: number): Promise<void> {
  const lock = {
    godelayq: 'lock',
    version: 2,
    pid: await deadPid(),
    host: os.hostname(),
    boot: (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim(),
    pidns: (await stat('/proc/self/ns/pid')).ino,
    start: 1,
    nonce: 'dead',
    since: '',
    beat: 3,
    sync: true,
    journal,
    length,
  };
  await writeFile(path.join(dir, 'LOCK'), JSON.stringify(lock));
}

describe('item 4: only what a crash produces is repaired', () => {
  it('a last write torn at a 4096-byte boundary is dropped with a warning; the same tail ending elsewhere is corruption', async () => {
    const live = await tempDir('godelayq-int-', true);
    const { store } = await openStore(live, { fsync: false });
    await insertOne(store, 'a');
    // A batch whose line crosses the first page boundary.
    await store.insert([
      { record: newRecord('big', { payload: { pad: 'x'.repeat(5000) } }), onDuplicate: 'reject' },
      { record: newRecord('big2'), onDuplicate: 'reject' },
    ]);
    const [dir, zeros, cut] = [await crashCopy(live), await crashCopy(live), await crashCopy(live)];
    await store.close();
    const file = path.join(dir, 'journal-000001.jsonl');
    const whole = await readFile(file);
    assert.ok(whole.length > 4096);
    await writeFile(file, whole.subarray(0, 4096));
    const { store: reopened, warnings } = await openStore(dir, { fsync: false });
    assert.deepEqual((await allRecords(reopened)).map((r) => r.id), ['a']);
    assert.equal(warnings.length, 1, warnings.join());
    assert.match(warnings[0] as string, /torn last write .*a crash interrupted it, so it was never acknowledged/);
    await insertOne(reopened, 'after');
    const kept = await allRecords(reopened);
    await reopened.close();
    // The torn bytes stay where they were, fenced off by the next journal's header.
    assert.equal((await readFile(file)).length, 4096);
    const { store: again, warnings: w2 } = await openStore(dir, { fsync: false });
    assert.deepEqual(await allRecords(again), kept);
    assert.deepEqual(w2, []);
    await again.close();

    // Zeros after the page boundary (the file size moved, the data did not) are a crash too.
    await writeFile(path.join(zeros, 'journal-000001.jsonl'), Buffer.concat([whole.subarray(0, 4096), Buffer.alloc(300)]));
    const { store: z } = await openStore(zeros, { fsync: false });
    assert.deepEqual((await allRecords(z)).map((r) => r.id), ['a']);
    await z.close();

    // One byte short of the boundary: no crash ends a write there.
    await writeFile(path.join(cut, 'journal-000001.jsonl'), whole.subarray(0, 4095));
    await expectCorrupt(cut, 'journal-000001.jsonl', (o) => o > 0, /multiple of 4096/);
  });

  it('bytes after the length the next journal recorded are never replayed (a lost process wrote them)', async () => {
    const { dir, records } = await closedStore();
    await appendFile(path.join(dir, 'journal-000002.jsonl'), (await readFile(path.join(dir, 'journal-000002.jsonl'), 'utf8')).split('\n')[1] + '\n');
    const { store, warnings } = await openStore(dir, { fsync: false });
    assert.deepEqual(await allRecords(store), records);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /Ignored \d+ bytes at the end of .*journal-000002\.jsonl.*never acknowledged/);
    await store.close();
  });
});

describe('item 4: JsonFileStore.salvage keeps every intact record, moves the damaged files aside, reports what it dropped', () => {
  it('a changed journal line: only its job is dropped, and a later change of that job with it', async () => {
    const { dir, records } = await closedStore();
    const file = path.join(dir, 'journal-000002.jsonl');
    const text = await readFile(file, 'utf8');
    const offset = await lineOffset(file, '"id":"j1"');
    const lineLength = Buffer.byteLength(text.split('\n').find((l) => l.includes('"id":"j1"')) as string) + 1;
    await writeFile(file, text.replace('"n":12', '"n":13'));
    const before = await hashDir(dir);
    await expectCorrupt(dir, 'journal-000002.jsonl', offset);

    const report = await JsonFileStore.salvage(dir);
    assert.equal(report.kept, records.length - 1);
    assert.deepEqual(report.dropped.map((d) => ({ ...d, reason: d.reason.replace(/\d+/g, 'N') })), [
      { file, offset, bytes: lineLength, reason: 'expected checksum N, got N (the line was changed)', ids: ['j1'] },
    ]);
    assert.ok(report.movedTo?.startsWith(path.join(dir, 'salvaged-')));
    // Nothing deleted: the replaced files, byte for byte, in the salvaged folder.
    assert.deepEqual(await hashDir(report.movedTo as string), before);
    const { store, warnings } = await openStore(dir, { fsync: false });
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      await allRecords(store),
      records.filter((r) => r.id !== 'j1'),
    );
    await store.close();
  });

  it('a damaged snapshot job line and a damaged snapshot header: every other job kept', async () => {
    const { dir, records } = await closedStore();
    const file = path.join(dir, 'snapshot-000002.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"id":"s2","name":"work"', '"id":"s2","name":"w0rk"').replace('"count":3', '"count":5'));
    const report = await JsonFileStore.salvage(dir);
    assert.deepEqual(
      report.dropped.map((d) => [path.basename(d.file), d.ids]),
      [
        ['snapshot-000002.json', []],
        ['snapshot-000002.json', ['s2']],
      ],
    );
    const { store } = await openStore(dir, { fsync: false });
    assert.deepEqual(
      await allRecords(store),
      records.filter((r) => r.id !== 's2'),
    );
    await store.close();
  });

  it('refuses while a process holds the store', async () => {
    const { dir } = await closedStore();
    const { store } = await openStore(dir, { fsync: false });
    await assert.rejects(JsonFileStore.salvage(dir), StoreLockedError);
    await store.close();
  });
});

describe('item 4: damage that existed before checksums', () => {
  it('a version-1 journal with a torn last line opens as before (any cut), once', async () => {
    const dir = await tempDir('godelayq-int-', true);
    const fixture = path.join(import.meta.dirname, 'fixtures', 'json-file-v1', 'store');
    for (const name of await readdir(fixture)) await writeFile(path.join(dir, name), await readFile(path.join(fixture, name)));
    await appendFile(path.join(dir, 'journal-000002.jsonl'), '{"op":"put","job":{"id":"to');
    const { store, warnings } = await openStore(dir, { fsync: false });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /torn last write/);
    await store.close();
    const { store: again, warnings: w2 } = await openStore(dir, { fsync: false });
    assert.deepEqual(w2, []);
    await again.close();
  });

  it('a truncated version-1 journal is still found when a later journal exists', async () => {
    const dir = await tempDir('godelayq-int-', true);
    const fixture = path.join(import.meta.dirname, 'fixtures', 'json-file-v1', 'store');
    for (const name of await readdir(fixture)) await writeFile(path.join(dir, name), await readFile(path.join(fixture, name)));
    await writeFile(path.join(dir, 'journal-000003.jsonl'), '{"godelayq":"journal","version":1,"generation":3}\n');
    const size = (await stat(path.join(dir, 'journal-000002.jsonl'))).size;
    await appendFile(path.join(dir, 'journal-000002.jsonl'), '{"op":"put","jo');
    await expectCorrupt(dir, 'journal-000002.jsonl', size, /unterminated/);
    await truncate(path.join(dir, 'journal-000002.jsonl'), size);
    const { store } = await openStore(dir, { fsync: false });
    await store.close();
  });
});
