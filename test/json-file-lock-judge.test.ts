// How the JsonFileStore lock (src/store/json-file/lock.ts) reads and judges a
// LOCK it finds, driven through DirLock.acquire on a VirtualClock: what
// parseLock accepts; a machine without /proc, where a live pid cannot be
// told from a reused one; a LOCK that disappears or changes while it is
// watched; an unreadable takeover guard; I/O errors; release and heartbeat
// after release. json-file-lock.test.ts covers the store-level cases.
import assert from 'node:assert/strict';
import { readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { VirtualClock } from '../src/clock.js';
import { StoreLockedError, StorePersistError } from '../src/errors.js';
import { type FsLayer, errnoError, nodeFs } from '../src/store/json-file/fs.js';
import { DirLock, type LockContent, parseLock } from '../src/store/json-file/lock.js';
import { CT0, deadPid, removeTempDirs, tempDir } from './json-file-helpers.js';
import { until } from './helpers.js';

after(removeTempDirs);

/** A live process other than this one: the parent, alive while this file runs (no process started per test). */
const otherLivePid = (): number => process.ppid;
let deadOnce: Promise<number> | undefined;
/** A pid whose process has exited, found once per file. */
const aDeadPid = (): Promise<number> => (deadOnce ??= deadPid());

/** nodeFs on a machine with no /proc (another OS, or /proc not mounted). */
const noProc: FsLayer = {
  ...nodeFs,
  readFile: (file) => (file.startsWith('/proc/') ? Promise.reject(errnoError('ENOENT', 'open', file)) : nodeFs.readFile(file)),
  stat: (file) => (file.startsWith('/proc/') ? Promise.reject(errnoError('ENOENT', 'stat', file)) : nodeFs.stat(file)),
};

const STALE_MS = 10_000;

/**
 * DirLock.acquire on a VirtualClock; each time it waits on the clock,
 * calls `onWait(n)` (n counts the waits) and moves the clock on `step` ms.
 */
async function acquireAdvancing(
  layer: FsLayer,
  dir: string,
  clock: VirtualClock,
  onWait: (n: number) => Promise<void> = async () => undefined,
  step = 500,
): Promise<{ lock: DirLock; previous: LockContent | undefined } | Error> {
  let settled = false;
  const outcome = DirLock.acquire(layer, dir, { clock, staleLockMs: STALE_MS, sync: false }).then(
    (r) => r,
    (e: unknown) => e as Error,
  );
  void outcome.then(() => (settled = true));
  for (let n = 0; n < 1000 && !settled; n++) {
    await until(() => settled || clock.pendingTimers > 0);
    if (settled) break;
    await onWait(n);
    await clock.advance(step);
  }
  return outcome;
}

function writeLock(dir: string, content: Record<string, unknown> | Buffer, name = 'LOCK'): Promise<void> {
  return writeFile(path.join(dir, name), Buffer.isBuffer(content) ? content : JSON.stringify(content));
}

function acquired(outcome: Awaited<ReturnType<typeof acquireAdvancing>>): { lock: DirLock; previous: LockContent | undefined } {
  if (outcome instanceof Error) throw outcome;
  return outcome;
}

async function lockPid(dir: string): Promise<number> {
  return (JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as { pid: number }).pid;
}

describe('parseLock', () => {
  const parse = (v: unknown): LockContent | undefined => parseLock(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));

  test('a version-1 lock: host from hostname, since from createdAt', () => {
    assert.deepEqual(parse({ pid: 7, hostname: 'h', nonce: 'n', createdAt: '2020-01-01T00:00:00Z' }), {
      version: 1,
      pid: 7,
      host: 'h',
      nonce: 'n',
      since: '2020-01-01T00:00:00Z',
    });
  });

  test('a version-2 lock keeps its finite numbers and sync: true only', () => {
    const full = { godelayq: 'lock', version: 3, pid: 7, host: 'h', nonce: 'n', since: 's', boot: 'b', pidns: 1, start: 2, beat: 3, sync: true, journal: 4, length: 5 };
    const { godelayq: _g, ...want } = full;
    assert.deepEqual(parse(full), want);
    assert.deepEqual(parse({ godelayq: 'lock', pid: 7, nonce: 'n', beat: '3', start: Number.MAX_VALUE * 2, sync: 'yes', boot: 1 }), {
      version: 2,
      pid: 7,
      host: '',
      nonce: 'n',
      since: '',
    });
    // JSON has no Infinity: 1e999 parses to it, and is not kept.
    assert.equal(parse('{"godelayq":"lock","pid":7,"nonce":"n","beat":1e999}')?.beat, undefined);
  });

  test('not a lock: no pid, no nonce, null, not JSON', () => {
    for (const raw of ['{"nonce":"n"}', '{"pid":1}', '{"pid":"1","nonce":"n"}', 'null', '{"pid":1,', '']) {
      assert.equal(parseLock(Buffer.from(raw)), undefined, raw);
    }
  });
});

