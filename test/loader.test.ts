/**
 * DirectoryLoader against real folders under os.tmpdir(): settling,
 * all-or-none files, derived ids across a crash, archive / delete / keep,
 * bad files, and the watched folder never feeding on its own output.
 * The scheduler runs on a VirtualClock; file-system waits are real, so the
 * tests poll with `until`.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryLoader, type DirectoryLoaderEvents, type DirectoryLoaderOptions } from '../src/index.js';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory.js';
import { GodelayqError, ValidationError } from '../src/errors.js';
import type { JobMap } from '../src/types.js';
import { T0, until, virtualScheduler } from './helpers.js';

const FAST = { settleMs: 40, graceMs: 400, rescanMs: 150 } as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the registered functions last-in first-out after the test. */
function cleanup(t: TestContext): (fn: () => unknown) => void {
  const fns: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of fns.reverse()) await fn();
  });
  return (fn) => {
    fns.push(fn);
  };
}

async function tempDir(defer: (fn: () => unknown) => void): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'godelayq-loader-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

interface Log {
  loaded: DirectoryLoaderEvents['fileLoaded'][];
  failed: DirectoryLoaderEvents['fileFailed'][];
  errors: DirectoryLoaderEvents['error'][];
}

async function startLoader(
  defer: (fn: () => unknown) => void,
  scheduler: Scheduler<JobMap>,
  options: DirectoryLoaderOptions,
): Promise<{ loader: DirectoryLoader; log: Log }> {
  const loader = new DirectoryLoader(scheduler, { ...FAST, ...options });
  const log: Log = { loaded: [], failed: [], errors: [] };
  loader.on('fileLoaded', (e) => log.loaded.push(e));
  loader.on('fileFailed', (e) => log.failed.push(e));
  loader.on('error', (e) => log.errors.push(e));
  defer(() => loader.stop());
  await loader.start();
  return { loader, log };
}

/** Written elsewhere, then renamed in: the way a careful producer submits a file. */
async function drop(dir: string, name: string, content: unknown): Promise<void> {
  const tmp = join(dir, `.${name}.part`);
  await writeFile(tmp, typeof content === 'string' ? content : JSON.stringify(content));
  await rename(tmp, join(dir, name));
}

async function scheduled(scheduler: Scheduler<JobMap>, name?: string): Promise<number> {
  return (await scheduler.list({ state: 'scheduled', ...(name === undefined ? {} : { name }) })).length;
}

