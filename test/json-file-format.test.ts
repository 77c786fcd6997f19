/**
 * JsonFileStore format (issue 11 items 4 and 7): stores written by format
 * version 1 still open and are rewritten in version 2 at the next snapshot;
 * state changes add bytes, not the payload again; a record over
 * maxPayloadBytes is refused; a big record is snapshotted in bounded pieces.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from '../src/errors.js';
import { type FsLayer, JsonFileStore, nodeFs } from '../src/index.js';
import type { JobRecord } from '../src/store/store.js';
import { jsonPieces } from '../src/store/json-file/serialize.js';
import { batchLine, batchPieces, checkCrc, fillCrcs } from '../src/store/json-file/format.js';
import { claimAll } from './store-conformance.js';
import { CT0, allRecords, insertOne, openStore, removeTempDirs, storeContext, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'json-file-v1');

async function v1Copy(): Promise<string> {
  const dir = await tempDir('godelayq-fmt-', true);
  for (const name of await readdir(path.join(FIXTURE, 'store'))) {
    await writeFile(path.join(dir, name), await readFile(path.join(FIXTURE, 'store', name)));
  }
  return dir;
}

async function journalBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) if (name.startsWith('journal-')) total += (await stat(path.join(dir, name))).size;
  return total;
}

describe('item 4: a store written by format version 1 (no checksums)', () => {
  it('opens with the records that version read back, then is rewritten in version 2 at the next snapshot', async () => {
    const dir = await v1Copy();
    const expected = JSON.parse(await readFile(path.join(FIXTURE, 'expected.json'), 'utf8')) as JobRecord[];
    const { store, warnings } = await openStore(dir, { fsync: false });
    assert.deepEqual(warnings, []);
    assert.deepEqual(await allRecords(store), expected);
    await insertOne(store, 'new', { payload: { after: 'upgrade' } });
    await store.snapshot();
    const after = await allRecords(store);
    await store.close();
    const names = (await readdir(dir)).sort();
    assert.ok(!names.includes('snapshot-000002.json') && !names.includes('journal-000002.jsonl'), names.join());
    for (const name of names) {
      const first = JSON.parse((await readFile(path.join(dir, name), 'utf8')).split('\n')[0]?.replace(/,"jobs":\[$/, '}') as string) as {
        version: number;
      };
      assert.equal(first.version, 2, name);
    }
    const { store: again } = await openStore(dir, { fsync: false });
    assert.deepEqual(await allRecords(again), after);
    await again.close();
  });
});

describe('item 7: state changes do not rewrite the payload', () => {
  it('claim, settle, cancel and reschedule of a 4 MB job add bytes, not megabytes; the payload survives every reopen', async () => {
    const dir = await tempDir('godelayq-fmt-', true);
    const max = 8 << 20;
    const { store } = await openStore(dir, { fsync: false }, { maxPayloadBytes: max });
    const payload = { blob: 'ü'.repeat(2 << 20) };
    await insertOne(store, 'big', { payload, retry: { maxRetries: 3, backoff: { type: 'fixed', delay: 10 } } });
    await insertOne(store, 'big2', { payload });
    const afterInsert = await journalBytes(dir);
    assert.ok(afterInsert > 8 << 20);
    const { jobs } = await store.claim(claimAll(CT0, { limit: 1 }));
    const job = jobs[0] as JobRecord;
    await store.settle(job.id, job.token as string, { ...job, state: 'scheduled', runAt: CT0 + 5, lastError: { name: 'Error', message: 'again' } });
    await store.reschedule('big', CT0 + 9);
    await store.cancel('big2', CT0);
    await store.revive('big2', CT0 + 20);
    const grown = (await journalBytes(dir)) - afterInsert;
    assert.ok(grown < 5 * 1024, `5 state changes added ${grown} bytes`);
    const before = await allRecords(store);
    await store.close();
    const { store: again } = await openStore(dir, { fsync: false }, { maxPayloadBytes: max });
    assert.deepEqual(await allRecords(again), before);
    assert.deepEqual((await again.get('big'))?.payload, payload);
    await again.snapshot();
    await again.claim(claimAll(CT0 + 100, { limit: 2 }));
    const after = await allRecords(again);
    await again.close();
    const { store: third } = await openStore(dir, { fsync: false }, { maxPayloadBytes: max });
    assert.deepEqual(
      await allRecords(third),
      after.map((r) => (r.state === 'running' ? (({ token: _t, ...rest }) => ({ ...rest, state: 'scheduled' as const, lost: 'crash' as const }))(r) : r)),
    );
    await third.close();
  });

  it('a record whose payload or result is over maxPayloadBytes is refused with ValidationError and changes nothing', async () => {
    const dir = await tempDir('godelayq-fmt-', true);
    const { store } = await openStore(dir, { fsync: false }, { maxPayloadBytes: 1000 });
    await insertOne(store, 'small', { payload: { text: 'x'.repeat(900) } });
    const before = await allRecords(store);
    const bytes = await journalBytes(dir);
    await assert.rejects(insertOne(store, 'big', { payload: { text: 'é'.repeat(600) } }), (e: unknown) => {
      assert.ok(e instanceof ValidationError, String(e));
      assert.match(e.message, /payload of job `big` to be at most 1000 bytes of JSON \(maxPayloadBytes\), got 1211/);
      return true;
    });
    const { jobs } = await store.claim(claimAll(CT0, { limit: 1 }));
    const job = jobs[0] as JobRecord;
    await assert.rejects(store.settle(job.id, job.token as string, { ...job, state: 'completed', finishedAt: CT0, result: 'r'.repeat(2000) }), ValidationError);
    assert.equal((await store.get('small'))?.state, 'running');
    assert.equal(await store.get('big'), undefined);
    assert.deepEqual((await allRecords(store)).map((r) => r.id), before.map((r) => r.id));
    assert.ok((await journalBytes(dir)) < bytes + 1000, 'only the claim was written');
    await store.close();
  });
});

describe('item 7: a big record is snapshotted in bounded pieces', () => {
  it('a job with ~20 MB of JSON goes to disk in writes of at most 4 MiB and reads back equal', async () => {
    const dir = await tempDir('godelayq-fmt-', true);
    const sizes: number[] = [];
    const spy: FsLayer = {
      ...nodeFs,
      write: (fd, buffer, offset, length, position) => {
        sizes.push(length);
        return nodeFs.write(fd, buffer, offset, length, position);
      },
    };
    const { store } = await openStore(dir, { fsync: false, fs: spy }, { maxPayloadBytes: 64 << 20 });
    // Surrogate pairs across every piece boundary, escapes, nesting.
    const payload = { text: '😀"\\\n'.repeat(2 << 20), list: Array.from({ length: 50_000 }, (_, i) => ({ i, s: `v${i}` })) };
    await insertOne(store, 'big', { payload });
    await insertOne(store, 'small');
    sizes.length = 0;
    await store.snapshot();
    // About 20 MB of JSON: never one write of it, no write above a few MiB.
    assert.ok(sizes.length >= 5, `${sizes.length} writes`);
    assert.ok(Math.max(...sizes) <= 4 << 20, `largest write ${Math.max(...sizes)} bytes`);
    await store.close();
    const { store: again } = await openStore(dir, { fsync: false }, { maxPayloadBytes: 64 << 20 });
    assert.deepEqual((await again.get('big'))?.payload, payload);
    await again.close();
  });

  it('jsonPieces yields the JSON text of any value, in pieces no longer than asked (but for unsplittable atoms)', () => {
    const values: unknown[] = [
      'a'.repeat(100),
      '😀'.repeat(37),
      { a: [1, 2, { b: 'x'.repeat(50), c: undefined, d: null }], e: 'ü'.repeat(40), f: true },
      Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? { i } : `s${i}`)),
      [undefined, 'x'.repeat(30)],
      { nested: { deeper: { deepest: 'z'.repeat(90) } } },
    ];
    for (const value of values) {
      const pieces = [...jsonPieces(value, 16)];
      assert.equal(pieces.join(''), JSON.stringify(value), JSON.stringify(value).slice(0, 40));
      assert.deepEqual(JSON.parse(pieces.join('')), JSON.parse(JSON.stringify(value)));
      for (const piece of pieces) assert.ok(piece.length <= 16 * 6 + 16, `piece of ${piece.length}`);
    }
  });
});

describe('JsonFileStore on a VirtualClock', () => {
  it('its lock heartbeat runs on the scheduler clock, not on global timers', async () => {
    const dir = await tempDir('godelayq-fmt-', true);
    const context = storeContext();
    const store = new JsonFileStore(dir, { fsync: false, staleLockMs: 3000 });
    await store.open(context);
    const lock = path.join(dir, 'LOCK');
    const beat = async (): Promise<number> => (JSON.parse(await readFile(lock, 'utf8')) as { beat: number }).beat;
    assert.equal(await beat(), 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await beat(), 0, 'no beat without the clock moving');
    const clock = context.clock as import('../src/clock.js').VirtualClock;
    await clock.advance(1000);
    for (let i = 0; i < 100 && (await beat()) === 0; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await beat(), 1);
    await store.close();
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n === 'LOCK'),
      [],
    );
  });
});

describe('batchPieces: a big batch made bytes in pieces', () => {
  /** What the writer makes of batchLine's text: its bytes, checksum filled in. */
  const whole = (parts: string[]): Buffer => {
    const buffer = Buffer.from(batchLine(parts));
    fillCrcs(buffer);
    return buffer;
  };
  const part = (i: number, size: number): string => `{"op":"upd","job":{"id":"j-${i}","note":"${(i % 7 === 0 ? 'é€' : 'x').repeat(size)}"}`;

  it('gives the bytes and checksum of the whole line, for one part, a few, and ~3 MB (many pieces, non-ASCII text)', async () => {
    for (const parts of [[part(0, 10)], [part(1, 10), part(2, 20), part(3, 5)], Array.from({ length: 3000 }, (_, i) => part(i, 1000))]) {
      let pauses = 0;
      const pieces = await batchPieces(parts, parts.length, 100, async () => {
        pauses++;
      });
      const bytes = Buffer.concat(pieces);
      assert.ok(bytes.equals(whole(parts)), `${parts.length} part(s): bytes differ from the line written whole`);
      assert.equal(typeof checkCrc(bytes, 0, bytes.length - 1), 'number', 'the checksum checks');
      assert.equal(pauses, Math.ceil(parts.length / 100) - 1, 'a pause every 100 parts');
    }
  });
});
