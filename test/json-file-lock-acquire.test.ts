// Taking, holding and giving back the JsonFileStore lock
// (src/store/json-file/lock.ts) with file-system faults injected through
// the fs layer: the candidate written (and synced) before it is linked, a
// LOCK of fixed size rewritten in place by the heartbeat, every failure
// before or after the link leaving no temp file and no LOCK of ours, a LOCK
// replaced between link and open, openers that keep taking it over, and
// heartbeat checks that cannot tell. How a found LOCK is judged:
// json-file-lock-judge.test.ts.
import assert from 'node:assert/strict';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { VirtualClock } from '../src/clock.js';
import { StoreLockedError, StorePersistError } from '../src/errors.js';
import { type FsLayer, errnoError, nodeFs } from '../src/store/json-file/fs.js';
import { DirLock, type LockOptions, lockTempInUse } from '../src/store/json-file/lock.js';
import { CT0, removeTempDirs, tempDir } from './json-file-helpers.js';
import { until } from './helpers.js';

after(removeTempDirs);

const options = (over: Partial<LockOptions> = {}): LockOptions => ({ clock: new VirtualClock(CT0), staleLockMs: 10_000, sync: false, ...over });

const isLock = (file: string): boolean => path.basename(file) === 'LOCK';
const isTemp = (file: string): boolean => /^LOCK\.\d+\.[\w-]+\.tmp$/.test(path.basename(file));

function attempt(layer: FsLayer, dir: string, over: Partial<LockOptions> = {}): Promise<Awaited<ReturnType<typeof DirLock.acquire>> | Error> {
  return DirLock.acquire(layer, dir, options(over)).then(
    (r) => r,
    (e: unknown) => e as Error,
  );
}

function taken(outcome: Awaited<ReturnType<typeof attempt>>): DirLock {
  if (outcome instanceof Error) throw outcome;
  return outcome.lock;
}

async function lockJson(dir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as Record<string, unknown>;
}

describe('the LOCK written', () => {
  test('with sync, the candidate is fsynced before it is linked, and LOCK says sync; without, no fsync', async () => {
    for (const sync of [true, false]) {
      const dir = await tempDir('godelayq-acq-', true);
      const log: string[] = [];
      const fds = new Map<number, string>();
      const layer: FsLayer = {
        ...nodeFs,
        open: async (file, flags, mode) => {
          const fd = await nodeFs.open(file, flags, mode);
          fds.set(fd, path.basename(file));
          return fd;
        },
        fsync: (fd) => {
          log.push(`fsync ${isTemp(fds.get(fd) ?? '') ? 'temp' : fds.get(fd)}`);
          return nodeFs.fsync(fd);
        },
        link: (from, to) => {
          log.push(`link ${path.basename(to)}`);
          return nodeFs.link(from, to);
        },
      };
      const lock = taken(await attempt(layer, dir, { sync }));
      assert.deepEqual(log, sync ? ['fsync temp', 'link LOCK'] : ['link LOCK']);
      assert.equal((await lockJson(dir)).sync, sync ? true : undefined);
      await lock.release();
    }
  });

  test('LOCK is padded to a multiple of 512 bytes, ends with a newline, and the heartbeat rewrites it in place at that size', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    const clock = new VirtualClock(CT0);
    const lock = taken(await attempt(nodeFs, dir, { clock }));
    const first = await readFile(path.join(dir, 'LOCK'));
    assert.equal(first.length % 512, 0);
    assert.ok(first.length >= 512);
    assert.equal(first[first.length - 1], 10);
    assert.equal(first.toString().trimEnd().endsWith('}'), true);
    assert.equal(first.toString().slice(0, -1).trim().length + 1 < first.length, true, 'room left for the heartbeat');
    let n = 0;
    lock.startHeartbeat(clock, 1000, () => ({ gen: 123456789, length: 9_007_199_254_740_991 }), () => undefined);
    for (n = 1; n <= 3; n++) {
      await clock.advance(1000);
      const beat = n;
      await until(async () => (await lockJson(dir)).beat === beat);
    }
    const now = await readFile(path.join(dir, 'LOCK'));
    assert.equal(now.length, first.length);
    const content = await lockJson(dir);
    assert.equal(content.beat, 3);
    assert.equal(content.journal, 123456789);
    assert.equal(content.length, 9_007_199_254_740_991);
    assert.equal(content.nonce, lock.nonce);
    assert.equal(content.since, new Date(CT0).toISOString());
    assert.equal(content.godelayq, 'lock');
    await lock.release();
  });
  test('content over 416 bytes (a long boot id) still gets 96 bytes of room: LOCK takes 1024 bytes and keeps that size', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    const boot = 'b'.repeat(300);
    const layer: FsLayer = { ...nodeFs, readFile: (file) => (file === '/proc/sys/kernel/random/boot_id' ? Promise.resolve(Buffer.from(boot)) : nodeFs.readFile(file)) };
    const clock = new VirtualClock(CT0);
    const lock = taken(await attempt(layer, dir, { clock }));
    const first = await readFile(path.join(dir, 'LOCK'));
    const used = first.toString().trimEnd().length;
    assert.ok(used > 416 && used + 1 + 96 > 512, String(used));
    assert.equal(first.length, 1024);
    lock.startHeartbeat(clock, 1000, () => ({ gen: 123456789, length: 9_007_199_254_740_991 }), () => undefined);
    await clock.advance(1000);
    await until(async () => (await lockJson(dir)).beat === 1);
    assert.equal((await readFile(path.join(dir, 'LOCK'))).length, 1024);
    assert.equal((await lockJson(dir)).boot, boot);
    await lock.release();
  });
});

