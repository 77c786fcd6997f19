/**
 * DirectoryLoader against real folders under os.tmpdir(): settling,
 * all-or-none files, derived ids across a crash, archive / delete / keep,
 * bad files, and the watched folder never feeding on its own output.
 *
 * The loader runs on its own VirtualClock (settling, grace, retries and
 * rescans are timers on it), the scheduler on another. "Nothing happened"
 * is asserted only after the loader provably looked: after `scan()` (a full
 * look that resolves once every file found is handled), or after moving
 * the loader's clock past its rescans and counting the folder reads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectoryLoader, type DirectoryLoaderOptions } from '../src/index.js';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory.js';
import { utcStamp } from '../src/loader/fs.js';
import { GodelayqError, ValidationError } from '../src/errors.js';
import type { JobMap } from '../src/types.js';
import { T0, until, virtualScheduler } from './helpers.js';
import { FAST, SpyFs, advance, cleanup, drive, driveUntil, drop, fixture, scheduledCount, startLoader, tempDir } from './loader-helpers.js';

describe('DirectoryLoader: loading', () => {
  it('loads 1,000 files dropped at once, each exactly once, and runs each job once', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const { scheduler, clock: jobClock } = await virtualScheduler<JobMap>({ concurrency: 200 });
    defer(() => scheduler.stop());
    const runs = new Map<number, number>();
    scheduler.register('bulk', (job) => {
      const n = (job.payload as { n: number }).n;
      runs.set(n, (runs.get(n) ?? 0) + 1);
    });
    const fs = new SpyFs();
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir, concurrency: 16, fs });
    const N = 1000;
    // Half renamed in, half written in place (the watcher may see them empty, then growing).
    await Promise.all(
      Array.from({ length: N }, (_, n) => {
        const job = { name: 'bulk', payload: { n }, delay: '1m' };
        return n % 2 === 0 ? drop(dir, `f${n}.json`, job) : writeFile(join(dir, `f${n}.json`), JSON.stringify(job));
      }),
    );
    await drive(clock, loader, loader.scan());
    await driveUntil(clock, loader, () => log.loaded.length >= N);
    // Three more rescans (counted): nothing is loaded twice.
    const reads = fs.count('readdir');
    for (let i = 0; i < 3; i++) await advance(clock, loader, FAST.rescanMs);
    assert.ok(fs.count('readdir') >= reads + 3, `rescans happened (${fs.count('readdir') - reads})`);
    assert.equal(log.loaded.length, N);
    assert.equal(new Set(log.loaded.map((e) => e.file)).size, N);
    assert.deepEqual(log.failed, []);
    assert.deepEqual(log.errors, []);
    assert.equal(await scheduledCount(scheduler, 'bulk'), N);
    assert.deepEqual((await readdir(dir)).sort(), ['archive', 'error']);
    assert.equal((await readdir(join(dir, 'archive'))).length, N);
    await jobClock.advance(60_000);
    await until(() => runs.size === N);
    assert.ok([...runs.values()].every((count) => count === 1));
  });

  for (const settleMs of [40, 400]) {
    it(`loads a file written in 3 chunks 200 ms apart (loader time) once, complete (settleMs ${settleMs})`, async (t) => {
      const { defer, dir, scheduler } = await fixture(t);
      const fs = new SpyFs();
      const { loader, log, clock } = await startLoader(defer, scheduler, { dir, settleMs, graceMs: 1000, fs });
      const jobs = [
        { name: 'chunked', payload: { text: 'a'.repeat(2000) }, delay: '90s' },
        { name: 'chunked', payload: { text: 'b'.repeat(2000) }, at: '2027-01-01T01:00:00+01:00' },
      ];
      const text = JSON.stringify(jobs, null, 2);
      const third = Math.ceil(text.length / 3);
      const handle = await open(join(dir, 'slow.json'), 'w');
      const scans: Promise<void>[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          if (i > 0) await advance(clock, loader, 200);
          await handle.write(text.slice(i * third, (i + 1) * third));
          // Make sure the loader sees this chunk (the watcher may or may not have told it).
          scans.push(loader.scan());
          await loader.onIdle();
        }
      } finally {
        await handle.close();
      }
      const reads = fs.count('open', 'slow.json');
      await driveUntil(clock, loader, () => log.loaded.length === 1);
      await Promise.all(scans);
      // Past every timer the loader could still have for the file, and two rescans.
      const dirReads = fs.count('readdir');
      await advance(clock, loader, settleMs + 1000);
      await advance(clock, loader, FAST.rescanMs);
      assert.ok(fs.count('readdir') >= dirReads + 2);
      assert.equal(log.loaded.length, 1);
      assert.deepEqual(log.failed, [], 'a half-written file is never reported bad');
      if (settleMs === 400) assert.equal(reads, 0, 'never read while it kept changing within settleMs');
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
    const { defer, dir, scheduler, jobClock } = await fixture(t);
    const ran: string[] = [];
    scheduler.register('go', (job) => {
      ran.push(`${job.payload as string}@${jobClock.now() - T0}`);
    });
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir });
    await drop(dir, 'mixed.json', [
      { name: 'go', payload: 'now' },
      { name: 'go', payload: 'delay', delay: '1h30m' },
      { name: 'go', payload: 'at', at: '2027-01-01T00:00:10Z' },
      { name: 'go', payload: 'every', every: '20m', misfire: 'skip' },
      { name: 'go', payload: 'cron', cron: '0 0 * * *', tz: 'Europe/Paris' },
      { name: 'nobody.registered', payload: { x: 1 }, priority: 3 },
    ]);
    await drive(clock, loader, loader.scan());
    assert.equal(log.loaded.length, 1);
    assert.deepEqual(log.failed, []);
    const ids = log.loaded[0]!.jobIds;
    assert.equal(ids.length, 6);
    assert.ok(ids.every((id) => id.startsWith('file:mixed.json:')), 'ids are derived from the file');
    const cron = await scheduler.get(ids[4]!);
    assert.equal(cron?.cron?.tz, 'Europe/Paris');
    assert.equal(cron?.runAt.getTime(), Date.UTC(2027, 0, 1, 23)); // midnight in Paris
    assert.equal((await scheduler.get(ids[5]!))?.state, 'scheduled');
    await jobClock.advance(90 * 60_000);
    assert.deepEqual(ran, ['now@0', 'at@10000', 'every@1200000', 'every@2400000', 'every@3600000', 'every@4800000', 'delay@5400000']);
  });

  it("treats a file's own id as an idempotency key", async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir });
    await drop(dir, 'one.json', { id: 'order-42', name: 'cancel', payload: { v: 1 }, delay: '1h' });
    await drive(clock, loader, loader.scan());
    await drop(dir, 'two.json', { id: 'order-42', name: 'cancel', payload: { v: 2 }, delay: '1h' });
    await drive(clock, loader, loader.scan());
    assert.equal(log.loaded.length, 2);
    assert.deepEqual(log.loaded[1]!.jobIds, ['order-42']);
    assert.deepEqual((await scheduler.get('order-42'))?.payload, { v: 1 });
    assert.equal(await scheduledCount(scheduler), 1);
  });

  it('ignores names that do not match the pattern, hidden files and folders', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    await writeFile(join(dir, 'notes.txt'), 'not json');
    await writeFile(join(dir, '.hidden.json'), '{"name":"x"}');
    const fs = new SpyFs();
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir, pattern: 'job-*.json', fs });
    await writeFile(join(dir, 'other.json'), '{"name":"x"}');
    await drop(dir, 'job-1.json', { name: 'x' });
    await drive(clock, loader, loader.scan());
    await advance(clock, loader, FAST.rescanMs);
    await advance(clock, loader, FAST.rescanMs);
    assert.equal(log.loaded.length, 1);
    assert.deepEqual(log.failed, []);
    assert.ok(fs.count('readdir') >= 4, 'start, scan and two rescans read the folder');
    for (const ignored of ['notes.txt', '.hidden.json', 'other.json']) assert.equal(fs.count('lstat', ignored), 0, `${ignored} was never looked at`);
    assert.deepEqual((await readdir(dir)).sort(), ['.hidden.json', 'archive', 'error', 'notes.txt', 'other.json']);
  });
});

describe('DirectoryLoader: crash safety', () => {
  it('a file scheduled but not archived (crash) is loaded again on restart without duplicating any job', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const store = new MemoryStore();
    const jobClock = new VirtualClock(T0);
    const a = new Scheduler<JobMap>({ store, clock: jobClock });
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
    await drive(first.clock, first.loader, first.loader.scan());
    assert.equal(first.log.loaded.length, 1);
    assert.equal(first.log.errors.length, 1, 'the failed archive is reported');
    assert.equal(first.log.loaded[0]!.archivedTo, undefined);
    assert.ok((await readdir(dir)).includes('c.json'), 'the file is still there');
    await jobClock.advance(0);
    assert.equal(runs, 1);
    const ids = first.log.loaded[0]!.jobIds;
    // "Crash": everything stops with the jobs stored and the file not archived.
    await first.loader.stop();
    await a.stop();
    await rm(join(dir, 'archive'));

    const b = new Scheduler<JobMap>({ store, clock: jobClock });
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
    await jobClock.advance(0);
    assert.equal(runs, 1, 'the job that already ran does not run again');
    await jobClock.advance(3_600_000);
    assert.equal(runs, 2);
  });

  it('a file dropped again later (same name and content, new mtime) is a new submission', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir });
    const job = { name: 'nightly', delay: '1h' };
    await drop(dir, 'same.json', job);
    await drive(clock, loader, loader.scan());
    // Same name and content, an mtime 5 s later.
    const tmp = join(dir, '.same.json.part');
    await writeFile(tmp, JSON.stringify(job));
    const later = new Date((await stat(join(dir, 'archive', (await readdir(join(dir, 'archive')))[0]!))).mtimeMs + 5000);
    await utimes(tmp, later, later);
    await rename(tmp, join(dir, 'same.json'));
    await drive(clock, loader, loader.scan());
    assert.equal(log.loaded.length, 2);
    assert.notDeepEqual(log.loaded[0]!.jobIds, log.loaded[1]!.jobIds);
    assert.equal(await scheduledCount(scheduler, 'nightly'), 2);
    const archived = await readdir(join(dir, 'archive'));
    assert.equal(archived.length, 2);
    assert.ok(archived.every((name) => /^\d{8}T\d{6}\.\d{3}Z-same(-\d+)?\.json$/.test(name)), archived.join());
  });
});

describe('DirectoryLoader: after loading', () => {
  it('archives without overwriting: same instant, same name gets a suffix', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    // The loader's clock stands still (settleMs 0 needs no time to pass): every archive name gets the same timestamp.
    const clock = new VirtualClock(Date.UTC(2030, 5, 1, 12, 0, 0, 500));
    const { loader, log } = await startLoader(defer, scheduler, { dir, settleMs: 0, clock });
    const at = clock.now();
    const stamp = utcStamp(at);
    await writeFile(join(dir, 'archive', `${stamp}-b.json`), 'an older archive');
    for (const [name, payload] of [
      ['a.json', 1],
      ['a.json', 2],
      ['b.json', 3],
    ] as const) {
      await drop(dir, name, { name: 'x', payload });
      await loader.scan();
    }
    assert.equal(clock.now(), at);
    assert.match(stamp, /^20300601T1200\d\d\.\d{3}Z$/);
    assert.deepEqual(
      log.loaded.map((e) => e.archivedTo),
      [join(dir, 'archive', `${stamp}-a.json`), join(dir, 'archive', `${stamp}-a-1.json`), join(dir, 'archive', `${stamp}-b-1.json`)],
    );
    assert.equal(await readFile(join(dir, 'archive', `${stamp}-b.json`), 'utf8'), 'an older archive');
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'archive', `${stamp}-a.json`), 'utf8')), { name: 'x', payload: 1 });
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'archive', `${stamp}-a-1.json`), 'utf8')), { name: 'x', payload: 2 });
  });

  it('delete mode removes the file once its jobs are scheduled', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir, onLoaded: 'delete' });
    await drop(dir, 'd.json', [{ name: 'x' }, { name: 'y', cron: '@hourly' }]);
    await drive(clock, loader, loader.scan());
    assert.equal(log.loaded.length, 1);
    assert.equal(log.loaded[0]!.archivedTo, undefined);
    assert.deepEqual((await readdir(dir)).sort(), ['error']);
    assert.equal((await scheduler.list()).length, 2);
  });
});

describe('DirectoryLoader: bad files', () => {
  it('moves each kind of bad file to errorDir beside <name>.error.json; the others go on', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const fs = new SpyFs();
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir, graceMs: 200, maxFileBytes: 4096, fs });
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
    await drive(clock, loader, loader.scan());
    // Not valid JSON: reported only once unchanged for graceMs.
    assert.equal(log.failed.filter((e) => /syntax|empty/.test(e.file)).length, 0, 'not before graceMs');
    await driveUntil(clock, loader, () => log.failed.length === Object.keys(bad).length);
    assert.equal(log.loaded.length, 1);
    assert.deepEqual(log.errors, []);
    assert.equal(fs.count('open', join(dir, 'big.json')), 1, 'the large file was opened once and not read past its size');
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
      assert.ok(Math.abs(Date.parse(report.at) - clock.now()) < 60_000, 'report time on the loader clock');
    }
    assert.equal(await readFile(join(dir, 'error', 'field.json'), 'utf8'), JSON.stringify({ name: 'x', delai: '1m' }), 'moved as is');
    assert.deepEqual((await scheduler.list()).map((i) => i.payload), ['fine']);
    // Not retried (two rescans, counted); a new file under a bad file's name is loaded; a second bad one does not overwrite the first.
    const reads = fs.count('readdir');
    await advance(clock, loader, FAST.rescanMs);
    await advance(clock, loader, FAST.rescanMs);
    assert.ok(fs.count('readdir') >= reads + 2);
    assert.equal(log.failed.length, Object.keys(bad).length);
    await drop(dir, 'field.json', { name: 'x', payload: 'fixed' });
    await drop(dir, 'syntax.json', '{ still broken');
    await driveUntil(clock, loader, () => log.loaded.length === 2 && log.failed.length === Object.keys(bad).length + 1);
    assert.equal(log.failed.at(-1)!.movedTo, join(dir, 'error', 'syntax-1.json'));
    assert.ok((await readdir(join(dir, 'error'))).includes('syntax-1.json.error.json'));
  });

  it('all or none: one bad job among good ones schedules nothing', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir });
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
    await drive(clock, loader, loader.scan());
    assert.equal(log.failed.length, 3);
    assert.deepEqual(log.loaded, []);
    assert.deepEqual(await scheduler.list(), []);
    const two = log.failed.find((e) => e.file.endsWith('two.json'))!;
    assert.match(two.error.message, /jobs\[3\]/);
    assert.match(two.error.message, /8\.64e15/);
  });

  it('a transient failure (scheduler not started) leaves the file and retries it after 1 s, then 2 s (loader time)', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const scheduler = new Scheduler<JobMap>({ clock: new VirtualClock(T0) });
    defer(() => scheduler.stop());
    const fs = new SpyFs();
    // settleMs 0: the loader's clock moves only when the test moves it.
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir, fs, rescanMs: 0, settleMs: 0 });
    await drop(dir, 'wait.json', { name: 'x', delay: '1m' });
    await loader.scan();
    assert.equal(log.failed.length, 1);
    assert.equal(log.failed[0]!.willRetry, true);
    assert.equal(log.failed[0]!.error.name, 'SchedulerStoppedError');
    assert.ok((await readdir(dir)).includes('wait.json'));
    const opens = (): number => fs.count('open', 'wait.json');
    const first = opens();
    await advance(clock, loader, 999);
    assert.equal(opens(), first, 'not before 1 s');
    await advance(clock, loader, 1);
    assert.equal(opens(), first + 1, 'again at 1 s');
    assert.equal(log.failed.length, 2);
    await advance(clock, loader, 1999);
    assert.equal(opens(), first + 1, 'then not before 2 s more');
    await scheduler.start();
    await advance(clock, loader, 1);
    assert.equal(log.loaded.length, 1);
    assert.equal(await scheduledCount(scheduler), 1);
  });
});

describe('DirectoryLoader: folders and lifecycle', () => {
  it('archive and error folders inside the watched folder do not loop, even with pattern "*"', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const fs = new SpyFs();
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir, pattern: '*', graceMs: 0, rescanMs: 50, fs });
    await drop(dir, 'good.json', { name: 'x' });
    await drop(dir, 'bad.json', '{');
    await drive(clock, loader, loader.scan());
    const reads = fs.count('readdir');
    for (let i = 0; i < 8; i++) await advance(clock, loader, 50);
    assert.ok(fs.count('readdir') >= reads + 8, 'eight rescans');
    assert.equal(log.loaded.length, 1);
    assert.equal(log.failed.length, 1);
    assert.deepEqual(log.errors, []);
    assert.ok(!fs.calls.includes(`lstat ${join(dir, 'archive')}`) && !fs.calls.includes(`readdir ${join(dir, 'archive')}`), 'folders are never looked into');
    assert.equal((await readdir(join(dir, 'archive'))).length, 1);
    assert.deepEqual((await readdir(join(dir, 'error'))).sort(), ['bad.json', 'bad.json.error.json']);
    assert.equal(await scheduledCount(scheduler), 1);
  });

  it('refuses bad options with a ValidationError', async (t) => {
    const { dir, scheduler } = await fixture(t);
    const refused: [DirectoryLoaderOptions, RegExp][] = [
      [{ dir, archiveDir: `${dir}/.` }, /`options.archiveDir` to differ/],
      [{ dir, errorDir: dir }, /`options.errorDir` to differ/],
      [{ dir, colour: 'blue' } as DirectoryLoaderOptions, /Unknown option `options.colour`/],
      [{ dir, onLoaded: 'move' as 'keep' }, /`options.onLoaded`/],
      [{ dir, settleMs: -1 }, /`options.settleMs`/],
      [{ dir, clock: { now: () => 0 } as unknown as VirtualClock }, /`options.clock` to be a Clock/],
      [{ dir, fs: { lstat: () => undefined } as unknown as SpyFs }, /`options.fs` to be a LoaderFs.*missing stat/],
      [{ dir, followSymlinks: 'yes' as unknown as boolean }, /`options.followSymlinks` to be a boolean/],
      [{ dir, unref: 1 as unknown as boolean }, /`options.unref` to be a boolean/],
    ];
    for (const [options, message] of refused) {
      assert.throws(() => new DirectoryLoader(scheduler, options), (error: unknown) => error instanceof ValidationError && message.test(error.message), message.source);
    }
    assert.throws(() => new DirectoryLoader({} as Scheduler<JobMap>, { dir }), /`scheduler` to be a Scheduler/);
  });

  it('watch: false loads at start() and on scan() only', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    await drop(dir, 'early.json', { name: 'x', payload: 'early' });
    const fs = new SpyFs();
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir, watch: false, fs });
    assert.equal(log.loaded.length, 1, 'start() resolves once present files are loaded');
    await drop(dir, 'late.json', { name: 'x', payload: 'late' });
    const reads = fs.count('readdir');
    await advance(clock, loader, 100 * FAST.rescanMs);
    assert.equal(fs.count('readdir'), reads, 'no rescan without watching');
    assert.equal(fs.count('lstat', 'late.json'), 0);
    assert.equal(log.loaded.length, 1);
    await drive(clock, loader, loader.scan());
    assert.equal(log.loaded.length, 2);
    assert.equal(await scheduledCount(scheduler), 2);
  });

  it('start and stop are idempotent; scan before start is refused; a stopped loader starts again', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const clock = new VirtualClock(T0);
    const loader = new DirectoryLoader(scheduler, { dir: join(dir, 'inbox', 'nested'), ...FAST, clock });
    defer(() => loader.stop());
    await loader.stop();
    await assert.rejects(loader.scan(), GodelayqError);
    await Promise.all([loader.start(), loader.start()]);
    await loader.start();
    assert.ok((await stat(join(dir, 'inbox', 'nested', 'archive'))).isDirectory(), 'folders are created');
    await Promise.all([loader.stop(), loader.stop()]);
    await loader.stop();
    await assert.rejects(loader.scan(), GodelayqError);
    await loader.start();
    await drop(join(dir, 'inbox', 'nested'), 'r.json', { name: 'x' });
    await drive(clock, loader, loader.scan());
    assert.equal((await scheduler.list()).length, 1);
    await loader.stop();
  });

  it('a file dropped while watching is loaded without any scan() call', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    // Rescans off and the clock never moves: only fs.watch can bring the file in (settleMs 0).
    const { log } = await startLoader(defer, scheduler, { dir, settleMs: 0, rescanMs: 0 });
    await drop(dir, 'w.json', { name: 'x' });
    await until(() => log.loaded.length === 1);
    assert.equal(await scheduledCount(scheduler), 1);
  });
});
