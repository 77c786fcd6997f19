// The journal writer (src/store/json-file/journal.ts) on its own, over an
// in-memory file whose every write, sync and cut is recorded and can be
// made to fail: group commit (one write and one sync for a turn's batches,
// at the durable length, checksums filled in), in-order acknowledgement,
// a failed write cut back before anything else is written, the failure
// window, a cut that fails (fenced, or halted), and a store that lost its
// files (verify). The oracle is the file's bytes and the calls made, never
// the writer's own view of itself.
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { describe, test } from 'node:test';
import { StorePersistError } from '../src/errors.js';
import { CRC_BLANK, checkCrc } from '../src/store/json-file/format.js';
import { type FsLayer, errnoError } from '../src/store/json-file/fs.js';
import { type JournalFile, type JournalHooks, JournalWriter, journalOpenFlags } from '../src/store/json-file/journal.js';

const FD = 7;
const PATH = '/store/journal-000001.jsonl';

type Call = { op: 'write'; position: number; bytes: Buffer } | { op: 'fdatasync' } | { op: 'ftruncate'; length: number };

/** One open file in memory; `fail(op)` decides whether a call rejects (EIO) before it does anything. */
class MemFile {
  content = Buffer.alloc(0);
  calls: Call[] = [];
  fail: (op: Call['op'], n: number) => NodeJS.ErrnoException | undefined = () => undefined;
  /** Writes at most this many bytes a call (short writes). */
  maxWrite = Infinity;
  private count = 0;

  readonly layer: FsLayer = {
    write: (fd, buffer, offset, length, position) => {
      assert.equal(fd, FD);
      const bytes = Buffer.from(buffer.subarray(offset, offset + Math.min(length, this.maxWrite)));
      const error = this.fail('write', this.count++);
      if (error) return Promise.reject(error);
      this.calls.push({ op: 'write', position, bytes });
      const end = position + bytes.length;
      if (end > this.content.length) this.content = Buffer.concat([this.content, Buffer.alloc(end - this.content.length)]);
      bytes.copy(this.content, position);
      return Promise.resolve(bytes.length);
    },
    fdatasync: (fd) => {
      assert.equal(fd, FD);
      const error = this.fail('fdatasync', this.count++);
      if (error) return Promise.reject(error);
      this.calls.push({ op: 'fdatasync' });
      return Promise.resolve();
    },
    ftruncate: (fd, length) => {
      assert.equal(fd, FD);
      const error = this.fail('ftruncate', this.count++);
      if (error) return Promise.reject(error);
      this.calls.push({ op: 'ftruncate', length });
      this.content = this.content.subarray(0, length);
      return Promise.resolve();
    },
    open: () => Promise.reject(new Error('not used')),
    close: () => Promise.reject(new Error('not used')),
    read: () => Promise.reject(new Error('not used')),
    fsync: () => Promise.reject(new Error('not used')),
    fstat: () => Promise.reject(new Error('not used')),
    stat: () => Promise.reject(new Error('not used')),
    readdir: () => Promise.reject(new Error('not used')),
    mkdir: () => Promise.reject(new Error('not used')),
    rename: () => Promise.reject(new Error('not used')),
    link: () => Promise.reject(new Error('not used')),
    unlink: () => Promise.reject(new Error('not used')),
    readFile: () => Promise.reject(new Error('not used')),
  };

  ops(): string[] {
    return this.calls.map((c) => (c.op === 'write' ? `write@${c.position}+${c.bytes.length}` : c.op === 'ftruncate' ? `ftruncate@${c.length}` : c.op));
  }

  lines(): string[] {
    return this.content.toString('utf8').split('\n').slice(0, -1);
  }
}

const HEADER = '{"header":1}\n';

function journalFile(dsync = false): JournalFile {
  return { path: PATH, gen: 1, fd: FD, size: Buffer.byteLength(HEADER), dsync, ino: 1, dev: 1 };
}