describe('failures while taking the lock leave no temp file and no LOCK of ours', () => {
  test('the candidate cannot be written (ENOSPC), or not created: StorePersistError saying so', async () => {
    const faults: [string, Partial<FsLayer>][] = [
      ['write', { write: () => Promise.reject(errnoError('ENOSPC', 'write', 'disk full')) }],
      ['open', { open: (file, flags, mode) => (isTemp(file) ? Promise.reject(errnoError('EACCES', 'open', file)) : nodeFs.open(file, flags, mode)) }],
      ['fsync', { fsync: () => Promise.reject(errnoError('EIO', 'fsync', 'x')) }],
    ];
    for (const [what, fault] of faults) {
      const dir = await tempDir('godelayq-acq-', true);
      const outcome = await attempt({ ...nodeFs, ...fault }, dir, { sync: true });
      assert.ok(outcome instanceof StorePersistError, `${what}: ${String(outcome)}`);
      assert.match(outcome.message, new RegExp(`^Could not write the lock of store ${dir}: (ENOSPC|EACCES|EIO)`));
      assert.deepEqual(await readdir(dir), [], what);
    }
  });

  test('the link fails otherwise than EEXIST: StorePersistError, temp removed, and the name no longer in use', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    let temp = '';
    const outcome = await attempt(
      {
        ...nodeFs,
        link: (from) => {
          temp = path.basename(from);
          assert.equal(lockTempInUse(temp), true, 'the candidate is in use while it is linked');
          return Promise.reject(errnoError('EPERM', 'link', from));
        },
      },
      dir,
    );
    assert.ok(outcome instanceof StorePersistError, String(outcome));
    assert.match(outcome.message, new RegExp(`^Could not take the lock of store ${dir}: EPERM`));
    assert.deepEqual(await readdir(dir), []);
    assert.equal(lockTempInUse(temp), false);
  });

  test('LOCK linked but it cannot be opened: given back (removed), StorePersistError', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    const outcome = await attempt({ ...nodeFs, open: (file, flags, mode) => (isLock(file) ? Promise.reject(errnoError('EMFILE', 'open', file)) : nodeFs.open(file, flags, mode)) }, dir);
    assert.ok(outcome instanceof StorePersistError, String(outcome));
    assert.match(outcome.message, /EMFILE/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('LOCK linked and opened but its fstat fails: the descriptor is closed and the LOCK given back', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    const open = new Set<number>();
    const outcome = await attempt(
      {
        ...nodeFs,
        open: async (file, flags, mode) => {
          const fd = await nodeFs.open(file, flags, mode);
          open.add(fd);
          return fd;
        },
        close: (fd) => {
          open.delete(fd);
          return nodeFs.close(fd);
        },
        fstat: () => Promise.reject(errnoError('EIO', 'fstat', 'x')),
      },
      dir,
    );
    assert.ok(outcome instanceof StorePersistError, String(outcome));
    assert.deepEqual([...open], [], 'every descriptor closed');
    assert.deepEqual(await readdir(dir), []);
  });

  test('LOCK replaced by another opener before it is given back: left alone', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    const theirs = '{"godelayq":"lock","version":2,"pid":1,"host":"h","nonce":"theirs","since":""}';
    const outcome = await attempt(
      {
        ...nodeFs,
        open: async (file, flags, mode) => {
          if (!isLock(file)) return nodeFs.open(file, flags, mode);
          await rm(file);
          await writeFile(file, theirs);
          throw errnoError('EMFILE', 'open', file);
        },
      },
      dir,
    );
    assert.ok(outcome instanceof StorePersistError, String(outcome));
    assert.equal(await readFile(path.join(dir, 'LOCK'), 'utf8'), theirs);
  });
});

