/**
 * DirectoryLoader and what else can sit in its folder (issue 11 item 12):
 * symbolic links (to a JSON file elsewhere, to /etc/passwd, to
 * /proc/self/environ), FIFOs, a file swapped for a link or a FIFO between
 * the loader's look and its read, and a file whose content does not match
 * its size. Each is refused without its target being read, reported once
 * (`fileFailed` + report), and never looked into again in a loop. With
 * `followSymlinks`, links to regular files inside the folder load (a
 * Kubernetes ConfigMap mount), links outside are still refused unopened.
 *
 * Every open() goes through a SpyFs, so "never read" is counted, not assumed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, readlink, rename, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../src/errors.js';
import { type LoaderStats, nodeLoaderFs } from '../src/loader/fs-layer.js';
import { virtualScheduler } from './helpers.js';
import type { JobMap } from '../src/types.js';

import { FAST, SpyFs, advance, cleanup, drive, drop, errno, fixture, startLoader, tempDir } from './loader-helpers.js';

const job = { name: 'x', payload: 'from outside' };

describe('DirectoryLoader: symbolic links and special files are refused unread', () => {
  it('a link to a JSON file outside the folder: refused, moved as a link beside its report, nothing scheduled', async (t) => {
    const defer = cleanup(t);
    const root = await tempDir(defer);
    const dir = join(root, 'inbox');
    await mkdir(dir);
    await writeFile(join(root, 'outside.json'), JSON.stringify(job));
    await symlink(join(root, 'outside.json'), join(dir, 'out.json'));
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const fs = new SpyFs();
    const { log } = await startLoader(defer, scheduler, { dir, fs });
    assert.deepEqual(log.loaded, []);
    assert.deepEqual(await scheduler.list(), []);
    assert.equal(log.failed.length, 1);
    const failed = log.failed[0]!;
    assert.equal(failed.file, join(dir, 'out.json'));
    assert.equal(failed.willRetry, false);
    assert.ok(failed.error instanceof ValidationError);
    assert.match(failed.error.message, /Expected out\.json to be a regular file, got a symbolic link \(not followed/);
    assert.equal(failed.movedTo, join(dir, 'error', 'out.json'));
    assert.equal(await readlink(join(dir, 'error', 'out.json')), join(root, 'outside.json'), 'the link itself was moved');
    const report = JSON.parse(await readFile(join(dir, 'error', 'out.json.error.json'), 'utf8')) as { error: { message: string } };
    assert.equal(report.error.message, failed.error.message);
    assert.equal(fs.count('open', 'outside.json'), 0, 'the target was never opened');
    assert.equal(fs.count('open', 'out.json') - fs.count('open', 'out.json.error.json'), 0, 'nor the link');
    assert.equal(await readFile(join(root, 'outside.json'), 'utf8'), JSON.stringify(job), 'the target is untouched');
  });

  for (const target of ['/etc/passwd', '/proc/self/environ']) {
    it(`a link to ${target}: reported without a byte of it`, { skip: existsSync(target) ? false : `${target} does not exist here` }, async (t) => {
      const defer = cleanup(t);
      const dir = await tempDir(defer);
      await symlink(target, join(dir, 'x.json'));
      const { scheduler } = await virtualScheduler<JobMap>();
      defer(() => scheduler.stop());
      const fs = new SpyFs();
      const { log } = await startLoader(defer, scheduler, { dir, fs });
      assert.equal(log.failed.length, 1);
      assert.equal(fs.count('open', target), 0);
      const report = await readFile(join(dir, 'error', 'x.json.error.json'), 'utf8');
      const secret = readFileSync(target).subarray(0, 12).toString('utf8').replace(/\0/g, '');
      assert.ok(secret.length >= 4);
      assert.ok(!report.includes(secret) && !log.failed[0]!.error.message.includes(secret), 'no content of the target in the report');
    });
  }

  it('a link that cannot be moved is reported once and never re-read, through many rescans', { timeout: 30_000 }, async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    await symlink('/proc/self/environ', join(dir, 'env.json'));
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const fs = new SpyFs();
    fs.override.symlink = () => Promise.reject(errno('EACCES', 'symlink'));
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir, fs });
    assert.equal(log.failed.length, 1);
    assert.equal(log.failed[0]!.movedTo, undefined);
    assert.equal(log.errors.length, 1, 'the failed move is reported');
    assert.match(log.errors[0]!.error.message, /EACCES/);
    const looks = fs.count('lstat', join(dir, 'env.json'));
    for (let i = 0; i < 20; i++) await advance(clock, loader, FAST.rescanMs);
    assert.ok(fs.count('lstat', join(dir, 'env.json')) >= looks + 20, 'every rescan looked at it');
    assert.equal(log.failed.length, 1, 'reported once');
    assert.equal(log.errors.length, 1);
    assert.equal(fs.count('open', 'env.json') - fs.count('open', 'env.json.error.json'), 0, 'never opened');
    assert.equal(fs.count('open', '/proc/self/environ'), 0);
    assert.ok((await lstat(join(dir, 'env.json'))).isSymbolicLink(), 'left in place');
    assert.deepEqual(await readdir(join(dir, 'error')), [], 'no report without its entry');
    // Replaced by a good file: loaded.
    await unlink(join(dir, 'env.json'));
    await drop(dir, 'env.json', { name: 'x' });
    await drive(clock, loader, loader.scan());
    assert.equal(log.loaded.length, 1);
  });

  it('a FIFO is refused without being opened (no hang), and moved beside its report', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    execFileSync('mkfifo', [join(dir, 'pipe.json')]);
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const fs = new SpyFs();
    const { log } = await startLoader(defer, scheduler, { dir, fs });
    assert.equal(log.failed.length, 1);
    assert.match(log.failed[0]!.error.message, /got a special file \(FIFO, socket or device\)/);
    assert.equal(fs.count('open', join(dir, 'pipe.json')), 0);
    assert.ok((await lstat(join(dir, 'error', 'pipe.json'))).isFIFO());
  });

  for (const swap of ['link', 'FIFO'] as const) {
    it(`a file swapped for a ${swap} between the look and the read is not read through; the ${swap} is then refused`, async (t) => {
      const defer = cleanup(t);
      const root = await tempDir(defer);
      const dir = join(root, 'inbox');
      await mkdir(dir);
      await writeFile(join(root, 'outside.json'), JSON.stringify(job));
      const { scheduler } = await virtualScheduler<JobMap>();
      defer(() => scheduler.stop());
      const fs = new SpyFs();
      let swapped = false;
      const flagsUsed: number[] = [];
      fs.override.open = async (path, flags, mode) => {
        if (path === join(dir, 'a.json')) flagsUsed.push(flags);
        if (path === join(dir, 'a.json') && !swapped) {
          // The look said "regular file"; by the time of the open it is something else.
          swapped = true;
          await rm(path);
          if (swap === 'link') await symlink(join(root, 'outside.json'), path);
          else execFileSync('mkfifo', [path]);
        }
        return nodeLoaderFs.open(path, flags, mode);
      };
      const { loader, log, clock } = await startLoader(defer, scheduler, { dir, fs, settleMs: 0 });
      await drop(dir, 'a.json', { name: 'x', payload: 'inside' });
      await loader.scan();
      await advance(clock, loader, 0);
      assert.ok(swapped);
      assert.deepEqual(log.loaded, []);
      assert.deepEqual(await scheduler.list(), [], 'nothing scheduled, from either file');
      assert.equal(log.failed.length, 1);
      assert.match(log.failed[0]!.error.message, swap === 'link' ? /symbolic link/ : /special file/);
      assert.equal(fs.count('open', 'outside.json'), 0);
      assert.ok(flagsUsed.length > 0 && flagsUsed.every((f) => (f & constants.O_NOFOLLOW) !== 0 && (f & constants.O_NONBLOCK) !== 0), 'opened with O_NOFOLLOW | O_NONBLOCK');
    });
  }

  it('a file whose content does not match its unchanged size (as /proc files do) is bad, read once, not re-read forever', { timeout: 30_000 }, async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const fs = new SpyFs();
    const procLike = join(dir, 'proc.json');
    const fds = new Set<number>();
    // Looks and fstat say 0 bytes; reads return the real content.
    const zero = (st: LoaderStats): LoaderStats => Object.assign(Object.create(Object.getPrototypeOf(st) as object) as LoaderStats, st, { size: 0 });
    fs.override.lstat = async (path) => (path === procLike ? zero(await nodeLoaderFs.lstat(path)) : nodeLoaderFs.lstat(path));
    fs.override.open = async (path, flags, mode) => {
      // errorDir is not writable: the bad entry stays where every rescan sees it.
      if (path.startsWith(join(dir, 'error'))) throw errno('EACCES', 'open');
      const fd = await nodeLoaderFs.open(path, flags, mode);
      if (path === procLike) fds.add(fd);
      return fd;
    };
    fs.override.fstat = async (fd) => (fds.has(fd) ? zero(await nodeLoaderFs.fstat(fd)) : nodeLoaderFs.fstat(fd));
    fs.override.close = async (fd) => {
      fds.delete(fd);
      await nodeLoaderFs.close(fd);
    };
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir, fs, settleMs: 0 });
    await writeFile(join(dir, '.p'), JSON.stringify({ name: 'x' }));
    await rename(join(dir, '.p'), procLike);
    await loader.scan();
    for (let i = 0; i < 10; i++) await advance(clock, loader, FAST.rescanMs);
    assert.equal(log.failed.length, 1);
    assert.match(log.failed[0]!.error.message, /got one with more bytes than its unchanged size \(0 bytes\) says/);
    assert.deepEqual(await scheduler.list(), []);
    assert.equal(log.errors.length, 1, 'the failed move, once');
    assert.equal(fs.count('open', procLike), 1, 'read once');
    assert.ok(fs.count('lstat', procLike) >= 10, 'looked at by every rescan');
  });
});

describe('DirectoryLoader: followSymlinks', () => {
  it('loads links to files inside the folder (a ConfigMap mount), reloads when the link moves on, refuses links outside unopened', async (t) => {
    const defer = cleanup(t);
    const root = await tempDir(defer);
    const dir = join(root, 'config');
    // The layout Kubernetes makes: ..data -> ..v1, and every file a link through ..data.
    await mkdir(join(dir, '..v1'), { recursive: true });
    await writeFile(join(dir, '..v1', 'jobs.json'), JSON.stringify({ id: 'nightly', name: 'x', cron: '0 3 * * *' }));
    await symlink('..v1', join(dir, '..data'));
    await symlink(join('..data', 'jobs.json'), join(dir, 'jobs.json'));
    await writeFile(join(root, 'secret.json'), JSON.stringify(job));
    await symlink(join(root, 'secret.json'), join(dir, 'secret.json'));
    await symlink(join(dir, 'nowhere.json.target'), join(dir, 'dangling.json'));
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const fs = new SpyFs();
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir, fs, onLoaded: 'keep', followSymlinks: true, settleMs: 0 });
    assert.deepEqual(
      log.loaded.map((e) => e.jobIds),
      [['nightly']],
    );
    assert.equal((await scheduler.get('nightly'))?.cron?.expression, '0 3 * * *');
    const failures = Object.fromEntries(log.failed.map((e) => [e.file.slice(dir.length + 1), e.error.message]));
    assert.match(failures['secret.json'] ?? '', /symbolic link to .*secret\.json, outside the folder; it was not read/);
    assert.match(failures['dangling.json'] ?? '', /symbolic link to nothing/);
    assert.equal(fs.count('open', join(root, 'secret.json')), 0, 'never opened');
    // The ConfigMap is updated: ..data now points to ..v2.
    await mkdir(join(dir, '..v2'));
    await writeFile(join(dir, '..v2', 'jobs.json'), JSON.stringify({ id: 'nightly', name: 'x', cron: '0 4 * * *' }));
    await utimes(join(dir, '..v2', 'jobs.json'), new Date(Date.now() + 5000), new Date(Date.now() + 5000));
    await symlink('..v2', join(dir, '..data.tmp'));
    await rename(join(dir, '..data.tmp'), join(dir, '..data'));
    await loader.scan();
    await advance(clock, loader, 0);
    assert.equal(log.loaded.length, 2);
    assert.equal((await scheduler.get('nightly'))?.cron?.expression, '0 4 * * *', 'the new version replaced the schedule');
    assert.ok((await lstat(join(dir, 'jobs.json'))).isSymbolicLink(), 'keep mode leaves the link alone');
  });
});
