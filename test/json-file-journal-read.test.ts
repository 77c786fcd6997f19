// Reading a journal on open (src/store/json-file/journal-read.ts): a header
// is accepted only when it is a godelayq journal header of a readable
// version, intact, naming its store, with a byte length for `prev` and the
// generation its file name says; a change line only when it is non-empty,
// intact, JSON and a valid change. Anything else is StoreCorruptError with
// the offset of the bad line, and nothing of that line is applied.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { StoreCorruptError } from '../src/errors.js';
import { KEEP_PAYLOAD, type ReplayMap, withCrc } from '../src/store/json-file/format.js';
import { nodeFs } from '../src/store/json-file/fs.js';
import { type JournalHead, type PendingPayloads, parseJournalHeader, readJournal, readJournalHead, tornByCrash } from '../src/store/json-file/journal-read.js';
import type { JobRecord } from '../src/store/store.js';
import { removeTempDirs, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

const FILE = '/store/journal-000003.jsonl';
const head = (over: Record<string, unknown> = {}): string => withCrc(JSON.stringify({ godelayq: 'journal', version: 2, store: 'S', generation: 3, ...over }));
const parse = (text: string, gen = 3): JournalHead => parseJournalHeader(FILE, gen, text, Buffer.from(text));

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StoreCorruptError, String(e));
    assert.equal(e.path, FILE);
    assert.equal(e.offset, 0);
    assert.match(e.message, message);
    return true;
  });
}

describe('parseJournalHeader', () => {
  test('accepts an intact version-2 header and a version-1 header (no checksum, no store)', () => {
    const closed = head({ prev: 460, closed: true });
    assert.deepEqual(parse(closed), { version: 2, store: 'S', prev: 460, closed: true, bytes: Buffer.byteLength(closed) + 1 });
    const open = head({ prev: 0 });
    assert.deepEqual(parse(open), { version: 2, store: 'S', prev: 0, closed: false, bytes: Buffer.byteLength(open) + 1 });
    // Only `closed: true` means closed.
    assert.equal(parse(head({ closed: 1 })).closed, false);
    assert.equal(parse(head({ closed: 'true' })).closed, false);
    const v1 = JSON.stringify({ godelayq: 'journal', version: 1, generation: 3 });
    assert.deepEqual(parse(v1), { version: 1, store: undefined, prev: undefined, closed: false, bytes: v1.length + 1 });
  });

  test('refuses each kind of bad header', () => {
    refused(() => parse('{"godelayq":"journal",'), /expected a journal header line/);
    refused(() => parse('null'), /expected a godelayq journal header/);
    refused(() => parse(head({ godelayq: 'snapshot' })), /expected a godelayq journal header/);
    refused(() => parse(head({ version: 9 })), /expected format version 1 or 2, got 9/);
    refused(() => parse(head().replace('"store":"S"', '"store":"T"')), /^.*header: expected checksum/);
    refused(() => parse(head({ store: 5 })), /expected a string `store` in the header/);
    for (const prev of [-1, 1.5, '460', null]) refused(() => parse(head({ prev })), new RegExp(`expected \`prev\` to be a byte length, got ${JSON.stringify(prev)}`));
    refused(() => parse(head(), 4), /expected generation 4 \(from the file name\), got 3/);
    refused(() => parse(JSON.stringify({ godelayq: 'journal', version: 1 })), /expected generation 3 \(from the file name\), got undefined/);
  });
});