describe('a LOCK that comes and goes while it is taken', () => {
  test('LOCK removed between the link and the check (another process cleaned it): the descriptor closed, linked again, taken', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    let links = 0;
    let removed = false;
    let closes = 0;
    const layer: FsLayer = {
      ...nodeFs,
      link: (from, to) => {
        if (isLock(to)) links++;
        return nodeFs.link(from, to);
      },
      stat: async (file) => {
        if (isLock(file) && !removed) {
          removed = true;
          await rm(file);
        }
        return nodeFs.stat(file);
      },
      close: (fd) => {
        closes++;
        return nodeFs.close(fd);
      },
    };
    const outcome = await attempt(layer, dir);
    const lock = taken(outcome);
    assert.equal(links, 2);
    assert.equal(closes, 2, 'the candidate, and the descriptor of the LOCK that was not ours');
    assert.equal((await lockJson(dir)).nonce, lock.nonce);
    assert.equal(await lock.check(), undefined);
    await lock.release();
  });

  test('LOCK replaced by another file between the link and the check: not ours; the new LOCK is judged (a dead holder: taken over)', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    let replaced = false;
    const layer: FsLayer = {
      ...nodeFs,
      stat: async (file) => {
        if (isLock(file) && !replaced) {
          replaced = true;
          await rm(file);
          await writeFile(file, JSON.stringify({ godelayq: 'lock', version: 2, pid: process.pid, host: 'h', nonce: 'gone', since: '' }));
        }
        return nodeFs.stat(file);
      },
    };
    const clock = new VirtualClock(CT0);
    const outcome = DirLock.acquire(layer, dir, options({ clock }));
    // Another host's LOCK is watched: move the clock until it is stale.
    let settled = false;
    void outcome.finally(() => (settled = true)).catch(() => undefined);
    while (!settled) {
      await until(() => settled || clock.pendingTimers > 0);
      if (!settled) await clock.advance(1000);
    }
    const { lock, previous } = await outcome;
    assert.equal(previous?.nonce, 'gone');
    assert.equal((await lockJson(dir)).nonce, lock.nonce);
    await lock.release();
  });

  test('the name LOCK leads to a file of the same inode on another device: not ours (our own LOCK then holds us off)', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    let other = true;
    const layer: FsLayer = {
      ...nodeFs,
      stat: async (file) => {
        const s = await nodeFs.stat(file);
        if (!isLock(file) || !other) return s;
        other = false;
        return { ...s, dev: s.dev + 1 };
      },
    };
    const outcome = await attempt(layer, dir);
    assert.ok(outcome instanceof StoreLockedError, String(outcome));
    assert.match(outcome.message, /another JsonFileStore in this process holds it/);
  });

  test('LOCK found, then gone before it could be read (released meanwhile): linked again, nothing taken over', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    let refusals = 1;
    const layer: FsLayer = {
      ...nodeFs,
      link: (from, to) => (isLock(to) && refusals-- > 0 ? Promise.reject(errnoError('EEXIST', 'link', to)) : nodeFs.link(from, to)),
    };
    const outcome = await attempt(layer, dir);
    if (outcome instanceof Error) throw outcome;
    assert.equal(outcome.previous, undefined);
    await outcome.lock.release();
  });

  test('openers that keep taking it (LOCK always there, always gone when read): StoreLockedError after 2000 tries', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    let links = 0;
    const layer: FsLayer = {
      ...nodeFs,
      link: (from, to) => {
        if (!isLock(to)) return nodeFs.link(from, to);
        links++;
        return Promise.reject(errnoError('EEXIST', 'link', to));
      },
    };
    const outcome = await attempt(layer, dir);
    assert.ok(outcome instanceof StoreLockedError, String(outcome));
    assert.equal(links, 2000);
    assert.equal(outcome.pid, 0);
    assert.equal(outcome.ageMs, undefined);
    assert.match(outcome.message, /\(other processes kept taking it over; locked since an unknown time\. A holder that is gone is taken over: at once on this machine, else once LOCK has not changed for `staleLockMs` \(10000 ms\)\. To break the lock, stop that process, or delete .*LOCK once sure no process uses the store\)$/);
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('holding the lock', () => {
  test('a heartbeat whose rewrite fails still checks, and writes again at the next beat', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    let failWrites = 0;
    const layer: FsLayer = { ...nodeFs, write: (fd, b, o, l, p) => (failWrites-- > 0 ? Promise.reject(errnoError('EIO', 'write', 'x')) : nodeFs.write(fd, b, o, l, p)) };
    const clock = new VirtualClock(CT0);
    const lock = taken(await attempt(layer, dir, { clock }));
    const lost: string[] = [];
    lock.startHeartbeat(clock, 1000, () => ({ gen: 1, length: 5 }), (why) => lost.push(why));
    failWrites = 1;
    await clock.advance(1000);
    await until(() => clock.pendingTimers > 0);
    assert.equal((await lockJson(dir)).beat, 0, 'the failed rewrite left the old content');
    await clock.advance(1000);
    await until(async () => (await lockJson(dir)).beat === 2);
    assert.deepEqual(lost, []);
    await lock.release();
  });

  test('a check that cannot tell (EIO) is tried again at the next beat, and reports nothing', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    let failStats = 0;
    const layer: FsLayer = { ...nodeFs, stat: (file) => (isLock(file) && failStats-- > 0 ? Promise.reject(errnoError('EIO', 'stat', file)) : nodeFs.stat(file)) };
    const clock = new VirtualClock(CT0);
    const lock = taken(await attempt(layer, dir, { clock }));
    await assert.rejects(
      (async () => {
        failStats = 1;
        return lock.check();
      })(),
      /EIO/,
    );
    const lost: string[] = [];
    lock.startHeartbeat(clock, 1000, () => ({ gen: 1, length: 5 }), (why) => lost.push(why));
    failStats = 1;
    await clock.advance(1000);
    await until(() => clock.pendingTimers > 0);
    await clock.advance(1000);
    await until(async () => (await lockJson(dir)).beat === 2 && clock.pendingTimers > 0);
    assert.deepEqual(lost, []);
    await lock.release();
  });

  test('the store folder replaced by a file (ENOTDIR), or LOCK removed: reported as removed', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    let notDir = false;
    const layer: FsLayer = { ...nodeFs, stat: (file) => (isLock(file) && notDir ? Promise.reject(errnoError('ENOTDIR', 'stat', file)) : nodeFs.stat(file)) };
    const lock = taken(await attempt(layer, dir));
    notDir = true;
    assert.equal(await lock.check(), `${path.join(dir, 'LOCK')} was removed (or the store folder was removed or moved)`);
    notDir = false;
    await rm(path.join(dir, 'LOCK'));
    assert.equal(await lock.check(), `${path.join(dir, 'LOCK')} was removed (or the store folder was removed or moved)`);
    await lock.release();
  });

  test('release when the check cannot tell: LOCK left, its descriptor closed', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    let fail = false;
    let closed = 0;
    const layer: FsLayer = {
      ...nodeFs,
      stat: (file) => (isLock(file) && fail ? Promise.reject(errnoError('EIO', 'stat', file)) : nodeFs.stat(file)),
      close: (fd) => {
        closed++;
        return nodeFs.close(fd);
      },
    };
    const lock = taken(await attempt(layer, dir));
    const before = closed;
    fail = true;
    await lock.release();
    assert.equal(closed, before + 1);
    assert.equal((await lockJson(dir)).nonce, lock.nonce, 'not removed when it could not be told ours');
  });
});