describe('DirectoryLoader: loading', () => {
  it('loads 1,000 files dropped at once, each exactly once, and runs each job once', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler, clock } = await virtualScheduler<JobMap>({ concurrency: 200 });
    defer(() => scheduler.stop());
    const runs = new Map<number, number>();
    scheduler.register('bulk', (job) => {
      const n = (job.payload as { n: number }).n;
      runs.set(n, (runs.get(n) ?? 0) + 1);
    });
    const { log } = await startLoader(defer, scheduler, { dir, concurrency: 16 });
    const N = 1000;
    // Half renamed in, half written in place (seen empty, then growing, by the watcher).
    await Promise.all(
      Array.from({ length: N }, (_, n) => {
        const job = { name: 'bulk', payload: { n }, delay: '1m' };
        return n % 2 === 0 ? drop(dir, `f${n}.json`, job) : writeFile(join(dir, `f${n}.json`), JSON.stringify(job));
      }),
    );
    await until(() => log.loaded.length >= N, 20_000);
    await sleep(FAST.rescanMs * 3); // rescans happen; nothing is loaded twice
    assert.equal(log.loaded.length, N);
    assert.equal(new Set(log.loaded.map((e) => e.file)).size, N);
    assert.deepEqual(log.failed, []);
    assert.deepEqual(log.errors, []);
    assert.equal(await scheduled(scheduler, 'bulk'), N);
    assert.deepEqual((await readdir(dir)).sort(), ['archive', 'error']);
    assert.equal((await readdir(join(dir, 'archive'))).length, N);
    await clock.advance(60_000);
    await until(() => runs.size === N);
    assert.ok([...runs.values()].every((count) => count === 1));
  });

  for (const settleMs of [40, 400]) {
    it(`loads a file written in 3 chunks 200 ms apart once, complete (settleMs ${settleMs})`, async (t) => {
      const defer = cleanup(t);
      const dir = await tempDir(defer);
      const { scheduler } = await virtualScheduler<JobMap>();
      defer(() => scheduler.stop());
      const { log } = await startLoader(defer, scheduler, { dir, settleMs, graceMs: 1000 });
      const jobs = [
        { name: 'chunked', payload: { text: 'a'.repeat(2000) }, delay: '90s' },
        { name: 'chunked', payload: { text: 'b'.repeat(2000) }, at: '2027-01-01T01:00:00+01:00' },
      ];
      const text = JSON.stringify(jobs, null, 2);
      const third = Math.ceil(text.length / 3);
      const handle = await open(join(dir, 'slow.json'), 'w');
      try {
        for (let i = 0; i < 3; i++) {
          if (i > 0) await sleep(200);
          await handle.write(text.slice(i * third, (i + 1) * third));
        }
      } finally {
        await handle.close();
      }
      await until(() => log.loaded.length === 1);
      await sleep(settleMs + 2 * FAST.rescanMs);
      assert.equal(log.loaded.length, 1);
      assert.deepEqual(log.failed, [], 'a half-written file is never reported bad');
      const infos = await scheduler.list({ name: 'chunked' });
      assert.deepEqual(
        infos.map((i) => [(i.payload as { text: string }).text.length, i.runAt.getTime()]),
        [
          [2000, T0],
          [2000, T0 + 90_000],
        ],
      );
    });
  }

  it('schedules every kind of timing; no timing means now; unknown handler names wait like any job', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler, clock } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const ran: string[] = [];
    scheduler.register('go', (job) => {
      ran.push(`${job.payload as string}@${clock.now() - T0}`);
    });
    const { log } = await startLoader(defer, scheduler, { dir });
    await drop(dir, 'mixed.json', [
      { name: 'go', payload: 'now' },
      { name: 'go', payload: 'delay', delay: '1h30m' },
      { name: 'go', payload: 'at', at: '2027-01-01T00:00:10Z' },
      { name: 'go', payload: 'every', every: '20m', misfire: 'skip' },
      { name: 'go', payload: 'cron', cron: '0 0 * * *', tz: 'Europe/Paris' },
      { name: 'nobody.registered', payload: { x: 1 }, priority: 3 },
    ]);
    await until(() => log.loaded.length === 1);
    assert.deepEqual(log.failed, []);
    const ids = log.loaded[0]!.jobIds;
    assert.equal(ids.length, 6);
    assert.ok(ids.every((id) => id.startsWith('file:mixed.json:')), 'ids are derived from the file');
    const cron = await scheduler.get(ids[4]!);
    assert.equal(cron?.cron?.tz, 'Europe/Paris');
    assert.equal(cron?.runAt.getTime(), Date.UTC(2027, 0, 1, 23)); // midnight in Paris
    assert.equal((await scheduler.get(ids[5]!))?.state, 'scheduled');
    await clock.advance(90 * 60_000);
    assert.deepEqual(ran, ['now@0', 'at@10000', 'every@1200000', 'every@2400000', 'every@3600000', 'every@4800000', 'delay@5400000']);
  });

  it("treats a file's own id as an idempotency key", async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const { log } = await startLoader(defer, scheduler, { dir });
    await drop(dir, 'one.json', { id: 'order-42', name: 'cancel', payload: { v: 1 }, delay: '1h' });
    await until(() => log.loaded.length === 1);
    await drop(dir, 'two.json', { id: 'order-42', name: 'cancel', payload: { v: 2 }, delay: '1h' });
    await until(() => log.loaded.length === 2);
    assert.deepEqual(log.loaded[1]!.jobIds, ['order-42']);
    assert.deepEqual((await scheduler.get('order-42'))?.payload, { v: 1 });
    assert.equal(await scheduled(scheduler), 1);
  });

  it('ignores names that do not match the pattern, hidden files and folders', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    await writeFile(join(dir, 'notes.txt'), 'not json');
    await writeFile(join(dir, '.hidden.json'), '{"name":"x"}');
    const { log } = await startLoader(defer, scheduler, { dir, pattern: 'job-*.json' });
    await writeFile(join(dir, 'other.json'), '{"name":"x"}');
    await drop(dir, 'job-1.json', { name: 'x' });
    await until(() => log.loaded.length === 1);
    await sleep(FAST.rescanMs * 2);
    assert.equal(log.loaded.length, 1);
    assert.deepEqual(log.failed, []);
    assert.deepEqual((await readdir(dir)).sort(), ['.hidden.json', 'archive', 'error', 'notes.txt', 'other.json']);
  });
});