describe('a machine without /proc: a live pid of this host cannot be told from a reused one', () => {
  test('its heartbeat unchanged for staleLockMs: taken over, and what it said is returned as previous', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const pid = otherLivePid();
    await writeLock(dir, { godelayq: 'lock', version: 2, pid, host: os.hostname(), nonce: 'old', since: 'then', journal: 3, length: 99 });
    const clock = new VirtualClock(CT0);
    const { lock, previous } = acquired(await acquireAdvancing(noProc, dir, clock));
    assert.ok(clock.now() - CT0 >= STALE_MS, `waited ${clock.now() - CT0} ms`);
    assert.equal(previous?.nonce, 'old');
    assert.equal(previous?.length, 99);
    assert.equal(await lockPid(dir), process.pid);
    await lock.release();
  });

  test('its heartbeat changes while watched: StoreLockedError saying so, LOCK left as it is', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const pid = otherLivePid();
    const holder = { godelayq: 'lock', version: 2, pid, host: os.hostname(), nonce: 'old', since: 'then', beat: 1 };
    await writeLock(dir, holder);
    const clock = new VirtualClock(CT0);
    const outcome = await acquireAdvancing(noProc, dir, clock, async (n) => {
      if (n === 3) await writeLock(dir, { ...holder, beat: 2 });
    });
    assert.ok(outcome instanceof StoreLockedError, String(outcome));
    assert.equal(outcome.pid, pid);
    assert.match(outcome.message, new RegExp(`process ${pid} exists, but nothing tells whether it is the holder, and its heartbeat changed while watched`));
    assert.equal(JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')).beat, 2);
  });

  test('a pid of this host that is gone, or this process when no store here holds it: taken over at once', async () => {
    for (const pid of [await aDeadPid(), process.pid]) {
      const dir = await tempDir('godelayq-judge-', true);
      await writeLock(dir, { godelayq: 'lock', version: 2, pid, host: os.hostname(), nonce: 'old', since: 'then' });
      const clock = new VirtualClock(CT0);
      const { lock, previous } = acquired(await acquireAdvancing(noProc, dir, clock));
      assert.equal(clock.now(), CT0, 'no wait');
      assert.equal(previous?.pid, pid);
      await lock.release();
    }
  });

  test('this process holding it through another DirLock: StoreLockedError at once', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const clock = new VirtualClock(CT0);
    const first = acquired(await acquireAdvancing(noProc, dir, clock));
    const second = await acquireAdvancing(noProc, dir, clock);
    assert.ok(second instanceof StoreLockedError, String(second));
    assert.match(second.message, /another JsonFileStore in this process holds it/);
    assert.equal(clock.now(), CT0);
    await first.lock.release();
  });
});

describe('a LOCK that changes while it is watched', () => {
  test('removed while watched (its holder closed): acquired at once after, no takeover', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    await writeLock(dir, { godelayq: 'lock', version: 2, pid: 4242, host: 'elsewhere.example', nonce: 'old', since: 'then' });
    const clock = new VirtualClock(CT0);
    const { lock, previous } = acquired(
      await acquireAdvancing(nodeFs, dir, clock, async (n) => {
        if (n === 2) await rm(path.join(dir, 'LOCK'));
      }),
    );
    assert.equal(previous, undefined, 'a LOCK its holder removed was not taken over');
    assert.ok(clock.now() - CT0 < STALE_MS);
    assert.equal(await lockPid(dir), process.pid);
    await lock.release();
  });

  test('unreadable content that changes while watched: StoreLockedError that knows no holder', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    await writeLock(dir, Buffer.from('{"godelayq":"lock","pid":'));
    const clock = new VirtualClock(CT0);
    const outcome = await acquireAdvancing(nodeFs, dir, clock, async (n) => {
      if (n === 1) await writeLock(dir, Buffer.from('{"godelayq":"lock","pid":9'));
    });
    assert.ok(outcome instanceof StoreLockedError, String(outcome));
    assert.equal(outcome.pid, 0);
    assert.match(outcome.message, /its content is unreadable, and its heartbeat changed while watched; locked since an unknown time, LOCK last written \d+ s ago/);
  });
});

