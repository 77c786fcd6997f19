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