describe('DirectoryLoader: crash safety', () => {
  it('a file scheduled but not archived (crash) is loaded again on restart without duplicating any job', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const store = new MemoryStore();
    const clock = new VirtualClock(T0);
    const a = new Scheduler<JobMap>({ store, clock });
    await a.start();
    let runs = 0;
    a.register('once', () => {
      runs++;
    });
    const first = await startLoader(defer, a, { dir });
    // Break the archive step: the folder becomes a file.
    await rm(join(dir, 'archive'), { recursive: true });
    await writeFile(join(dir, 'archive'), 'not a folder');
    await drop(dir, 'c.json', [{ name: 'once' }, { name: 'once', delay: '1h' }, { name: 'tick', every: '1m' }]);
    await until(() => first.log.loaded.length === 1);
    assert.equal(first.log.errors.length, 1, 'the failed archive is reported');
    assert.equal(first.log.loaded[0]!.archivedTo, undefined);
    assert.ok((await readdir(dir)).includes('c.json'), 'the file is still there');
    await clock.advance(0);
    assert.equal(runs, 1);
    const ids = first.log.loaded[0]!.jobIds;
    // "Crash": everything stops with the jobs stored and the file not archived.
    await first.loader.stop();
    await a.stop();
    await rm(join(dir, 'archive'));

    const b = new Scheduler<JobMap>({ store, clock });
    await b.start();
    defer(() => b.stop());
    b.register('once', () => {
      runs++;
    });
    const second = await startLoader(defer, b, { dir });
    assert.equal(second.log.loaded.length, 1, 'start() loads what was left');
    assert.deepEqual(second.log.loaded[0]!.jobIds, ids, 'same derived ids');
    assert.ok(second.log.loaded[0]!.archivedTo);
    assert.equal((await b.list()).length, 3, 'no job was added twice');
    await clock.advance(0);
    assert.equal(runs, 1, 'the job that already ran does not run again');
    await clock.advance(3_600_000);
    assert.equal(runs, 2);
  });

  it('a file dropped again later (same name and content, new mtime) is a new submission', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const { log } = await startLoader(defer, scheduler, { dir });
    const job = { name: 'nightly', delay: '1h' };
    await drop(dir, 'same.json', job);
    await until(() => log.loaded.length === 1);
    await sleep(20);
    await drop(dir, 'same.json', job);
    await until(() => log.loaded.length === 2);
    assert.notDeepEqual(log.loaded[0]!.jobIds, log.loaded[1]!.jobIds);
    assert.equal(await scheduled(scheduler, 'nightly'), 2);
    const archived = await readdir(join(dir, 'archive'));
    assert.equal(archived.length, 2);
    assert.ok(archived.every((name) => /^\d{8}T\d{6}\.\d{3}Z-same(-\d+)?\.json$/.test(name)), archived.join());
  });
});