describe('the takeover guard (LOCK.takeover)', () => {
  test('a guard whose content is unreadable: watched like a LOCK, removed once stale, then the stale LOCK is taken over', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const pid = await aDeadPid();
    await writeLock(dir, { godelayq: 'lock', version: 2, pid, host: os.hostname(), nonce: 'old', since: 'then' });
    // A taker's guard torn by a power cut: its content is unreadable.
    await writeLock(dir, Buffer.alloc(64), 'LOCK.takeover');
    const clock = new VirtualClock(CT0);
    // A dead pid on this machine is judged at once: only the guard is waited on.
    const { lock, previous } = acquired(await acquireAdvancing(nodeFs, dir, clock));
    assert.ok(clock.now() - CT0 >= STALE_MS, `waited ${clock.now() - CT0} ms for the guard`);
    assert.equal(previous?.pid, pid);
    await lock.release();
  });

  test('a guard that changes while watched belongs to a live taker: left alone, and the lock is retried', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const pid = await aDeadPid();
    await writeLock(dir, { godelayq: 'lock', version: 2, pid, host: os.hostname(), nonce: 'old', since: 'then' });
    await writeLock(dir, Buffer.from('{"torn'), 'LOCK.takeover');
    const clock = new VirtualClock(CT0);
    const outcome = await acquireAdvancing(nodeFs, dir, clock, async (n) => {
      // The other taker moves on: it rewrites its guard, then finishes (removes it).
      if (n === 1) await writeLock(dir, Buffer.from('{"torn, rewritten'), 'LOCK.takeover');
      if (n === 5) await rm(path.join(dir, 'LOCK.takeover'));
    });
    const { lock, previous } = acquired(outcome);
    assert.equal(previous?.pid, pid);
    await lock.release();
  });
});

describe('I/O errors and release', () => {
  test('LOCK that cannot be read (EACCES): StorePersistError, no LOCK of ours left', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    await writeLock(dir, { godelayq: 'lock', version: 2, pid: 4242, host: 'elsewhere.example', nonce: 'old', since: 'then' });
    const denied: FsLayer = {
      ...nodeFs,
      readFile: (file) => (path.basename(file) === 'LOCK' ? Promise.reject(errnoError('EACCES', 'open', file)) : nodeFs.readFile(file)),
    };
    const outcome = await acquireAdvancing(denied, dir, new VirtualClock(CT0));
    assert.ok(outcome instanceof StorePersistError, String(outcome));
    assert.match(outcome.message, /^Could not take the lock of store .*EACCES/);
    assert.equal((JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as { nonce: string }).nonce, 'old');
  });

  test('release is idempotent, and a heartbeat due after release neither writes nor reports a loss', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const clock = new VirtualClock(CT0);
    const { lock } = acquired(await acquireAdvancing(nodeFs, dir, clock));
    const lost: string[] = [];
    lock.startHeartbeat(clock, 1000, () => ({ gen: 1, length: 10 }), (why) => lost.push(why));
    await clock.advance(1000);
    await until(async () => (JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as { beat: number }).beat === 1);
    await lock.release();
    await lock.release();
    await clock.advance(5000);
    assert.deepEqual(lost, []);
    await assert.rejects(readFile(path.join(dir, 'LOCK')), { code: 'ENOENT' });
  });

  test('a heartbeat that finds LOCK replaced reports the loss once, and beats no more', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const clock = new VirtualClock(CT0);
    const { lock } = acquired(await acquireAdvancing(nodeFs, dir, clock));
    const lost: string[] = [];
    lock.startHeartbeat(clock, 1000, () => ({ gen: 1, length: 10 }), (why) => lost.push(why));
    await rm(path.join(dir, 'LOCK'));
    await writeLock(dir, { godelayq: 'lock', version: 2, pid: 1, host: 'other', nonce: 'theirs', since: 'now' });
    await clock.advance(1000);
    await until(() => lost.length > 0);
    await clock.advance(5000);
    assert.deepEqual(lost, [`${path.join(dir, 'LOCK')} was replaced (another process took the store)`]);
    assert.equal(clock.pendingTimers, 0);
    await lock.release();
    assert.equal((JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as { nonce: string }).nonce, 'theirs', 'release leaves a LOCK that is not ours');
  });
});

/** What a fake /proc says (every /proc read goes through the fs layer). */
interface FakeProc {
  boot?: string;
  pidns?: number;
  /** Start ticks by pid ('self' is this process). */
  starts?: { [pid: number]: number; self?: number };
  /** Boot time, epoch seconds (/proc/stat btime). */
  btime?: number;
}

function procStat(pid: number | string, start: number): Buffer {
  // Field 22 (start time) counted from the last ')': name with a space and a ')' in it.
  return Buffer.from(`${pid} (no de) x) S ${Array.from({ length: 18 }, () => '0').join(' ')} ${start} 0 0\n`);
}