describe('readJournal refuses a bad change line, at its offset, applying nothing of it', () => {
  const job = { id: 'a', name: 'work', payload: {}, state: 'scheduled', runAt: 1, createdAt: 1, attempt: 0, priority: 0, seq: 1 };
  const good = withCrc(JSON.stringify({ op: 'put', job }));

  async function replay(lines: string[]): Promise<{ records: ReplayMap; error: unknown; offset: number }> {
    const dir = await tempDir('godelayq-jread-', true);
    const file = path.join(dir, 'journal-000003.jsonl');
    const header = head();
    await writeFile(file, `${[header, good, ...lines].join('\n')}\n`);
    const records: ReplayMap = new Map();
    const options = { head: parse(header), end: undefined, last: true, minLength: undefined, pending: new Map() };
    const error = await readJournal(nodeFs, file, 3, records, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { records, error, offset: Buffer.byteLength(`${header}\n${good}\n`) };
  }

  test('an intact journal replays', async () => {
    const { records, error } = await replay([withCrc(JSON.stringify({ op: 'del', id: 'a' }))]);
    assert.equal(error, undefined);
    assert.deepEqual([...records], [['a', null]]);
  });

  const cases: [string, string, RegExp][] = [
    ['an empty line', '', /expected a change line, got an empty line/],
    ['a changed line', good.replace('"seq":1', '"seq":2'), /expected checksum/],
    ['intact but not JSON', withCrc('{"op":"put","job":{"id":"b",}}'), /expected a JSON line/],
    ['JSON but no change', withCrc(JSON.stringify({ op: 'put', job: { id: 'b' } })), /expected a string `name`, got/],
    // A batch is checked whole before any of it applies; each change must be an object.
    ['a batch holding null', withCrc(JSON.stringify({ op: 'batch', changes: [{ op: 'del', id: 'a' }, null] })), /expected a change object/],
    ['a batch holding a number', withCrc(JSON.stringify({ op: 'batch', changes: [5] })), /expected a change object/],
    ['a batch whose changes are no array', withCrc(JSON.stringify({ op: 'batch', changes: { 0: { op: 'del', id: 'a' } } })), /expected `changes` to be an array/],
    ['an unknown op', withCrc(JSON.stringify({ op: 'set', id: 'a' })), /expected op 'put', 'upd', 'del' or 'batch', got "set"/],
    ['a del without a string id', withCrc(JSON.stringify({ op: 'del', id: 5 })), /expected a string `id` in a del change/],
  ];
  for (const [what, line, message] of cases) {
    test(what, async () => {
      const { records, error, offset } = await replay([line, withCrc(JSON.stringify({ op: 'del', id: 'a' }))]);
      assert.ok(error instanceof StoreCorruptError, String(error));
      assert.equal(error.offset, offset);
      assert.match(error.message, message);
      // Only the line before it was applied: a is still there, and nothing after the bad line ran.
      assert.deepEqual([...records].map(([id, r]) => [id, (r as JobRecord | null)?.id]), [['a', 'a']]);
    });
  }
});

describe('readJournalHead reads only the header of a file', () => {
  async function headOf(content: string | Buffer): Promise<unknown> {
    const dir = await tempDir('godelayq-jread-', true);
    const file = path.join(dir, 'journal-000003.jsonl');
    await writeFile(file, content);
    return readJournalHead(nodeFs, file, 3).then(
      (h) => h,
      (e: unknown) => e,
    );
  }

  test('a header line and what follows: the parsed header, the bytes of its line and the size of the file', async () => {
    const header = head({ prev: 7 });
    const rest = `${withCrc(JSON.stringify({ op: 'del', id: 'a' }))}\n`;
    assert.deepEqual(await headOf(`${header}\n${rest}`), {
      version: 2,
      store: 'S',
      prev: 7,
      closed: false,
      bytes: Buffer.byteLength(header) + 1,
      size: Buffer.byteLength(header) + 1 + Buffer.byteLength(rest),
    });
  });

  test('an empty file, and bytes without a newline: StoreCorruptError at offset 0 saying which', async () => {
    const empty = await headOf('');
    assert.ok(empty instanceof StoreCorruptError, String(empty));
    assert.equal(empty.offset, 0);
    assert.match(empty.message, /expected a journal header, got an empty file/);
    const torn = await headOf('{"godelayq":"journal"');
    assert.ok(torn instanceof StoreCorruptError, String(torn));
    assert.match(torn.message, /expected a journal header line, got 21 bytes without a newline/);
  });

  test('only the first 4096 bytes are looked at for the header', async () => {
    // A header line longer than 4096 bytes is refused even though a newline follows.
    const long = `{"godelayq":"journal","pad":"${'x'.repeat(4100)}"}\n`;
    const refusedLong = await headOf(long);
    assert.ok(refusedLong instanceof StoreCorruptError, String(refusedLong));
    assert.match(refusedLong.message, /got 4132 bytes without a newline/);
    // A header line ending just inside the first 4096 bytes is read.
    const body = head();
    const pad = 4095 - Buffer.byteLength(body) - 1;
    const header = withCrc(JSON.stringify({ godelayq: 'journal', version: 2, store: 'S', generation: 3, pad: 'y'.repeat(pad - 10 - 15) }));
    assert.ok(Buffer.byteLength(header) <= 4095, String(Buffer.byteLength(header)));
    const read = await headOf(`${header}\n${'z'.repeat(5000)}`);
    assert.ok(!(read instanceof Error), String(read));
  });
});

describe('readJournal: where a journal ends', () => {
  const put = (id: string): string => withCrc(JSON.stringify({ op: 'put', job: { id, name: 'work', payload: { n: id }, state: 'scheduled', runAt: 1, createdAt: 1, attempt: 0, priority: 0, seq: 1 } }));
  const header = head();
  const start = Buffer.byteLength(header) + 1;

  async function read(
    content: string | Buffer,
    over: { end?: number; last?: boolean; minLength?: number; live?: boolean; head?: JournalHead; pending?: PendingPayloads } = {},
  ): Promise<{ result: unknown; records: ReplayMap; pending: PendingPayloads }> {
    const dir = await tempDir('godelayq-jread-', true);
    const file = path.join(dir, 'journal-000003.jsonl');
    await writeFile(file, content);
    const records: ReplayMap = new Map();
    const pending: PendingPayloads = over.pending ?? new Map();
    const options = {
      head: over.head ?? parse(header),
      end: over.end,
      last: over.last ?? true,
      minLength: over.minLength,
      pending,
      ...(over.live === undefined ? {} : { live: over.live }),
    };
    const result = await readJournal(nodeFs, file, 3, records, options).then(
      (r) => r,
      (e: unknown) => e,
    );
    return { result, records, pending };
  }

  test('complete lines: every byte valid, each change counted, nothing torn', async () => {
    const text = `${header}\n${put('a')}\n${put('b')}\n`;
    const { result, records } = await read(text);
    const size = Buffer.byteLength(text);
    assert.deepEqual(result, { validLength: size, size, lines: 2, ignored: 0, torn: 0 });
    assert.deepEqual([...records.keys()], ['a', 'b']);
  });

  test('a recorded end: lines up to it replayed, complete lines after it counted as ignored bytes, not replayed', async () => {
    const kept = `${header}\n${put('a')}\n`;
    const stray = `${put('late')}\n`;
    const { result, records } = await read(kept + stray, { end: Buffer.byteLength(kept), last: false });
    assert.deepEqual(result, { validLength: Buffer.byteLength(kept), size: Buffer.byteLength(kept + stray), lines: 1, ignored: Buffer.byteLength(stray), torn: 0 });
    assert.deepEqual([...records.keys()], ['a']);
  });

  test('a recorded end followed only by a torn tail (no newline): nothing ignored', async () => {
    const kept = `${header}\n${put('a')}\n`;
    const { result } = await read(`${kept}{"op":"del","id":"x"`, { end: Buffer.byteLength(kept), last: false });
    assert.equal((result as { ignored: number }).ignored, 0);
    const exact = await read(kept, { end: Buffer.byteLength(kept), last: false });
    assert.equal((exact.result as { ignored: number }).ignored, 0);
  });

  test('a recorded end followed by more than 64 KiB without a newline: counted as ignored (not a torn write)', async () => {
    const kept = `${header}\n${put('a')}\n`;
    const stray = 'q'.repeat((1 << 16) + 1);
    const { result } = await read(kept + stray, { end: Buffer.byteLength(kept), last: false });
    assert.equal((result as { ignored: number }).ignored, stray.length);
  });

  test('a file shorter than its recorded end: cut, at its size', async () => {
    const text = `${header}\n${put('a')}\n`;
    const size = Buffer.byteLength(text);
    const { result } = await read(text, { end: size + 1, last: false });
    assert.ok(result instanceof StoreCorruptError, String(result));
    assert.equal(result.offset, size);
    assert.equal(
      result.message.slice(result.message.indexOf('expected')),
      `expected at least ${size + 1} bytes (its length when generation 4 was started), got ${size}: the file was cut`,
    );
    // Exactly its recorded end is fine.
    assert.ok(!((await read(text, { end: size, last: false })).result instanceof Error));
  });

  test('a recorded end in the middle of a line: refused at that line', async () => {
    const text = `${header}\n${put('a')}\n${put('b')}\n`;
    const { result } = await read(text, { end: Buffer.byteLength(text) - 5, last: false });
    assert.ok(result instanceof StoreCorruptError, String(result));
    assert.equal(result.offset, start + Buffer.byteLength(put('a')) + 1);
    assert.match(result.message, /expected a complete line before byte \d+ \(its recorded end\), got an unterminated one/);
  });

  test('a complete journal that is not the last, with no recorded end (its successor names none): read whole', async () => {
    const text = `${header}\n${put('a')}\n${put('b')}\n`;
    const size = Buffer.byteLength(text);
    const { result, records } = await read(text, { last: false });
    assert.deepEqual(result, { validLength: size, size, lines: 2, ignored: 0, torn: 0 });
    assert.deepEqual([...records.keys()], ['a', 'b']);
  });

  test('an unterminated tail in a journal that is not the last: refused at the tail', async () => {
    const text = `${header}\n${put('a')}\n`;
    const { result } = await read(`${text}{"op"`, { last: false });
    assert.ok(result instanceof StoreCorruptError, String(result));
    assert.equal(result.offset, Buffer.byteLength(text));
    assert.match(result.message, /expected a complete last line, got an unterminated one \(and a later journal exists\)/);
  });

  test('the last journal: a tail ending at a 4096-byte boundary (zeros after it allowed) is a torn write, dropped', async () => {
    const text = `${header}\n${put('a')}\n`;
    const tailBytes = 4096 - Buffer.byteLength(text);
    const torn = Buffer.concat([Buffer.from(text), Buffer.alloc(tailBytes, 0x61)]);
    const one = await read(torn);
    assert.deepEqual(one.result, { validLength: Buffer.byteLength(text), size: 4096, lines: 1, ignored: 0, torn: tailBytes });
    const zeros = await read(Buffer.concat([torn, Buffer.alloc(100)]));
    assert.deepEqual(zeros.result, { validLength: Buffer.byteLength(text), size: 4196, lines: 1, ignored: 0, torn: tailBytes + 100 });
    const onlyZeros = await read(Buffer.concat([Buffer.from(text), Buffer.alloc(10)]));
    assert.equal((onlyZeros.result as { torn: number }).torn, 10);
  });

  test('the last journal: a tail ending anywhere else is damage, naming its size and end', async () => {
    const text = `${header}\n${put('a')}\n`;
    const tail = Buffer.alloc(4097 - Buffer.byteLength(text), 0x61);
    const { result } = await read(Buffer.concat([Buffer.from(text), tail]));
    assert.ok(result instanceof StoreCorruptError, String(result));
    assert.equal(result.offset, Buffer.byteLength(text));
    assert.match(result.message, new RegExp(`expected complete lines, or a last write torn by a crash \\(which ends at a multiple of 4096 bytes\\), got ${tail.length} unterminated bytes ending at byte 4097: the file was cut or changed`));
  });

  test('a reader beside a live writer, and a version-1 journal: any tail of the last journal is reported as torn', async () => {
    const text = `${header}\n${put('a')}\n`;
    const live = await read(`${text}{"op"`, { live: true });
    assert.deepEqual(live.result, { validLength: Buffer.byteLength(text), size: Buffer.byteLength(text) + 5, lines: 1, ignored: 0, torn: 5 });
    const v1Header = JSON.stringify({ godelayq: 'journal', version: 1, generation: 3 });
    const v1Text = `${v1Header}\n${JSON.stringify({ op: 'put', job: JSON.parse(put('a')).job })}\n`;
    const v1 = await read(`${v1Text}{"op"`, { head: parse(v1Header) });
    assert.deepEqual(v1.result, { validLength: Buffer.byteLength(v1Text), size: Buffer.byteLength(v1Text) + 5, lines: 1, ignored: 0, torn: 5 });
    assert.deepEqual([...v1.records.keys()], ['a']);
  });

  test('a version-1 journal: lines are not checksummed, and upd is not a version-1 change', async () => {
    const v1Header = JSON.stringify({ godelayq: 'journal', version: 1, generation: 3 });
    const job = { id: 'a', name: 'work', payload: 1, state: 'scheduled', runAt: 1, createdAt: 1, attempt: 0, priority: 0, seq: 1 };
    const upd = await read(`${v1Header}\n${JSON.stringify({ op: 'upd', job })}\n`, { head: parse(v1Header) });
    assert.ok(upd.result instanceof StoreCorruptError, String(upd.result));
    assert.match(upd.result.message, /expected op 'put', 'del' or 'batch', got "upd"/);
  });

  test('the durable length the last holder recorded: complete lines up to it, or the file was cut', async () => {
    const text = `${header}\n${put('a')}\n`;
    const size = Buffer.byteLength(text);
    assert.ok(!((await read(text, { minLength: size })).result instanceof Error));
    const { result } = await read(text, { minLength: size + 1 });
    assert.ok(result instanceof StoreCorruptError, String(result));
    assert.equal(result.offset, size);
    assert.match(result.message, new RegExp(`expected at least ${size + 1} bytes of complete lines \\(the durable length its last writer recorded\\), got ${size}: the file was cut`));
    // A torn tail does not count towards it.
    const torn = Buffer.concat([Buffer.from(text), Buffer.alloc(4096 - size, 0x61)]);
    const tornResult = (await read(torn, { minLength: size + 1 })).result;
    assert.ok(tornResult instanceof StoreCorruptError, String(tornResult));
  });

  test('upd lines whose payload must come from the snapshot are tracked by id, file and offset; a later put or del clears them', async () => {
    const job = (id: string): Record<string, unknown> => ({ id, name: 'work', state: 'running', runAt: 1, createdAt: 1, attempt: 1, priority: 0, seq: 1 });
    const updA = withCrc(JSON.stringify({ op: 'upd', job: job('a') }));
    const updB = withCrc(JSON.stringify({ op: 'batch', changes: [{ op: 'upd', job: job('b') }, { op: 'upd', job: job('c') }] }));
    const putC = put('c');
    const delB = withCrc(JSON.stringify({ op: 'del', id: 'b' }));
    const lines = [updA, updB, putC, delB];
    const dir = await tempDir('godelayq-jread-', true);
    const file = path.join(dir, 'journal-000003.jsonl');
    const stale: PendingPayloads = new Map([['old', { file: 'elsewhere', offset: 1 }]]);
    await writeFile(file, `${[header, ...lines].join('\n')}\n`);
    const records: ReplayMap = new Map();
    await readJournal(nodeFs, file, 3, records, { head: parse(header), end: undefined, last: true, minLength: undefined, pending: stale });
    assert.deepEqual([...stale], [
      ['old', { file: 'elsewhere', offset: 1 }],
      ['a', { file, offset: start }],
    ]);
    assert.equal((records.get('a') as JobRecord).payload, KEEP_PAYLOAD);
    assert.deepEqual((records.get('c') as JobRecord).payload, { n: 'c' });
  });

  test('a put after an upd of the same job in one file: its payload is known, no longer pending', async () => {
    const job = { id: 'a', name: 'work', state: 'running', runAt: 1, createdAt: 1, attempt: 1, priority: 0, seq: 1 };
    const text = `${header}\n${put('a')}\n${withCrc(JSON.stringify({ op: 'upd', job }))}\n`;
    const { pending, records } = await read(text);
    assert.deepEqual([...pending], []);
    assert.deepEqual((records.get('a') as JobRecord).payload, { n: 'a' });
  });
});

describe('tornByCrash', () => {
  test('the last non-zero byte of the tail must end at a multiple of 4096; an all-zero tail always is', () => {
    assert.equal(tornByCrash(4090, Buffer.alloc(6, 0x61)), true);
    assert.equal(tornByCrash(4090, Buffer.alloc(7, 0x61)), false);
    assert.equal(tornByCrash(4090, Buffer.alloc(5, 0x61)), false);
    assert.equal(tornByCrash(4090, Buffer.concat([Buffer.alloc(6, 0x61), Buffer.alloc(30)])), true);
    assert.equal(tornByCrash(4091, Buffer.alloc(30)), true);
    assert.equal(tornByCrash(0, Buffer.alloc(0)), true);
    assert.equal(tornByCrash(8000, Buffer.concat([Buffer.alloc(191, 0x61), Buffer.from([0, 0x61]), Buffer.alloc(3)])), false);
    assert.equal(tornByCrash(8000, Buffer.concat([Buffer.alloc(190, 0x61), Buffer.from([0, 0x61]), Buffer.alloc(3)])), true);
  });
});