describe('DirectoryLoader: after loading', () => {
  it('archives without overwriting: same instant, same name gets a suffix', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    // Freeze real time so every archive name gets the same timestamp (settleMs 0 needs no time to pass).
    const frozen = Date.UTC(2030, 5, 1, 12, 0, 0, 500);
    t.mock.method(Date, 'now', () => frozen);
    const stamp = '20300601T120000.500Z';
    const { log } = await startLoader(defer, scheduler, { dir, settleMs: 0 });
    await writeFile(join(dir, 'archive', `${stamp}-b.json`), 'an older archive');
    await drop(dir, 'a.json', { name: 'x', payload: 1 });
    await until(() => log.loaded.length === 1);
    await drop(dir, 'a.json', { name: 'x', payload: 2 });
    await until(() => log.loaded.length === 2);
    await drop(dir, 'b.json', { name: 'x', payload: 3 });
    await until(() => log.loaded.length === 3);
    assert.deepEqual(
      log.loaded.map((e) => e.archivedTo),
      [join(dir, 'archive', `${stamp}-a.json`), join(dir, 'archive', `${stamp}-a-1.json`), join(dir, 'archive', `${stamp}-b-1.json`)],
    );
    assert.equal(await readFile(join(dir, 'archive', `${stamp}-b.json`), 'utf8'), 'an older archive');
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'archive', `${stamp}-a.json`), 'utf8')), { name: 'x', payload: 1 });
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'archive', `${stamp}-a-1.json`), 'utf8')), { name: 'x', payload: 2 });
  });

  it('delete mode removes the file once its jobs are scheduled', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const { log } = await startLoader(defer, scheduler, { dir, onLoaded: 'delete' });
    await drop(dir, 'd.json', [{ name: 'x' }, { name: 'y', cron: '@hourly' }]);
    await until(() => log.loaded.length === 1);
    assert.equal(log.loaded[0]!.archivedTo, undefined);
    assert.deepEqual((await readdir(dir)).sort(), ['error']);
    assert.equal((await scheduler.list()).length, 2);
  });

  it('keep mode remembers files across restarts, ignores a touch, reloads a change and cancels what it replaced', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const options: DirectoryLoaderOptions = { dir, onLoaded: 'keep' };
    const first = await startLoader(defer, scheduler, options);
    await drop(dir, 'k.json', [
      { name: 'k', payload: 1, delay: '1h' },
      { name: 'k', payload: 'hourly', cron: '0 * * * *' },
      { id: 'k-fixed', name: 'k', payload: 'v1', delay: '3h' },
    ]);
    await until(() => first.log.loaded.length === 1);
    const ids1 = first.log.loaded[0]!.jobIds;
    assert.ok((await readdir(dir)).includes('k.json'));
    assert.ok((await readdir(dir)).includes('.godelayq-loader.json'), 'the state file is hidden from the pattern');
    await first.loader.stop();

    const second = await startLoader(defer, scheduler, options);
    await sleep(FAST.rescanMs * 2);
    assert.equal(second.log.loaded.length, 0, 'not loaded again after a restart');
    const later = new Date(Date.now() + 5000);
    await utimes(join(dir, 'k.json'), later, later);
    await sleep(FAST.settleMs + FAST.rescanMs * 3);
    assert.equal(second.log.loaded.length, 0, 'a touch without a change loads nothing');
    assert.equal(await scheduled(scheduler), 3);

    await drop(dir, 'k.json', [
      { name: 'k', payload: 2, delay: '2h' },
      { id: 'k-fixed', name: 'k', payload: 'v2', delay: '3h' },
    ]);
    await until(() => second.log.loaded.length === 1);
    const ids2 = second.log.loaded[0]!.jobIds;
    assert.equal(ids2[1], 'k-fixed');
    assert.equal((await scheduler.get(ids1[0]!))?.state, 'cancelled', 'the old one-off is cancelled');
    assert.equal((await scheduler.get(ids1[1]!))?.state, 'cancelled', 'the old schedule is cancelled');
    assert.deepEqual((await scheduler.get('k-fixed'))?.payload, 'v2', 'its own id is replaced');
    assert.deepEqual((await scheduler.list({ state: 'scheduled' })).map((i) => i.payload).sort(), [2, 'v2']);
    await second.loader.stop();

    const third = await startLoader(defer, scheduler, options);
    await sleep(FAST.rescanMs * 2);
    assert.deepEqual(third.log.loaded, [], 'the changed version is remembered too');
    assert.deepEqual(third.log.failed, []);
  });
});