/** nodeFs with /proc answered from `p`; anything it does not know is ENOENT. */
function fakeProc(p: FakeProc): FsLayer {
  const missing = (op: string, file: string): Promise<never> => Promise.reject(errnoError('ENOENT', op, file));
  return {
    ...nodeFs,
    readFile: (file) => {
      if (!file.startsWith('/proc/')) return nodeFs.readFile(file);
      if (file === '/proc/sys/kernel/random/boot_id') return p.boot === undefined ? missing('open', file) : Promise.resolve(Buffer.from(`${p.boot}\n`));
      if (file === '/proc/stat') return p.btime === undefined ? missing('open', file) : Promise.resolve(Buffer.from(`cpu 1 2 3\nbtime ${p.btime}\nprocesses 9\n`));
      const m = /^\/proc\/(self|\d+)\/stat$/.exec(file);
      const key = m?.[1] === 'self' ? 'self' : Number(m?.[1]);
      const start = m ? p.starts?.[key] : undefined;
      return start === undefined ? missing('open', file) : Promise.resolve(procStat(m?.[1] ?? '', start));
    },
    stat: (file) => {
      if (!file.startsWith('/proc/')) return nodeFs.stat(file);
      if (file === '/proc/self/ns/pid' && p.pidns !== undefined) return Promise.resolve({ size: 0, ino: p.pidns, dev: 4, nlink: 1, mtimeMs: 0, isFile: false, isDirectory: false });
      return missing('stat', file);
    },
  };
}

const BOOT = 'boot-1';
const NS = 4026531836;
const SELF_START = 5000;
const thisKernel = (extra: FakeProc = {}): FsLayer => fakeProc({ boot: BOOT, pidns: NS, btime: 1_700_000_000, ...extra, starts: { self: SELF_START, ...extra.starts } });

describe('judging a holder on this kernel (boot id and pid namespace equal), /proc faked', () => {
  const lockOf = (over: Record<string, unknown>): Record<string, unknown> => ({ godelayq: 'lock', version: 2, host: os.hostname(), nonce: 'old', since: '2026-01-01T00:00:00.000Z', boot: BOOT, pidns: NS, ...over });

  test('a running pid that started when the lock says: live at once, StoreLockedError naming it', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const pid = otherLivePid();
    await writeLock(dir, lockOf({ pid, start: 777 }));
    const clock = new VirtualClock(CT0);
    const outcome = await acquireAdvancing(thisKernel({ starts: { [pid]: 777 } }), dir, clock);
    assert.ok(outcome instanceof StoreLockedError, String(outcome));
    assert.equal(clock.now(), CT0, 'judged without waiting');
    assert.equal(outcome.pid, pid);
    assert.equal(outcome.host, os.hostname());
    // Its age by the opener's clock, from LOCK's mtime.
    const { mtimeMs } = await stat(path.join(dir, 'LOCK'));
    assert.equal(outcome.ageMs, CT0 - mtimeMs);
    assert.match(outcome.message, new RegExp(`\\(process ${pid} is running; locked since 2026-01-01T00:00:00.000Z, LOCK last written ${Math.round((CT0 - mtimeMs) / 1000)} s ago\\. A holder that is gone`));
    // An opener whose clock is behind the LOCK's mtime: age 0, never negative.
    const behind = await acquireAdvancing(thisKernel({ starts: { [pid]: 777 } }), dir, new VirtualClock(mtimeMs - 86_400_000));
    assert.ok(behind instanceof StoreLockedError, String(behind));
    assert.equal(behind.ageMs, 0);
    assert.match(behind.message, /LOCK last written 0 s ago/);
  });

  test('a running pid that started at another time (reused), or whose start cannot be read (gone meanwhile): taken over at once', async () => {
    for (const starts of [{ self: SELF_START }, { self: SELF_START, reused: 778 }]) {
      const dir = await tempDir('godelayq-judge-', true);
      const pid = otherLivePid();
      await writeLock(dir, lockOf({ pid, start: 777, journal: 2, length: 40 }));
      const clock = new VirtualClock(CT0);
      const proc: { [pid: number]: number; self?: number } = { self: SELF_START };
      if ('reused' in starts) proc[pid] = starts.reused;
      const { lock, previous } = acquired(await acquireAdvancing(thisKernel({ starts: proc }), dir, clock));
      assert.equal(clock.now(), CT0);
      assert.equal(previous?.pid, pid);
      assert.equal(previous?.length, 40);
      await lock.release();
    }
  });

  test('this pid started at another time (an earlier process of this pid): taken over at once; at this start time and not held here: taken over too', async () => {
    for (const start of [SELF_START - 1, SELF_START]) {
      const dir = await tempDir('godelayq-judge-', true);
      await writeLock(dir, lockOf({ pid: process.pid, start }));
      const clock = new VirtualClock(CT0);
      const { lock, previous } = acquired(await acquireAdvancing(thisKernel({ starts: { [process.pid]: SELF_START } }), dir, clock));
      assert.equal(clock.now(), CT0);
      assert.equal(previous?.start, start);
      await lock.release();
    }
  });

  test('this process, held by another DirLock of it: live, whatever the other fields', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const layer = thisKernel();
    const clock = new VirtualClock(CT0);
    const first = acquired(await acquireAdvancing(layer, dir, clock));
    const written = JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      { pid: written.pid, host: written.host, boot: written.boot, pidns: written.pidns, start: written.start, beat: written.beat, godelayq: written.godelayq, version: written.version },
      { pid: process.pid, host: os.hostname(), boot: BOOT, pidns: NS, start: SELF_START, beat: 0, godelayq: 'lock', version: 2 },
    );
    assert.equal(written.sync, undefined);
    const second = await acquireAdvancing(layer, dir, clock);
    assert.ok(second instanceof StoreLockedError, String(second));
    assert.match(second.message, /another JsonFileStore in this process holds it/);
    await first.lock.release();
  });

  test('a pid that does not exist: taken over at once', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    await writeLock(dir, lockOf({ pid: await aDeadPid(), start: 1 }));
    const clock = new VirtualClock(CT0);
    const { lock } = acquired(await acquireAdvancing(thisKernel(), dir, clock));
    assert.equal(clock.now(), CT0);
    await lock.release();
  });

  test('same boot, another pid namespace (another container): cannot be judged here, watched for staleLockMs', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    await writeLock(dir, lockOf({ pid: process.pid, start: SELF_START, pidns: NS + 1 }));
    const clock = new VirtualClock(CT0);
    const { lock } = acquired(await acquireAdvancing(thisKernel(), dir, clock));
    assert.ok(clock.now() - CT0 >= STALE_MS, `waited ${clock.now() - CT0} ms`);
    await lock.release();
  });
});

