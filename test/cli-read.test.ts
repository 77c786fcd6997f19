/**
 * `godelayq jobs|show|stats` on a JsonFileStore folder written by a real
 * Scheduler, run as a child process: what they print (tables and JSON), exit
 * codes, and that they never change a byte of the folder.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { JsonFileStore, Scheduler, StoreCorruptError, VirtualClock } from '../src/index.js';
import { cli, cliJson, hashFolder, tempDir, writeStore } from './cli-helpers.js';

interface JobsJson {
  jobs: { id: string; name: string; state: string; runAt: string; attempt: number; lastError?: { message: string }; payload: unknown }[];
  shown: number;
  matched: number;
  source: { kind: string; readPoint: { journal: string; offset: number; size: number; tailBytes: number } };
}

describe('godelayq jobs / show / stats on a JsonFileStore folder', () => {
  it('jobs lists every job in due-time order, filters by state and name, and limits', async (t) => {
    const dir = tempDir(t);
    await writeStore(dir);
    const before = hashFolder(dir);
    const all = await cliJson<JobsJson>(['jobs', dir]);
    assert.deepEqual(
      all.jobs.map((j) => [j.id, j.state]),
      [
        ['pay-1', 'dead'],
        ['mail-1', 'completed'],
        ['report', 'scheduled'],
        ['order-1', 'scheduled'],
        ['order-2', 'cancelled'],
      ],
    );
    assert.equal(all.matched, 5);
    assert.equal(all.source.kind, 'json-file');
    assert.equal(all.source.readPoint.tailBytes, 0);
    const dead = await cliJson<JobsJson>(['jobs', dir, '--state', 'dead']);
    assert.deepEqual(dead.jobs.map((j) => [j.id, j.lastError?.message]), [['pay-1', 'card declined']]);
    const named = await cliJson<JobsJson>(['jobs', dir, '--name', 'order.cancel', '--state', 'scheduled,cancelled', '--limit', '1']);
    assert.deepEqual({ ids: named.jobs.map((j) => j.id), shown: named.shown, matched: named.matched }, { ids: ['order-1'], shown: 1, matched: 2 });

    const table = await cli(['jobs', dir]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.split('\n');
    assert.match(lines[0]!, /^ID +NAME +STATE +RUN AT \(UTC\) +ATTEMPT +SCHEDULE +LAST ERROR$/);
    assert.match(lines[1]!, /^pay-1 +pay +dead +2027-01-04 07:30:00Z +1 +Error: card declined$/);
    assert.match(table.stdout, /^report +report\.daily +scheduled +2027-01-04 08:00:00Z +0 +cron 0 9 \* \* 1-5 \(Europe\/Paris\)$/m);
    assert.match(table.stdout, /^5 jobs\nread .* \(journals up to byte \d+ of \d+ in journal-\d{6}\.jsonl\)$/m);
    assert.equal(table.stderr, '', 'no progress bar when stderr is not a terminal');
    assert.deepEqual(hashFolder(dir), before, 'reading changed the store folder');
  });

  it('show prints one job in full; a missing id exits 2', async (t) => {
    const dir = tempDir(t);
    await writeStore(dir);
    const before = hashFolder(dir);
    const shown = await cli(['show', dir, 'pay-1']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^id +pay-1$/m);
    assert.match(shown.stdout, /^state +dead$/m);
    assert.match(shown.stdout, /^last error +Error: card declined$/m);
    assert.match(shown.stdout, /^payload\n {2}\{\n {4}"orderId": "A2"\n {2}\}$/m);
    const done = await cliJson<{ job: { state: string; result: unknown; finishedAt: string } }>(['show', dir, 'mail-1']);
    assert.deepEqual([done.job.state, done.job.result], ['completed', 'sent']);
    assert.ok(!Number.isNaN(Date.parse(done.job.finishedAt)));
    const missing = await cli(['show', dir, 'nope']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /No job with id "nope"/);
    const missingJson = await cli(['show', dir, 'nope', '--json']);
    assert.equal(missingJson.code, 2);
    assert.deepEqual((JSON.parse(missingJson.stdout) as { error: { exitCode: number } }).error.exitCode, 2);
    assert.deepEqual(hashFolder(dir), before);
  });

  it('stats counts per state and per name', async (t) => {
    const dir = tempDir(t);
    await writeStore(dir, 3);
    const stats = await cliJson<{ counts: Record<string, number>; total: number; nextDueAt: string; names: Record<string, Record<string, number>> }>(['stats', dir]);
    assert.deepEqual(stats.counts, { scheduled: 5, running: 0, completed: 1, dead: 1, cancelled: 1, recurring: 1 });
    assert.equal(stats.total, 8);
    assert.equal(stats.nextDueAt, '2027-01-04T07:31:00.000Z', 'the first bulk job is due first');
    assert.deepEqual(stats.names.bulk, { scheduled: 3, running: 0, completed: 0, dead: 0, cancelled: 0 });
    const table = await cli(['stats', dir]);
    assert.equal(table.code, 0, table.stderr);
    const many = tempDir(t);
    await writeStore(many, 150);
    const page = await cli(['jobs', many]);
    assert.equal(page.stdout.split('\n').filter((l) => /^\S+ +\S+ +(scheduled|running|completed|dead|cancelled) /.test(l)).length, 100, 'the default limit is 100 jobs');
    assert.match(page.stdout, /^100 jobs of 155 \(raise --limit to see more\)$/m);
    assert.match(table.stdout, /^dead +1$/m);
    assert.match(table.stdout, /^total +8$/m);
    assert.match(table.stdout, /^bulk +3 +0 +0 +0 +0$/m);
  });

  it('reads a store with a torn tail (a write in progress) up to its last complete line, which open refuses as damage', async (t) => {
    const dir = tempDir(t);
    await writeStore(dir);
    // An app that holds the store starts a new journal and is mid-append.
    const clock = new VirtualClock(Date.UTC(2027, 0, 5));
    const scheduler = new Scheduler({ store: new JsonFileStore(dir), clock });
    await scheduler.start();
    await scheduler.scheduleIn('late', 1000, { n: 1 }, { id: 'late-1' });
    await scheduler.stop();
    const journals = readdirSync(dir).filter((n) => n.startsWith('journal-')).sort();
    const withChanges = journals.at(-2)!; // the last one is the clean close's empty journal
    const last = path.join(dir, journals.at(-1)!);
    const half = '{"op":"put","job":{"id":"half-written","name":"x"';
    appendFileSync(last, half);
    const before = hashFolder(dir);
    const read = await cliJson<JobsJson>(['jobs', dir]);
    assert.ok(read.jobs.some((j) => j.id === 'late-1'), `the change in ${withChanges} is read`);
    assert.ok(!read.jobs.some((j) => j.id === 'half-written'));
    assert.equal(read.source.readPoint.tailBytes, Buffer.byteLength(half));
    assert.equal(read.source.readPoint.size - read.source.readPoint.offset, Buffer.byteLength(half));
    const table = await cli(['jobs', dir]);
    assert.match(table.stdout, new RegExp(`; ${Buffer.byteLength(half)} bytes after it not read \\(a write in progress or a torn tail\\)`));
    assert.deepEqual(hashFolder(dir), before, 'reading changed the store folder');
    // Opening the store (as an app would) judges that tail: it is not a crash's torn write.
    await assert.rejects(new Scheduler({ store: new JsonFileStore(dir) }).start(), StoreCorruptError);
  });

  it('a folder that is not a store, or is missing, exits 3 and is neither created nor changed', async (t) => {
    const dir = tempDir(t);
    const missing = path.join(dir, 'nope');
    const r = await cli(['jobs', missing]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /which does not exist/);
    assert.deepEqual(readdirSync(dir), [], 'the missing folder was created');
    const other = path.join(dir, 'other');
    mkdirSync(other);
    writeFileSync(path.join(other, 'notes.txt'), 'hi');
    const s = await cli(['stats', other]);
    assert.equal(s.code, 3);
    assert.match(s.stderr, /holds no journal or snapshot file/);
    const change = await cli(['retry', missing, 'x']);
    assert.equal(change.code, 3);
    assert.deepEqual(readdirSync(dir), ['other'], 'retry created the missing folder');
  });

  it('damage other than a torn tail exits 4 (corrupt) without changing anything', async (t) => {
    const dir = tempDir(t);
    await writeStore(dir);
    const journals = readdirSync(dir).filter((n) => n.startsWith('journal-')).sort();
    const file = path.join(dir, journals[0]!);
    // One changed byte inside an acknowledged line: its checksum no longer matches.
    const bytes = readFileSync(file);
    const at = bytes.indexOf('"A2"');
    assert.ok(at > 0);
    bytes[at + 1] = 'B'.charCodeAt(0);
    writeFileSync(file, bytes);
    const before = hashFolder(dir);
    const r = await cli(['jobs', dir]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /is corrupt at byte/);
    assert.deepEqual(hashFolder(dir), before);
  });
});