describe('DirectoryLoader: bad files', () => {
  it('moves each kind of bad file to errorDir beside <name>.error.json; the others go on', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const { log } = await startLoader(defer, scheduler, { dir, graceMs: 200, maxFileBytes: 4096 });
    const bad: Record<string, [string, RegExp]> = {
      'syntax.json': ['{"name": "x", ', /valid JSON/],
      'empty.json': ['', /empty file/],
      'field.json': [JSON.stringify({ name: 'x', delai: '1m' }), /Unknown field `job.delai`/],
      'cron.json': [JSON.stringify([{ name: 'x' }, { name: 'x', cron: '0 25 * * *' }]), /jobs\[1\].*25/],
      'date.json': [JSON.stringify({ name: 'x', at: '2027-02-30T10:00:00Z' }), /`job.at` to be an ISO 8601/],
      'delay.json': [JSON.stringify({ name: 'x', delay: 'soon' }), /`job.delay`/],
      'payload.json': [JSON.stringify({ name: '', payload: 1 }), /`job.name`/],
      'shape.json': ['"just a string"', /job object or an array/],
      'big.json': [JSON.stringify({ name: 'x', payload: 'z'.repeat(5000) }), /at most 4096 bytes/],
    };
    for (const [name, [content]] of Object.entries(bad)) await drop(dir, name, content);
    await drop(dir, 'good.json', { name: 'x', payload: 'fine' });
    await until(() => log.failed.length === Object.keys(bad).length);
    await until(() => log.loaded.length === 1);
    assert.deepEqual(log.errors, []);
    for (const [name, [, message]] of Object.entries(bad)) {
      const event = log.failed.find((e) => e.file === join(dir, name));
      assert.ok(event, name);
      assert.equal(event.willRetry, false);
      assert.ok(event.error instanceof ValidationError, name);
      assert.match(event.error.message, message, name);
      assert.equal(event.movedTo, join(dir, 'error', name));
      const report = JSON.parse(await readFile(join(dir, 'error', `${name}.error.json`), 'utf8')) as {
        file: string;
        error: { name: string; code: string; message: string };
        at: string;
      };
      assert.equal(report.file, join(dir, name));
      assert.equal(report.error.name, 'ValidationError');
      assert.equal(report.error.code, 'ERR_VALIDATION');
      assert.equal(report.error.message, event.error.message);
      assert.ok(Math.abs(Date.parse(report.at) - Date.now()) < 60_000);
    }
    assert.equal(await readFile(join(dir, 'error', 'field.json'), 'utf8'), JSON.stringify({ name: 'x', delai: '1m' }), 'moved as is');
    assert.deepEqual((await scheduler.list()).map((i) => i.payload), ['fine']);
    // Not retried; a new file under a bad file's name is loaded; a second bad one does not overwrite the first.
    await sleep(FAST.rescanMs * 2);
    assert.equal(log.failed.length, Object.keys(bad).length);
    await drop(dir, 'field.json', { name: 'x', payload: 'fixed' });
    await drop(dir, 'syntax.json', '{ still broken');
    await until(() => log.loaded.length === 2 && log.failed.length === Object.keys(bad).length + 1);
    assert.equal(log.failed.at(-1)!.movedTo, join(dir, 'error', 'syntax-1.json'));
    assert.ok((await readdir(join(dir, 'error'))).includes('syntax-1.json.error.json'));
  });

  it('all or none: one bad job among good ones schedules nothing', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const { log } = await startLoader(defer, scheduler, { dir });
    const good = [
      { name: 'a', delay: '1m' },
      { name: 'b', cron: '*/5 * * * *' },
      { name: 'c', every: '10m' },
    ];
    // Caught by the file checks.
    await drop(dir, 'one.json', [...good, { name: 'd', cron: 'every day' }]);
    // Passes the file checks, refused by the scheduler's own validation (due after year 275760): the dry run catches it.
    await drop(dir, 'two.json', [...good, { name: 'd', delay: 9e15 }]);
    // One-off jobs only: one all-or-none scheduleMany.
    await drop(dir, 'three.json', [{ name: 'a' }, { name: 'd', delay: 9e15 }]);
    await until(() => log.failed.length === 3);
    assert.deepEqual(log.loaded, []);
    assert.deepEqual(await scheduler.list(), []);
    const two = log.failed.find((e) => e.file.endsWith('two.json'))!;
    assert.match(two.error.message, /jobs\[3\]/);
    assert.match(two.error.message, /8\.64e15/);
  });

  it('a transient failure (scheduler not started) leaves the file and retries it', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const scheduler = new Scheduler<JobMap>({ clock: new VirtualClock(T0) });
    defer(() => scheduler.stop());
    const { log } = await startLoader(defer, scheduler, { dir });
    await drop(dir, 'wait.json', { name: 'x', delay: '1m' });
    await until(() => log.failed.length === 1);
    assert.equal(log.failed[0]!.willRetry, true);
    assert.equal(log.failed[0]!.error.name, 'SchedulerStoppedError');
    assert.ok((await readdir(dir)).includes('wait.json'));
    await scheduler.start();
    await until(() => log.loaded.length === 1, 5000);
    assert.equal(await scheduled(scheduler), 1);
  });
});