describe('judging a holder of another boot of this host, or of a lock without a boot id', () => {
  test('written before this machine booted: taken over at once; written after (another container): watched', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const pid = otherLivePid();
    const lock = { godelayq: 'lock', version: 2, pid, host: os.hostname(), nonce: 'old', since: 's', boot: 'an-older-boot', pidns: NS, start: 1 };
    await writeLock(dir, lock);
    // mtime is now: boot time 10 s after it means the lock is older than this boot.
    const bootAfter = Math.ceil(Date.now() / 1000) + 10;
    const clock = new VirtualClock(CT0);
    const taken = acquired(await acquireAdvancing(thisKernel({ btime: bootAfter }), dir, clock));
    assert.equal(clock.now(), CT0);
    await taken.lock.release();

    await writeLock(dir, lock);
    const bootBefore = Math.floor(Date.now() / 1000) - 3600;
    const watchedClock = new VirtualClock(CT0);
    const outcome = await acquireAdvancing(thisKernel({ btime: bootBefore }), dir, watchedClock, async (n) => {
      if (n === 2) await writeLock(dir, { ...lock, beat: 1 });
    });
    assert.ok(outcome instanceof StoreLockedError, String(outcome));
    assert.match(outcome.message, /it was taken on another boot or container of this host, and its heartbeat changed while watched/);
    // Written exactly when this machine booted: not before it, so watched.
    await rm(path.join(dir, 'LOCK'));
    await writeLock(dir, lock);
    const atBoot = new Date(bootBefore * 1000);
    await utimes(path.join(dir, 'LOCK'), atBoot, atBoot);
    const atBootClock = new VirtualClock(CT0);
    const atBootLock = acquired(await acquireAdvancing(thisKernel({ btime: bootBefore }), dir, atBootClock));
    assert.ok(atBootClock.now() - CT0 >= STALE_MS, `waited ${atBootClock.now() - CT0} ms`);
    await atBootLock.lock.release();
    // Boot time unknown (no /proc/stat): watched as well.
    await rm(path.join(dir, 'LOCK'), { force: true });
    await writeLock(dir, lock);
    const unknownClock = new VirtualClock(CT0);
    const noBtime = fakeProc({ boot: BOOT, pidns: NS, starts: { self: SELF_START } });
    const watched = acquired(await acquireAdvancing(noBtime, dir, unknownClock));
    assert.ok(unknownClock.now() - CT0 >= STALE_MS);
    await watched.lock.release();
  });

  test('another host: watched, and named in the error; a lock naming no host says so', async () => {
    for (const [host, want] of [
      ['far.example', /it was taken on host far\.example, and its heartbeat changed/],
      ['', /it was taken on host \(unknown\), and its heartbeat changed/],
    ] as const) {
      const dir = await tempDir('godelayq-judge-', true);
      const lock = { godelayq: 'lock', version: 2, pid: process.pid, host, nonce: 'old', since: '', boot: 'far-boot', pidns: NS, start: SELF_START };
      await writeLock(dir, lock);
      const clock = new VirtualClock(CT0);
      const outcome = await acquireAdvancing(thisKernel(), dir, clock, async (n) => {
        if (n === 1) await writeLock(dir, { ...lock, beat: 9 });
      });
      assert.ok(outcome instanceof StoreLockedError, String(outcome));
      assert.match(outcome.message, want);
      assert.match(outcome.message, /locked since an unknown time/);
      assert.equal(outcome.host, host);
    }
  });

  test('a version-2 lock of this host without a boot id, read on a machine with /proc: watched, never judged by pid', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    await writeLock(dir, { godelayq: 'lock', version: 2, pid: process.pid, host: os.hostname(), nonce: 'old', since: 's' });
    const clock = new VirtualClock(CT0);
    const { lock } = acquired(await acquireAdvancing(thisKernel(), dir, clock));
    assert.ok(clock.now() - CT0 >= STALE_MS, `waited ${clock.now() - CT0} ms`);
    await lock.release();
  });
});

