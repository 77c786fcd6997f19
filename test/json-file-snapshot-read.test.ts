// readSnapshot (src/store/json-file/snapshot.ts) accepts only a complete,
// intact snapshot of the generation its name says: each kind of damage is a
// StoreCorruptError naming the file and the offset of the first bad line,
// and nothing of a damaged snapshot reaches the caller as a job. Snapshots are
// written here line by line in the documented format (format.ts header), so
// each test changes exactly one thing.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { StoreCorruptError } from '../src/errors.js';
import { withCrc } from '../src/store/json-file/format.js';
import { nodeFs } from '../src/store/json-file/fs.js';
import { readSnapshot } from '../src/store/json-file/snapshot.js';
import type { JobRecord } from '../src/store/store.js';
import { removeTempDirs, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

const job = (id: string, seq: number): JobRecord =>
  ({ id, name: 'work', payload: { id }, state: 'scheduled', runAt: 1, createdAt: 1, attempt: 0, priority: 0, seq }) as JobRecord;

type Header = Record<string, unknown>;
const header = (over: Header = {}): Header => ({ godelayq: 'snapshot', version: 2, store: 'S', generation: 2, createdAt: 'then', count: 2, nextSeq: 3, ...over });

/** A version-2 header line: the checksum covers the header object, then `,"jobs":[` opens the array. */
const headerLine = (h: Header): string => `${withCrc(JSON.stringify(h)).slice(0, -1)},"jobs":[`;
const jobLine = (r: unknown): string => withCrc(`{"job":${JSON.stringify(r)}}`);

/** Lines joined as a snapshot file: every line but the last job ends with a comma. */
function v2(lines: { h?: Header; jobs?: string[]; after?: string[] } = {}): string {
  const jobs = lines.jobs ?? [jobLine(job('a', 1)), jobLine(job('b', 2))];
  return [headerLine(lines.h ?? header({ count: jobs.length })), ...jobs.map((l, i) => (i < jobs.length - 1 ? `${l},` : l)), ']}', ...(lines.after ?? [])].join('\n') + '\n';
}

async function read(text: string, gen = 2): Promise<{ jobs: string[]; info: Awaited<ReturnType<typeof readSnapshot>> }> {
  const dir = await tempDir('godelayq-snapread-', true);
  const file = path.join(dir, 'snapshot-000002.json');
  await writeFile(file, text);
  const jobs: string[] = [];
  const info = await readSnapshot(nodeFs, file, gen, (r) => jobs.push(r.id));
  return { jobs, info };
}

/** `text` read as snapshot 2 rejects with StoreCorruptError at `offset` whose message matches `message`; no job reached the caller past it. */
async function rejects(text: string, offset: number, message: RegExp, gen = 2): Promise<StoreCorruptError> {
  let caught: unknown;
  await read(text, gen).catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof StoreCorruptError, `expected StoreCorruptError, got ${String(caught)}`);
  assert.ok(caught.path.endsWith('snapshot-000002.json'));
  assert.equal(caught.offset, offset, caught.message);
  assert.match(caught.message, message);
  return caught;
}

const offsetOfLine = (text: string, n: number): number => Buffer.byteLength(text.split('\n').slice(0, n).join('\n')) + (n > 0 ? 1 : 0);

describe('readSnapshot reads intact snapshots', () => {
  test('two jobs in file order, and the header fields', async () => {
    const text = v2();
    const { jobs, info } = await read(text);
    assert.deepEqual(jobs, ['a', 'b']);
    assert.deepEqual(info, { version: 2, store: 'S', generation: 2, count: 2, nextSeq: 3, createdAt: 'then', bytes: Buffer.byteLength(text) });
  });

  test('no jobs: the footer follows the header', async () => {
    const { jobs, info } = await read(v2({ jobs: [] }));
    assert.deepEqual(jobs, []);
    assert.equal(info.count, 0);
  });

  test('version 1: job lines without checksums', async () => {
    const text = `${JSON.stringify({ godelayq: 'snapshot', version: 1, generation: 2, createdAt: 'then', count: 1, nextSeq: 2, jobs: [] }).slice(0, -2)}\n${JSON.stringify(job('a', 1))}\n]}\n`;
    const { jobs, info } = await read(text);
    assert.deepEqual(jobs, ['a']);
    assert.equal(info.store, undefined);
  });
});

