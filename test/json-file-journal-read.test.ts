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
import { type ReplayMap, withCrc } from '../src/store/json-file/format.js';
import { nodeFs } from '../src/store/json-file/fs.js';
import { type JournalHead, parseJournalHeader, readJournal } from '../src/store/json-file/journal-read.js';
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