/** A change line as the store writes it: a blank checksum the writer fills in. */
function line(n: number | string): string {
  return `{"op":"del","id":${JSON.stringify(String(n))}${CRC_BLANK}\n`;
}

/** Hooks that record what they were asked; each can be replaced. */
function hooks(over: Partial<JournalHooks> = {}): JournalHooks & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    beforeGroup: over.beforeGroup ?? (() => undefined),
    verify:
      over.verify ??
      (() => {
        log.push('verify');
        return Promise.resolve();
      }),
    repairFailed:
      over.repairFailed ??
      ((cause) => {
        log.push(`repairFailed:${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
        return Promise.resolve();
      }),
  };
}

function setup(options: { sync?: boolean; dsync?: boolean; hooks?: Partial<JournalHooks> } = {}): { file: MemFile; writer: JournalWriter; hooks: JournalHooks & { log: string[] } } {
  const file = new MemFile();
  file.content = Buffer.from(HEADER);
  const h = hooks(options.hooks);
  return { file, writer: new JournalWriter(file.layer, journalFile(options.dsync), options.sync ?? true, h), hooks: h };
}

/** Settles `p` into 'ok' or the error, so a test can look at rejections after the fact. */
function outcome(p: Promise<void>): Promise<'ok' | Error> {
  return p.then(
    () => 'ok' as const,
    (e: unknown) => e as Error,
  );
}

/** Makes every fdatasync of `file` wait until the returned function is called. */
function holdSyncs(file: MemFile): () => void {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const inner = file.layer.fdatasync;
  file.layer.fdatasync = async (fd) => {
    await gate;
    return inner(fd);
  };
  return release;
}

/** Makes only fdatasync number `which` (0 = the first) of `file` wait until the returned function is called; counts syncs. */
function holdSync(file: MemFile, which: number): { release: () => void; count: () => number } {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const inner = file.layer.fdatasync;
  let syncs = 0;
  file.layer.fdatasync = async (fd) => {
    if (syncs++ === which) await gate;
    return inner(fd);
  };
  return { release, count: () => syncs };
}

/** Lets the writer loop and pending callbacks run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function eio(op: string): NodeJS.ErrnoException {
  return errnoError('EIO', op, PATH);
}

describe('journalOpenFlags', () => {
  test('with sync: O_RDWR | O_DSYNC where the platform has it; without: r+ and no dsync', () => {
    const dsync = constants.O_DSYNC;
    assert.equal(typeof dsync, 'number', 'this machine has O_DSYNC');
    assert.deepEqual(journalOpenFlags(true), { flags: constants.O_RDWR | dsync, dsync: true });
    assert.deepEqual(journalOpenFlags(false), { flags: 'r+', dsync: false });
  });
});

describe('group commit', () => {
  test("a turn's batches: one write at the durable length, one fdatasync, checksums filled, then all resolve", async () => {
    const { file, writer, hooks: h } = setup();
    const done = [1, 2, 3].map((n) => outcome(writer.append(line(n))));
    assert.equal(writer.busy, true);
    assert.deepEqual(await Promise.all(done), ['ok', 'ok', 'ok']);
    const start = Buffer.byteLength(HEADER);
    const bytes = Buffer.byteLength(line(1)) * 3;
    assert.deepEqual(file.ops(), [`write@${start}+${bytes}`, 'fdatasync']);
    assert.deepEqual(h.log, ['verify']);
    assert.equal(writer.syncs, 1);
    assert.equal(writer.file.size, start + bytes);
    const lines = file.lines();
    assert.equal(lines.length, 4);
    for (const [i, text] of lines.slice(1).entries()) {
      const raw = Buffer.from(text);
      assert.equal(typeof checkCrc(raw, 0, raw.length), 'number', `line ${i + 1} has a valid checksum: ${text}`);
      assert.ok(text.startsWith(`{"op":"del","id":"${i + 1}"`));
    }
    assert.equal(writer.busy, false);
    assert.equal(writer.settledId, 3);
    assert.equal(writer.lastId, 3);
  });

  test('a multi-byte line advances the durable length by its bytes, not its UTF-16 units', async () => {
    const { file, writer } = setup();
    const text = line('€€€ ünïcödé');
    await writer.append(text);
    assert.equal(writer.file.size, Buffer.byteLength(HEADER) + Buffer.byteLength(text));
    await writer.append(line('next'));
    // The second write lands right after the first, with no gap or overlap.
    assert.deepEqual(file.lines().map((l) => JSON.parse(l).id), [undefined, '€€€ ünïcödé', 'next']);
  });

  test('O_DSYNC: no separate fdatasync; without sync: no fdatasync and no sync counted', async () => {
    const dsync = setup({ dsync: true });
    await dsync.writer.append(line(1));
    assert.deepEqual(dsync.file.ops(), [`write@${Buffer.byteLength(HEADER)}+${Buffer.byteLength(line(1))}`]);
    assert.equal(dsync.writer.syncs, 1);

    const nosync = setup({ sync: false });
    await nosync.writer.append(line(1));
    await nosync.writer.append(line(2));
    assert.deepEqual(nosync.file.ops(), [`write@${Buffer.byteLength(HEADER)}+${Buffer.byteLength(line(1))}`, `write@${Buffer.byteLength(HEADER) + Buffer.byteLength(line(1))}+${Buffer.byteLength(line(2))}`]);
    assert.equal(nosync.writer.syncs, 0);
  });

  test('short writes are continued where they stopped', async () => {
    const { file, writer } = setup();
    file.maxWrite = 10;
    await writer.append(line('short'));
    assert.equal(file.lines()[1]?.startsWith('{"op":"del","id":"short"'), true);
    assert.ok(file.calls.filter((c) => c.op === 'write').length > 3);
  });

  test("an empty append ('') writes nothing and resolves once what is ahead of it is durable", async () => {
    const { file, writer, hooks: h } = setup();
    const order: string[] = [];
    const a = writer.append(line(1)).then(() => order.push('a'));
    const wait = writer.append('').then(() => order.push('wait'));
    await Promise.all([a, wait]);
    assert.deepEqual(order, ['a', 'wait']);
    assert.equal(file.calls.filter((c) => c.op === 'write').length, 1);
    // Alone, it writes, syncs and verifies nothing.
    const calls = file.calls.length;
    await writer.append('');
    assert.equal(file.calls.length, calls);
    assert.deepEqual(h.log, ['verify']);
    assert.equal(writer.syncs, 1);
  });

  test('batches appended while a group is being written form the next group, written after it', async () => {
    const { file, writer } = setup();
    const release = holdSyncs(file);
    const first = outcome(writer.append(line(1)));
    await turn();
    const later = [2, 3].map((n) => outcome(writer.append(line(n))));
    let firstDone = false;
    void first.then(() => (firstDone = true));
    await turn();
    assert.equal(firstDone, false, 'not acknowledged before its sync');
    release();
    assert.deepEqual(await Promise.all([first, ...later]), ['ok', 'ok', 'ok']);
    const start = Buffer.byteLength(HEADER);
    const one = Buffer.byteLength(line(1));
    assert.deepEqual(file.ops(), [`write@${start}+${one}`, 'fdatasync', `write@${start + one}+${one * 2}`, 'fdatasync']);
    assert.equal(writer.syncs, 2);
  });

  test('128 batches queued in one turn start a group at once: a batch appended after them goes to the next group', async () => {
    const { file, writer } = setup({ sync: false });
    const done = Array.from({ length: 128 }, (_, i) => outcome(writer.append(line(i))));
    await Promise.resolve();
    done.push(outcome(writer.append(line('late'))));
    await Promise.all(done);
    const writes = file.calls.filter((c) => c.op === 'write');
    assert.deepEqual(
      writes.map((c) => (c.op === 'write' ? c.bytes.toString('utf8').split('\n').length - 1 : 0)),
      [128, 1],
    );
  });

  test('127 batches wait for the end of the turn: one appended after a microtask joins their group', async () => {
    const { file, writer } = setup({ sync: false });
    const done = Array.from({ length: 127 }, (_, i) => outcome(writer.append(line(i))));
    await Promise.resolve();
    done.push(outcome(writer.append(line('late'))));
    await Promise.all(done);
    assert.equal(file.calls.filter((c) => c.op === 'write').length, 1);
  });

  test('a group stops growing once it holds 8 Mi UTF-16 units: the rest is the next group', async () => {
    const { file, writer } = setup({ sync: false });
    const big = (id: string, units: number): string => `{"op":"del","id":"${id}","pad":"${'x'.repeat(units)}"${CRC_BLANK}\n`;
    const limit = 8 << 20;
    // The first three lines hold exactly 8 Mi units: the fourth starts the next group.
    const a = big('0', 4 << 20);
    const b = big('1', (4 << 20) - 1000);
    const c = big('2', limit - a.length - b.length - big('2', 0).length);
    const lines = [a, b, c, big('3', 10)];
    assert.equal(a.length + b.length + c.length, limit);
    await Promise.all(lines.map((l) => writer.append(l)));
    const writes = file.calls.filter((call) => call.op === 'write').map((call) => (call.op === 'write' ? call.bytes.toString('utf8').split('\n').length - 1 : 0));
    assert.deepEqual(writes, [3, 1]);
  });

  test('drain resolves once nothing is queued or written; settled(id) once batch id is settled', async () => {
    const { writer } = setup();
    await writer.drain();
    const a = writer.append(line(1));
    const b = writer.append(line(2));
    let drained = false;
    const drain = writer.drain().then(() => (drained = true));
    const upTo1 = writer.settled(1).then(() => writer.settledId);
    assert.equal(drained, false);
    await Promise.all([a, b, drain]);
    assert.ok((await upTo1) >= 1);
    assert.equal(writer.busy, false);
    await writer.settled(2);
    await writer.settled(0);
  });

  test('while a group is being written and nothing is queued: busy, and drain waits for it', async () => {
    const { file, writer } = setup();
    const release = holdSyncs(file);
    const a = writer.append(line(1));
    await turn();
    assert.equal(file.calls.length, 1, 'the group was taken and written');
    assert.equal(writer.busy, true);
    let drained = false;
    const drain = writer.drain().then(() => (drained = true));
    await turn();
    assert.equal(drained, false);
    release();
    await a;
    await drain;
    assert.equal(writer.busy, false);
  });

  test('more than 128 batches in one turn: one writer loop, so a batch appended while their group is written waits for it', async () => {
    const { file, writer } = setup();
    const { release } = holdSync(file, 0);
    const done = Array.from({ length: 200 }, (_, i) => outcome(writer.append(line(i))));
    await turn();
    await turn();
    done.push(outcome(writer.append(line('late'))));
    await turn();
    release();
    await Promise.all(done);
    const start = Buffer.byteLength(HEADER);
    const bytes200 = Array.from({ length: 200 }, (_, i) => Buffer.byteLength(line(i))).reduce((x, y) => x + y, 0);
    assert.deepEqual(file.ops(), [`write@${start}+${bytes200}`, 'fdatasync', `write@${start + bytes200}+${Buffer.byteLength(line('late'))}`, 'fdatasync']);
  });

  test('settled(id) waits for exactly that batch: not resolved while it is still being written', async () => {
    const { file, writer } = setup();
    const release = holdSyncs(file);
    const a = writer.append(line(1));
    let seen = false;
    const waiting = writer.settled(1).then(() => (seen = true));
    await turn();
    await turn();
    assert.equal(seen, false);
    release();
    await a;
    await waiting;
    assert.equal(seen, true);
  });

  test('settled(id) for a later batch outlasts the settle of an earlier group, and resolves with its own', async () => {
    const { file, writer } = setup();
    // The first group's sync goes through; the second group's waits.
    const { release, count } = holdSync(file, 1);
    const seen: number[] = [];
    const upTo2 = writer.settled(2).then(() => seen.push(2));
    const upTo1 = writer.settled(1).then(() => seen.push(1));
    await writer.append(line(1));
    await upTo1;
    await turn();
    assert.deepEqual(seen, [1], 'batch 2 was not even appended yet');
    const b = writer.append(line(2));
    await turn();
    await turn();
    assert.equal(count(), 2, 'the second group is being synced');
    assert.deepEqual(seen, [1], 'batch 2 is not settled while its group is written');
    release();
    await b;
    await upTo2;
    assert.deepEqual(seen, [1, 2]);
  });

  test('beforeGroup runs before each group with the group taken; a rotation that rejects never fails the group', async () => {
    const seen: number[] = [];
    const ref: { writer?: JournalWriter } = {};
    const { file, writer: w } = setup({
      hooks: {
        beforeGroup: () => {
          seen.push(ref.writer?.lastId ?? -1);
          return Promise.reject(new Error('rotation failed'));
        },
      },
    });
    ref.writer = w;
    assert.deepEqual(await Promise.all([outcome(w.append(line(1))), outcome(w.append(line(2)))]), ['ok', 'ok']);
    assert.deepEqual(seen, [2]);
    assert.equal(file.calls.filter((c) => c.op === 'write').length, 1);
  });

  test('a rotation that halts the writer: the group rejects with the halt, as not written', async () => {
    const halt = new StorePersistError('Store stopped writing.');
    const ref: { writer?: JournalWriter } = {};
    const { file, writer: w } = setup({
      hooks: {
        beforeGroup: () => {
          ref.writer?.halt(halt);
          return Promise.resolve();
        },
      },
    });
    ref.writer = w;
    const a = await outcome(w.append(line(1)));
    assert.equal(a, halt);
    assert.deepEqual(file.calls, []);
    assert.equal(w.haltedBy, halt);
    assert.equal(await outcome(w.append(line(2))), halt);
  });
});

describe('a failed write', () => {
  test('rejects its group and every batch queued behind it, cut back to the durable length (and synced) before anything else', async () => {
    const { file, writer } = setup();
    const start = Buffer.byteLength(HEADER);
    await writer.append(line(0));
    const durable = start + Buffer.byteLength(line(0));
    // The next write writes a part and then fails, once a batch is queued behind it.
    let failed = false;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inner = file.layer.write;
    file.layer.write = async (fd, buffer, offset, length, position) => {
      if (failed) return inner(fd, buffer, offset, length, position);
      failed = true;
      await inner(fd, buffer, offset, 20, position);
      await gate;
      throw eio('write');
    };
    const group = [1, 2].map((n) => outcome(writer.append(line(n))));
    await turn();
    const behind = outcome(writer.append(line(3)));
    release();
    const results = await Promise.all([...group, behind]);
    for (const r of results) {
      assert.ok(r instanceof StorePersistError, String(r));
      assert.equal(r.message, `Could not append to journal ${PATH}: EIO: ${PATH}, write`);
      assert.equal(r.outcomeUnknown, false);
    }
    assert.equal(writer.failures, 1);
    assert.equal(file.content.length, durable, 'cut back');
    assert.deepEqual(file.ops().slice(-2), [`ftruncate@${durable}`, 'fdatasync']);
    assert.equal(writer.file.size, durable);
    assert.equal(writer.dirty, false);
    assert.equal(writer.settledId, 4);
  });

  test('without sync the cut is not synced', async () => {
    const { file, writer } = setup({ sync: false });
    file.fail = (op) => (op === 'write' ? eio('write') : undefined);
    assert.ok((await outcome(writer.append(line(1)))) instanceof StorePersistError);
    assert.deepEqual(file.ops(), [`ftruncate@${Buffer.byteLength(HEADER)}`]);
  });

  test('a failed fdatasync fails the group the same way (the write is cut off)', async () => {
    const { file, writer } = setup();
    file.fail = (op) => (op === 'fdatasync' && file.calls.every((c) => c.op !== 'ftruncate') ? eio('fdatasync') : undefined);
    const r = await outcome(writer.append(line(1)));
    assert.ok(r instanceof StorePersistError, String(r));
    assert.match(r.message, /^Could not append to journal .*EIO/);
    assert.equal(file.content.toString(), HEADER);
    assert.equal(writer.file.size, Buffer.byteLength(HEADER));
  });

  test('the failure window: batches appended before the failed ones are reverted are refused, until the last one reports its revert', async () => {
    const { file, writer } = setup();
    let fail = true;
    file.fail = (op) => (op === 'write' && fail ? eio('write') : undefined);
    const failed = await Promise.all([outcome(writer.append(line(1))), outcome(writer.append(line(2)))]);
    fail = false;
    assert.ok(failed.every((r) => r instanceof StorePersistError));
    // Two failed batches not yet reverted: a new batch is refused with the same error.
    const refused = await outcome(writer.append(line(3)));
    assert.equal(refused, failed[0]);
    // The refused batch counts as one more to revert: three reverts reopen the window.
    writer.endFailure();
    writer.endFailure();
    assert.equal(await outcome(writer.append(line(4))), failed[0]);
    writer.endFailure();
    writer.endFailure();
    assert.equal(await outcome(writer.append(line(5))), 'ok');
    // An extra endFailure changes nothing: the next failure again needs one revert per batch.
    writer.endFailure();
    assert.equal(await outcome(writer.append(line(6))), 'ok');
    assert.deepEqual(file.lines().slice(1).map((l) => JSON.parse(l).id), ['5', '6']);
    fail = true;
    const next = await outcome(writer.append(line(7)));
    fail = false;
    assert.ok(next instanceof StorePersistError);
    assert.equal(await outcome(writer.append(line(8))), next, 'shut until the failed batch is reverted');
    writer.endFailure();
    assert.equal(await outcome(writer.append(line(9))), next, 'one of two reverts reported: still shut');
    writer.endFailure();
    writer.endFailure();
    assert.equal(await outcome(writer.append(line(10))), 'ok');
  });

  test('no revert reported at all: the window stays shut (the safety net only opens a window with none pending)', async () => {
    const { file, writer } = setup();
    let fail = true;
    file.fail = (op) => (op === 'write' && fail ? eio('write') : undefined);
    const failed = await outcome(writer.append(line(1)));
    fail = false;
    await turn();
    await turn();
    assert.equal(await outcome(writer.append(line(2))), failed);
  });

  test('a cut that fails: repairFailed gets the cause; when it fences, the next group goes ahead', async () => {
    const { file, writer, hooks: h } = setup();
    let n = 0;
    file.fail = (op) => (op === 'write' && n++ === 0 ? eio('write') : op === 'ftruncate' ? errnoError('EROFS', 'ftruncate', PATH) : undefined);
    const r = await outcome(writer.append(line(1)));
    assert.ok(r instanceof StorePersistError, String(r));
    assert.equal(r.outcomeUnknown, false);
    assert.deepEqual(h.log, ['repairFailed:EROFS']);
    assert.equal(writer.dirty, false);
    writer.endFailure();
    assert.equal(await outcome(writer.append(line(2))), 'ok');
  });

  test('a cut that fails and a fence that fails: the next group cuts first, then writes', async () => {
    let fence = 0;
    const { file, writer } = setup({
      hooks: {
        repairFailed: () => (fence++ === 0 ? Promise.reject(new Error('fence failed')) : Promise.resolve()),
      },
    });
    let truncates = 0;
    let writes = 0;
    file.fail = (op) => (op === 'write' && writes++ === 0 ? eio('write') : op === 'ftruncate' && truncates++ === 0 ? eio('ftruncate') : undefined);
    assert.ok((await outcome(writer.append(line(1)))) instanceof StorePersistError);
    assert.equal(writer.dirty, true, 'the failed bytes are still there');
    writer.endFailure();
    assert.equal(await outcome(writer.append(line(2))), 'ok');
    const start = Buffer.byteLength(HEADER);
    const ops = file.ops();
    assert.deepEqual(ops.slice(-4), [`ftruncate@${start}`, 'fdatasync', `write@${start}+${Buffer.byteLength(line(2))}`, 'fdatasync']);
    assert.equal(writer.dirty, false);
    assert.deepEqual(file.lines().slice(1).map((l) => JSON.parse(l).id), ['2']);
  });

  test('a cut that fails and the store halts: the group may have happened, the batches behind it did not', async () => {
    const halt = new StorePersistError('Store stopped writing.');
    const ref: { writer?: JournalWriter } = {};
    const { file, writer: w } = setup({
      hooks: {
        repairFailed: () => {
          ref.writer?.halt(halt);
          return Promise.reject(halt);
        },
      },
    });
    ref.writer = w;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let n = 0;
    const inner = file.layer.write;
    file.layer.write = async (fd, buffer, offset, length, position) => {
      if (n++ > 0) return inner(fd, buffer, offset, length, position);
      await gate;
      throw eio('write');
    };
    file.fail = (op) => (op === 'ftruncate' ? eio('ftruncate') : undefined);
    const group = outcome(w.append(line(1)));
    await turn();
    const behind = outcome(w.append(line(2)));
    release();
    const [g, b] = await Promise.all([group, behind]);
    assert.ok(g instanceof StorePersistError, String(g));
    assert.equal(g.outcomeUnknown, true);
    assert.equal(g.message, 'Store stopped writing. This change was written before that, so it may have happened.');
    assert.equal((g as Error & { cause?: unknown }).cause instanceof Error && ((g as Error & { cause: NodeJS.ErrnoException }).cause.code), 'EIO');
    assert.equal(b, halt);
    assert.equal(await outcome(w.append(line(3))), halt);
  });
});

describe('a store that lost its files (verify halts the writer)', () => {
  test('the group written before verify failed may have happened; the queue behind it is refused; no cut is made', async () => {
    const halt = new StorePersistError('Store lost its lock.');
    const ref: { writer?: JournalWriter } = {};
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { file, writer: w } = setup({
      hooks: {
        verify: async () => {
          await gate;
          ref.writer?.halt(halt);
          throw halt;
        },
      },
    });
    ref.writer = w;
    const group = outcome(w.append(line(1)));
    await turn();
    const behind = outcome(w.append(line(2)));
    release();
    const [g, b] = await Promise.all([group, behind]);
    assert.ok(g instanceof StorePersistError);
    assert.equal(g.outcomeUnknown, true);
    assert.equal(g.message, 'Store lost its lock. This change was written before that, so it may have happened.');
    assert.equal(b, halt);
    assert.equal(w.file.size, Buffer.byteLength(HEADER), 'not acknowledged as durable');
    assert.equal(w.failures, 0);
    assert.ok(file.calls.every((c) => c.op !== 'ftruncate'), 'a file the store may no longer own is never touched again');
    assert.equal(w.haltedBy, halt);
  });

  test('halt rejects every queued batch at once; a second halt keeps the first error', async () => {
    const { file, writer } = setup();
    const first = new StorePersistError('first');
    const a = outcome(writer.append(line(1)));
    writer.halt(first);
    writer.halt(new StorePersistError('second'));
    assert.equal(await a, first);
    assert.equal(writer.haltedBy, first);
    assert.equal(await outcome(writer.append(line(2))), first);
    await writer.drain();
    assert.deepEqual(file.calls, []);
  });
});