describe('judging a version-1 lock (pid, hostname, nonce, createdAt) of this host', () => {
  const BTIME = 1_700_000_000;
  // A live pid that started 100 s after boot (10000 ticks).
  const started = (BTIME + 100) * 1000;
  const v1 = (pid: number, createdAt: string): Record<string, unknown> => ({ pid, hostname: os.hostname(), nonce: 'old', createdAt });

  test('its pid started more than 2 s after the lock was taken: reused, taken over at once', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const pid = otherLivePid();
    await writeLock(dir, v1(pid, new Date(started - 2001).toISOString()));
    const clock = new VirtualClock(CT0);
    const { lock, previous } = acquired(await acquireAdvancing(thisKernel({ btime: BTIME, starts: { [pid]: 10_000 } }), dir, clock));
    assert.equal(clock.now(), CT0);
    assert.equal(previous?.version, 1);
    await lock.release();
  });

  test('its pid started before, or within 2 s after, the lock was taken: live at once', async () => {
    for (const taken of [started - 2000, started + 5000]) {
      const dir = await tempDir('godelayq-judge-', true);
      const pid = otherLivePid();
      await writeLock(dir, v1(pid, new Date(taken).toISOString()));
      const clock = new VirtualClock(CT0);
      const outcome = await acquireAdvancing(thisKernel({ btime: BTIME, starts: { [pid]: 10_000 } }), dir, clock);
      assert.ok(outcome instanceof StoreLockedError, String(outcome));
      assert.equal(clock.now(), CT0);
      assert.match(outcome.message, new RegExp(`process ${pid} is running; locked since ${new Date(taken).toISOString()}`));
    }
  });

  test('no boot time or an unreadable createdAt: live (nothing says it was reused)', async () => {
    for (const [btime, createdAt] of [
      [undefined, new Date(started - 60_000).toISOString()],
      [BTIME, 'not a date'],
    ] as const) {
      const dir = await tempDir('godelayq-judge-', true);
      const pid = otherLivePid();
      await writeLock(dir, v1(pid, createdAt));
      const clock = new VirtualClock(CT0);
      const proc: FakeProc = { boot: BOOT, pidns: NS, starts: { self: SELF_START, [pid]: 10_000 } };
      if (btime !== undefined) proc.btime = btime;
      const outcome = await acquireAdvancing(fakeProc(proc), dir, clock);
      assert.ok(outcome instanceof StoreLockedError, String(outcome));
      assert.equal(clock.now(), CT0);
    }
  });

  test('its pid running with no start time to compare: watched', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const pid = otherLivePid();
    await writeLock(dir, v1(pid, new Date(started).toISOString()));
    const clock = new VirtualClock(CT0);
    const outcome = await acquireAdvancing(thisKernel(), dir, clock, async (n) => {
      if (n === 1) await writeLock(dir, v1(pid, 'rewritten'));
    });
    assert.ok(outcome instanceof StoreLockedError, String(outcome));
    assert.match(outcome.message, new RegExp(`process ${pid} exists, but nothing tells whether it is the holder, and its heartbeat changed while watched`));
  });

  test('this pid: taken over unless another DirLock here holds it; a version-1 lock of another host is watched', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    await writeLock(dir, v1(process.pid, new Date(started).toISOString()));
    const clock = new VirtualClock(CT0);
    const { lock } = acquired(await acquireAdvancing(thisKernel(), dir, clock));
    assert.equal(clock.now(), CT0);
    await lock.release();
    await writeLock(dir, { pid: process.pid, hostname: 'far.example', nonce: 'old', createdAt: '' });
    const watchedClock = new VirtualClock(CT0);
    const watched = acquired(await acquireAdvancing(thisKernel(), dir, watchedClock));
    assert.ok(watchedClock.now() - CT0 >= STALE_MS);
    await watched.lock.release();
  });
});