describe('DirectoryLoader: folders and lifecycle', () => {
  it('archive and error folders inside the watched folder do not loop, even with pattern "*"', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const { log } = await startLoader(defer, scheduler, { dir, pattern: '*', graceMs: 0, rescanMs: 50 });
    await drop(dir, 'good.json', { name: 'x' });
    await drop(dir, 'bad.json', '{');
    await until(() => log.loaded.length === 1 && log.failed.length === 1);
    await sleep(400);
    assert.equal(log.loaded.length, 1);
    assert.equal(log.failed.length, 1);
    assert.deepEqual(log.errors, []);
    assert.equal((await readdir(join(dir, 'archive'))).length, 1);
    assert.deepEqual((await readdir(join(dir, 'error'))).sort(), ['bad.json', 'bad.json.error.json']);
    assert.equal(await scheduled(scheduler), 1);
  });

  it('refuses archiveDir or errorDir equal to dir', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    assert.throws(() => new DirectoryLoader(scheduler, { dir, archiveDir: `${dir}/.` }), ValidationError);
    assert.throws(() => new DirectoryLoader(scheduler, { dir, errorDir: dir }), ValidationError);
    assert.throws(() => new DirectoryLoader(scheduler, { dir, colour: 'blue' } as DirectoryLoaderOptions), /Unknown option `options.colour`/);
    assert.throws(() => new DirectoryLoader(scheduler, { dir, onLoaded: 'move' as 'keep' }), ValidationError);
    assert.throws(() => new DirectoryLoader(scheduler, { dir, settleMs: -1 }), ValidationError);
  });

  it('watch: false loads at start() and on scan() only', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    await drop(dir, 'early.json', { name: 'x', payload: 'early' });
    const { loader, log } = await startLoader(defer, scheduler, { dir, watch: false });
    assert.equal(log.loaded.length, 1, 'start() resolves once present files are loaded');
    await drop(dir, 'late.json', { name: 'x', payload: 'late' });
    await sleep(200);
    assert.equal(log.loaded.length, 1);
    await loader.scan();
    assert.equal(log.loaded.length, 2);
    assert.equal(await scheduled(scheduler), 2);
  });

  it('start and stop are idempotent; scan before start is refused', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const loader = new DirectoryLoader(scheduler, { dir: join(dir, 'inbox', 'nested'), ...FAST });
    await loader.stop();
    await assert.rejects(loader.scan(), GodelayqError);
    await Promise.all([loader.start(), loader.start()]);
    await loader.start();
    assert.ok((await stat(join(dir, 'inbox', 'nested', 'archive'))).isDirectory(), 'folders are created');
    await Promise.all([loader.stop(), loader.stop()]);
    await loader.stop();
    // Restartable.
    await loader.start();
    await drop(join(dir, 'inbox', 'nested'), 'r.json', { name: 'x' });
    await until(async () => (await scheduler.list()).length === 1);
    await loader.stop();
  });
});