describe('the takeover guard (LOCK.takeover)', () => {
  test('a dead taker’s guard is removed only if it is still that guard: one a live taker wrote meanwhile is left alone', async () => {
    const dir = await tempDir('godelayq-acq-', true);
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    const pidns = (await nodeFs.stat('/proc/self/ns/pid')).ino;
    const stat = await readFile(`/proc/${process.ppid}/stat`, 'utf8');
    const parentStart = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const dead = (nonce: string, pid: number): string => JSON.stringify({ godelayq: 'lock', version: 2, pid, host: 'h', nonce, since: '', boot, pidns, start: 1 });
    const deadPidOnce = 2 ** 22 + 12345; // above the largest pid_max Linux allows (2^22): no such process
    await writeFile(path.join(dir, 'LOCK'), dead('stale', deadPidOnce));
    await writeFile(path.join(dir, 'LOCK.takeover'), dead('dead-taker', deadPidOnce));
    const live = JSON.stringify({ godelayq: 'lock', version: 2, pid: process.ppid, host: 'h', nonce: 'live-taker', since: '', boot, pidns, start: parentStart });
    const guard = path.join(dir, 'LOCK.takeover');
    let guardReads = 0;
    const removedLive: string[] = [];
    const layer: FsLayer = {
      ...nodeFs,
      readFile: async (file) => {
        if (file !== guard) return nodeFs.readFile(file);
        guardReads++;
        // Between judging the dead guard and re-reading it, a live taker replaced it…
        if (guardReads === 2) {
          await rm(guard);
          await writeFile(guard, live);
        }
        // …and later finished (its guard gone).
        if (guardReads === 4) await rm(guard);
        return nodeFs.readFile(file);
      },
      unlink: async (file) => {
        if (file === guard && (await readFile(guard, 'utf8').catch(() => '')) === live) removedLive.push(file);
        return nodeFs.unlink(file);
      },
    };
    const outcome = await attempt(layer, dir);
    if (outcome instanceof Error) throw outcome;
    assert.deepEqual(removedLive, [], 'the live taker’s guard was never removed');
    assert.ok(guardReads >= 4, String(guardReads));
    assert.equal(outcome.previous?.nonce, 'stale');
    await outcome.lock.release();
  });
});