describe('judging edges: what a verdict may not assume', () => {
  test('no /proc here, and a LOCK of another host whose pid does not exist here: watched, never taken over at once', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    await writeLock(dir, { godelayq: 'lock', version: 2, pid: await aDeadPid(), host: 'far.example', nonce: 'old', since: 's' });
    const clock = new VirtualClock(CT0);
    const { lock } = acquired(await acquireAdvancing(noProc, dir, clock));
    assert.ok(clock.now() - CT0 >= STALE_MS, `waited ${clock.now() - CT0} ms`);
    await lock.release();
  });

  test('this kernel, a lock without a start time, its pid running but its start unreadable: gone, taken over at once', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const pid = otherLivePid();
    await writeLock(dir, { godelayq: 'lock', version: 2, pid, host: os.hostname(), nonce: 'old', since: 's', boot: BOOT, pidns: NS });
    const clock = new VirtualClock(CT0);
    const { lock, previous } = acquired(await acquireAdvancing(thisKernel(), dir, clock));
    assert.equal(clock.now(), CT0);
    assert.equal(previous?.pid, pid);
    await lock.release();
  });

  test('a /proc without a boot id: a version-2 lock of this host, its pid running at its start time, is watched (not judged by start time)', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    const pid = otherLivePid();
    await writeLock(dir, { godelayq: 'lock', version: 2, pid, host: os.hostname(), nonce: 'old', since: new Date(CT0).toISOString(), start: 777 });
    const clock = new VirtualClock(CT0);
    const layer = fakeProc({ starts: { self: SELF_START, [pid]: 777 } });
    const { lock } = acquired(await acquireAdvancing(layer, dir, clock));
    assert.ok(clock.now() - CT0 >= STALE_MS, `waited ${clock.now() - CT0} ms`);
    await lock.release();
  });

  test('a LOCK of another host written before this machine booted: watched (another machine’s boot is not ours)', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    await writeLock(dir, { godelayq: 'lock', version: 2, pid: process.pid, host: 'far.example', nonce: 'old', since: 's', boot: 'far-boot', pidns: NS, start: 1 });
    const bootAfter = Math.ceil(Date.now() / 1000) + 10;
    const clock = new VirtualClock(CT0);
    const { lock } = acquired(await acquireAdvancing(thisKernel({ btime: bootAfter }), dir, clock));
    assert.ok(clock.now() - CT0 >= STALE_MS, `waited ${clock.now() - CT0} ms`);
    await lock.release();
  });

  test('a StoreLockedError about a LOCK nobody can read names no host', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    await writeLock(dir, Buffer.from('{"godelayq":"lock","pid":'));
    const outcome = await acquireAdvancing(nodeFs, dir, new VirtualClock(CT0), async (n) => {
      if (n === 1) await writeLock(dir, Buffer.from('{"godelayq":"lock","pid":9'));
    });
    assert.ok(outcome instanceof StoreLockedError, String(outcome));
    assert.equal(outcome.host, '');
  });
});

