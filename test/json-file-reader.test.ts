/**
 * scanLines (json-file/reader.ts): a line of a pure-ASCII block is copied
 * out as latin1; a block with any other byte is decoded line by line as
 * UTF-8. Both must give each line's text as written and its byte offset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { nodeFs } from '../src/store/json-file/fs.js';
import { scanLines } from '../src/store/json-file/reader.js';
import { removeTempDirs, tempDir } from './json-file-helpers.js';

test.after(removeTempDirs);

async function scan(lines: string[], chunkSize: number): Promise<{ text: string; offset: number }[]> {
  const file = path.join(await tempDir('godelayq-reader-'), 'lines');
  await writeFile(file, lines.map((l) => `${l}\n`).join(''));
  const out: { text: string; offset: number }[] = [];
  await scanLines(nodeFs, file, (line) => out.push({ text: line.text(), offset: line.offset }), { chunkSize });
  return out;
}

test('lines come out as written, with their byte offsets, whether their block is ASCII or not', async () => {
  const lines = ['{"a":1}', '{"b":"é"}', '{"c":"😀x"}', '{"d":2}', 'x'.repeat(40), '{"e":"ü"}', 'tail'];
  const offsets: number[] = [];
  let at = 0;
  for (const l of lines) {
    offsets.push(at);
    at += Buffer.byteLength(l) + 1;
  }
  const want = lines.map((text, i) => ({ text, offset: offsets[i] as number }));
  // One block for all; small chunks so some blocks are pure ASCII and others not; lines across chunks.
  for (const chunkSize of [1 << 20, 16, 7, 3]) assert.deepEqual(await scan(lines, chunkSize), want, `chunk ${chunkSize}`);
});

/** Every line of `content` scanned with `chunkSize`, and what the scan returns. */
async function scanRaw(content: string, chunkSize: number, limit?: number): Promise<{ lines: { text: string; offset: number; length: number }[]; result: Awaited<ReturnType<typeof scanLines>> }> {
  const file = path.join(await tempDir('godelayq-reader-'), 'raw');
  await writeFile(file, content);
  const lines: { text: string; offset: number; length: number }[] = [];
  const result = await scanLines(nodeFs, file, (line) => lines.push({ text: line.text(), offset: line.offset, length: line.length }), { chunkSize, ...(limit === undefined ? {} : { limit }) });
  return { lines, result };
}

test('empty lines are lines; the bytes after the last newline come back as the tail, with its offset', async () => {
  const content = '\n{"a":1}\n\n\nxy\n\ntorn{"b"';
  const want = [
    { text: '', offset: 0, length: 0 },
    { text: '{"a":1}', offset: 1, length: 7 },
    { text: '', offset: 9, length: 0 },
    { text: '', offset: 10, length: 0 },
    { text: 'xy', offset: 11, length: 2 },
    { text: '', offset: 14, length: 0 },
  ];
  for (const chunkSize of [1 << 20, 1, 2, 3, 5, 8]) {
    const { lines, result } = await scanRaw(content, chunkSize);
    assert.deepEqual(lines, want, `chunk ${chunkSize}`);
    assert.equal(result.tail.toString(), 'torn{"b"', `chunk ${chunkSize}`);
    assert.equal(result.tailOffset, 15);
    assert.equal(result.size, content.length);
    assert.equal(result.fileSize, content.length);
  }
  // A file ending in a newline has no tail; an empty file has nothing.
  for (const chunkSize of [1 << 20, 3]) {
    const whole = await scanRaw('a\nb\n', chunkSize);
    assert.deepEqual(whole.lines.map((l) => l.text), ['a', 'b']);
    assert.equal(whole.result.tail.length, 0);
    assert.equal(whole.result.tailOffset, 4);
    const empty = await scanRaw('', chunkSize);
    assert.deepEqual(empty.lines, []);
    assert.deepEqual({ ...empty.result, tail: empty.result.tail.length }, { size: 0, tailOffset: 0, tail: 0, fileSize: 0 });
  }
});

test('a limit reads only that many bytes: a line cut by it is the tail', async () => {
  const content = 'one\ntwo\nthree\n';
  for (const chunkSize of [1 << 20, 2, 4]) {
    const { lines, result } = await scanRaw(content, chunkSize, 10);
    assert.deepEqual(lines.map((l) => l.text), ['one', 'two'], `chunk ${chunkSize}`);
    assert.equal(result.tail.toString(), 'th');
    assert.equal(result.tailOffset, 8);
    assert.equal(result.size, 10);
    assert.equal(result.fileSize, content.length);
  }
});

test("a line's bytes: byte(i) inside it, -1 past its end (never the newline or the next line)", async () => {
  const file = path.join(await tempDir('godelayq-reader-'), 'bytes');
  await writeFile(file, 'ab\ncd\n');
  const seen: number[][] = [];
  await scanLines(nodeFs, file, (line) => seen.push([line.byte(0), line.byte(1), line.byte(2), line.byte(3)]));
  assert.deepEqual(seen, [
    [0x61, 0x62, -1, -1],
    [0x63, 0x64, -1, -1],
  ]);
});