describe('readSnapshot refuses damaged snapshots', () => {
  test('an empty file', async () => {
    await rejects('', 0, /expected a snapshot header, got an empty file/);
  });

  test('a header without a store id, of another generation, or without count', async () => {
    await rejects(v2({ h: header({ store: 7 }) }), 0, /expected a string `store`/);
    await rejects(v2({ h: header({ generation: 3 }) }), 0, /expected generation 2 \(from the file name\), got 3/);
    await rejects(v2({ h: header({ count: '2' }) }), 0, /expected numeric `count` and `nextSeq`/);
  });

  test('a job line whose checksum holds but whose job is not JSON, or not a job', async () => {
    const notJson = v2({ jobs: [jobLine(job('a', 1)), withCrc('{"job":{"id":"b",}}')] });
    const e = await rejects(notJson, offsetOfLine(notJson, 2), /expected a job as JSON/);
    assert.ok(e.cause instanceof SyntaxError, 'the parse error is kept as the cause');
    const notJob = v2({ jobs: [jobLine(job('a', 1)), jobLine({ id: 'b' })] });
    const e2 = await rejects(notJob, offsetOfLine(notJob, 2), /expected/);
    assert.equal(e2.cause, undefined);
  });

  test('version 1: a job line that is not JSON, or not a job', async () => {
    const head = JSON.stringify({ godelayq: 'snapshot', version: 1, generation: 2, createdAt: 'then', count: 2, nextSeq: 3, jobs: [] }).slice(0, -2);
    const notJson = `${head}\n${JSON.stringify(job('a', 1))},\n{"id":"b",\n]}\n`;
    const e = await rejects(notJson, offsetOfLine(notJson, 2), /expected a job as one JSON line/);
    assert.ok(e.cause instanceof SyntaxError);
    const notJob = `${head}\n${JSON.stringify(job('a', 1))},\n{"id":"b"}\n]}\n`;
    await rejects(notJob, offsetOfLine(notJob, 2), /expected/);
  });

  test('the footer after a trailing comma (a job line lost), and a line after the footer', async () => {
    const lost = [headerLine(header()), `${jobLine(job('a', 1))},`, ']}'].join('\n') + '\n';
    await rejects(lost, offsetOfLine(lost, 2), /expected a job line, got `\]\}` after a trailing comma/);
    const extra = v2({ after: [jobLine(job('c', 3))] });
    await rejects(extra, offsetOfLine(extra, 4), /expected end of file after `\]\}`/);
  });

  test('a job line after the last one (no comma before it), and a two-byte line that is not the footer', async () => {
    const a = jobLine(job('a', 1));
    const b = jobLine(job('b', 2));
    // The count says 3, so only the missing comma tells that `a` was meant to be the last.
    const pastEnd = [headerLine(header({ count: 3 })), a, `${b},`, jobLine(job('c', 3)), ']}'].join('\n') + '\n';
    await rejects(pastEnd, offsetOfLine(pastEnd, 2), /expected `\]\}` after the last job/);
    for (const footer of [']]', '}}', ']x']) {
      const wrong = v2().replace(/\]\}\n$/, `${footer}\n`);
      await rejects(wrong, offsetOfLine(wrong, 3), /expected `\]\}` after the last job/);
    }
  });

  test('what a checksum cannot catch: a header of another kind and a job line not opening with {"job":, each with a valid checksum', async () => {
    await rejects(v2({ h: header({ godelayq: 'journal' }) }), 0, /expected a godelayq snapshot header/);
    // A version-2 header line must end by opening the job array.
    const open = v2().replace('"jobs":[', '"jobs": [');
    await rejects(open, 0, /expected the header line to end with `,"jobs":\[`/);
    const misnamed = v2({ jobs: [jobLine(job('a', 1)), withCrc(`{"jbo":${JSON.stringify(job('b', 2))}}`)] });
    await rejects(misnamed, offsetOfLine(misnamed, 2), /expected a line starting with `\{"job":`/);
  });
});