describe('the takeover guard: judged like a LOCK', () => {
  /** A LOCK of this kernel whose pid is gone (taken over at once), and a guard file with `guard`. */
  async function staleWithGuard(guard: Record<string, unknown>): Promise<string> {
    const dir = await tempDir('godelayq-judge-', true);
    const dead = await aDeadPid();
    await writeLock(dir, { godelayq: 'lock', version: 2, pid: dead, host: os.hostname(), nonce: 'stale', since: 's', boot: BOOT, pidns: NS, start: 1 });
    await writeLock(dir, { godelayq: 'lock', version: 2, host: os.hostname(), nonce: 'taker', since: 's', boot: BOOT, pidns: NS, ...guard }, 'LOCK.takeover');
    return dir;
  }

  test('a guard left by a taker that is gone (this kernel): removed at once, and the stale LOCK taken over', async () => {
    const dir = await staleWithGuard({ pid: await aDeadPid(), start: 2 });
    const clock = new VirtualClock(CT0);
    const { lock, previous } = acquired(await acquireAdvancing(thisKernel(), dir, clock));
    assert.equal(clock.now(), CT0, 'no wait: the taker is known to be gone');
    assert.equal(previous?.nonce, 'stale');
    await lock.release();
  });

  test('a guard of a live taker (this kernel) is never removed: the opener gives up with StoreLockedError, the guard still there', async () => {
    const pid = otherLivePid();
    const dir = await staleWithGuard({ pid, start: 777 });
    const outcome = await acquireAdvancing(thisKernel({ starts: { [pid]: 777 } }), dir, new VirtualClock(CT0));
    assert.ok(outcome instanceof StoreLockedError, String(outcome));
    assert.equal((JSON.parse(await readFile(path.join(dir, 'LOCK.takeover'), 'utf8')) as { nonce: string }).nonce, 'taker');
    assert.equal((JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as { nonce: string }).nonce, 'stale');
  });

  test('the guard cannot be created (EACCES): StorePersistError, the stale LOCK left as it is', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    await writeLock(dir, { godelayq: 'lock', version: 2, pid: await aDeadPid(), host: os.hostname(), nonce: 'stale', since: 's', boot: BOOT, pidns: NS, start: 1 });
    const base = thisKernel();
    const layer: FsLayer = {
      ...base,
      link: (from, to) => (path.basename(to) === 'LOCK.takeover' ? Promise.reject(errnoError('EACCES', 'link', to)) : base.link(from, to)),
    };
    const outcome = await acquireAdvancing(layer, dir, new VirtualClock(CT0));
    assert.ok(outcome instanceof StorePersistError, String(outcome));
    assert.match(outcome.message, /EACCES/);
    assert.equal((JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as { nonce: string }).nonce, 'stale');
  });

  test('LOCK rewritten by its holder after it was judged stale, before the guard was taken: left alone, and that holder is judged again', async () => {
    const dir = await tempDir('godelayq-judge-', true);
    await writeLock(dir, { godelayq: 'lock', version: 2, pid: await aDeadPid(), host: os.hostname(), nonce: 'stale', since: 's', boot: BOOT, pidns: NS, start: 1 });
    const pid = otherLivePid();
    const base = thisKernel({ starts: { [pid]: 777 } });
    let rewritten = false;
    const layer: FsLayer = {
      ...base,
      link: async (from, to) => {
        await base.link(from, to);
        // The guard is ours; meanwhile a live process had taken the store (a new LOCK).
        if (path.basename(to) === 'LOCK.takeover' && !rewritten) {
          rewritten = true;
          await rm(path.join(dir, 'LOCK'));
          await writeLock(dir, { godelayq: 'lock', version: 2, pid, host: os.hostname(), nonce: 'new', since: 's', boot: BOOT, pidns: NS, start: 777 });
        }
      },
    };
    const outcome = await acquireAdvancing(layer, dir, new VirtualClock(CT0));
    assert.ok(rewritten);
    assert.ok(outcome instanceof StoreLockedError, String(outcome));
    assert.equal(outcome.pid, pid);
    assert.equal((JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as { nonce: string }).nonce, 'new');
    await assert.rejects(readFile(path.join(dir, 'LOCK.takeover')), { code: 'ENOENT' }, 'the guard was given back');
  });
});

test('the takeover guard: LOCK taken by another opener before the guard, which then released it: acquired, with no previous holder (nothing was taken over)', async () => {
  const dir = await tempDir('godelayq-judge-', true);
  await writeLock(dir, { godelayq: 'lock', version: 2, pid: await aDeadPid(), host: os.hostname(), nonce: 'stale', since: 's', boot: BOOT, pidns: NS, start: 1, length: 99 });
  const base = thisKernel();
  let state: 'before' | 'replaced' | 'released' = 'before';
  const layer: FsLayer = {
    ...base,
    link: async (from, to) => {
      await base.link(from, to);
      if (path.basename(to) === 'LOCK.takeover' && state === 'before') {
        // Another opener took the store meanwhile (a new LOCK)…
        state = 'replaced';
        await rm(path.join(dir, 'LOCK'));
        await writeLock(dir, { godelayq: 'lock', version: 2, pid: process.ppid, host: os.hostname(), nonce: 'other', since: 's', boot: BOOT, pidns: NS, start: 777 });
      }
    },
    unlink: async (file) => {
      await base.unlink(file);
      // …and closed it right after our guard was given back.
      if (path.basename(file) === 'LOCK.takeover' && state === 'replaced') {
        state = 'released';
        await rm(path.join(dir, 'LOCK'));
      }
    },
  };
  const { lock, previous } = acquired(await acquireAdvancing(layer, dir, new VirtualClock(CT0)));
  assert.equal(state, 'released');
  assert.equal(previous, undefined, 'the stale LOCK was not ours to take over: another opener removed it');
  await lock.release();
});
