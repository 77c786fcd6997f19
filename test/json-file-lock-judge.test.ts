// How the JsonFileStore lock (src/store/json-file/lock.ts) reads and judges a
// LOCK it finds, driven through DirLock.acquire on a VirtualClock: what
// parseLock accepts; a machine without /proc, where a live pid cannot be
// told from a reused one; a LOCK that disappears or changes while it is
// watched; an unreadable takeover guard; I/O errors; release and heartbeat
// after release. json-file-lock.test.ts covers the store-level cases.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { VirtualClock } from '../src/clock.js';
import { StoreLockedError, StorePersistError } from '../src/errors.js';
import { type FsLayer, errnoError, nodeFs } from '../src/store/json-file/fs.js';
import { DirLock, type LockContent, parseLock } from '../src/store/json-file/lock.js';
import { CT0, deadPid, killChildren, livePid, removeTempDirs, tempDir } from './json-file-helpers.js';
import { until } from './helpers.js';

after(removeTempDirs);
after(killChildren);

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
    const pid = await livePid();
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
    const pid = await livePid();
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
    for (const pid of [await deadPid(), process.pid]) {
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
    const pid = await deadPid();
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
    const pid = await deadPid();
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
