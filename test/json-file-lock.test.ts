/**
 * The JsonFileStore lock (issue 11 items 2 and 3), in one process: held for
 * the life of the store (a heartbeat on the scheduler's clock and a check
 * after every group commit), stale locks judged by boot id, pid namespace
 * and process start time or else by an unchanged heartbeat, a clear
 * StoreLockedError, and racing takers of a stale lock (only one wins).
 * The two-process cases are in json-file-process.test.ts.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { VirtualClock } from '../src/clock.js';
import { StoreLockedError, StorePersistError } from '../src/errors.js';
import { type FsLayer, JsonFileStore, nodeFs } from '../src/index.js';
import type { JobRecord, StoreContext } from '../src/store/store.js';
import { claimAll } from './store-conformance.js';
import { CT0, allRecords, deadPid, insertOne, openStore, removeTempDirs, storeContext, tempDir } from './json-file-helpers.js';
import { until } from './helpers.js';

after(removeTempDirs);

/** A live process other than this one: the parent, alive while this file runs (no process started per test). */
const otherLivePid = (): number => process.ppid;
let deadOnce: Promise<number> | undefined;
/** A pid whose process has exited, found once per file. */
const aDeadPid = (): Promise<number> => (deadOnce ??= deadPid());

/** This machine's identity as a version-2 LOCK records it. */
async function thisMachine(): Promise<{ host: string; boot: string; pidns: number }> {
  return {
    host: os.hostname(),
    boot: (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim(),
    pidns: (await stat('/proc/self/ns/pid')).ino,
  };
}

async function startTicks(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
}

function writeLock(dir: string, content: Record<string, unknown>): Promise<void> {
  return writeFile(path.join(dir, 'LOCK'), JSON.stringify(content));
}

/**
 * Opens `store` on `clock`; each time the open waits on the clock, moves the
 * clock on by `step` (never while it is busy with I/O), until it settles.
 */
async function openAdvancing(store: JsonFileStore, context: StoreContext, clock: VirtualClock, step: number): Promise<unknown> {
  let settled = false;
  const outcome = store.open(context).then(
    () => 'opened',
    (e: unknown) => e,
  );
  void outcome.then(() => (settled = true));
  for (let i = 0; i < 10_000 && !settled; i++) {
    await until(() => settled || clock.pendingTimers > 0);
    if (!settled) await clock.advance(step);
  }
  return outcome;
}

describe('item 2: the lock is held for the life of the store', () => {
  it('LOCK removed while the holder runs: its heartbeat finds out, it stops writing, warns, reports its running attempts lost', async () => {
    const dir = await tempDir('godelayq-lock-', true);
    const lost: [string, string, string][] = [];
    const context = storeContext({ lost: (id, token, reason) => lost.push([id, token, reason]) });
    const store = new JsonFileStore(dir, { fsync: false, staleLockMs: 3000 });
    await store.open(context);
    await insertOne(store, 'a');
    const { jobs } = await store.claim(claimAll(CT0, { limit: 1 }));
    const running = jobs[0] as JobRecord;
    await rm(path.join(dir, 'LOCK'));
    await (context.clock as VirtualClock).advance(1000);
    await until(() => context.warnings.length > 0);
    assert.match(context.warnings[0] as string, /stopped writing: it lost its lock: .*LOCK was removed/);
    assert.deepEqual(lost, [[running.id, running.token, 'lock']]);
    await assert.rejects(insertOne(store, 'b'), (e: unknown) => e instanceof StorePersistError && /lost its lock/.test(e.message));
    await store.close();
  });

  it('LOCK removed and taken by a second store: the first rejects its next change (checked after every group commit); nothing acknowledged is lost', async () => {
    const dir = await tempDir('godelayq-lock-', true);
    const { store: first } = await openStore(dir, { fsync: false });
    await insertOne(first, 'a1');
    await rm(path.join(dir, 'LOCK'));
    const { store: second } = await openStore(dir, { fsync: false });
    for (let i = 0; i < 5; i++) await insertOne(second, `b${i}`);
    await assert.rejects(insertOne(first, 'a2'), (e: unknown) => e instanceof StorePersistError && /LOCK was replaced/.test(e.message) && e.outcomeUnknown);
    await insertOne(second, 'b5');
    const expected = await allRecords(second);
    await first.close();
    await second.close();
    const { store: again } = await openStore(dir, { fsync: false });
    assert.deepEqual(await allRecords(again), expected);
    assert.deepEqual((await allRecords(again)).map((r) => r.id), ['a1', 'b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
    await again.close();
  });
});

describe('item 3: stale locks', () => {
  it("another host's lock whose heartbeat does not change for staleLockMs (by the opener's clock) is taken over", async () => {
    const dir = await tempDir('godelayq-lock-', true);
    await writeLock(dir, { pid: 999_999, hostname: 'elsewhere.example', nonce: 'n', createdAt: '2020-01-01T00:00:00Z' });
    const clock = new VirtualClock(CT0);
    const store = new JsonFileStore(dir, { fsync: false, staleLockMs: 10_000 });
    const outcome = await openAdvancing(store, storeContext({ clock }), clock, 500);
    assert.equal(outcome, 'opened');
    assert.ok(clock.now() - CT0 >= 10_000, `waited ${clock.now() - CT0} ms of the clock`);
    assert.ok(clock.now() - CT0 <= 10_500, `waited ${clock.now() - CT0} ms of the clock`);
    const lock = JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as { pid: number };
    assert.equal(lock.pid, process.pid);
    await store.close();
  });

  it('a LOCK torn by a power cut (its content unreadable) is taken over once it has not changed for staleLockMs', async () => {
    const dir = await tempDir('godelayq-lock-', true);
    const { store: first } = await openStore(dir, { fsync: false });
    await insertOne(first, 'kept');
    await first.close();
    // A heartbeat cut off mid-write: half of a lock's JSON, then zeros.
    const torn = Buffer.alloc(512);
    torn.write('{"godelayq":"lock","version":2,"pid":4242,"host":"web-', 'utf8');
    await writeFile(path.join(dir, 'LOCK'), torn);
    const clock = new VirtualClock(CT0);
    const store = new JsonFileStore(dir, { fsync: false, staleLockMs: 10_000 });
    const outcome = await openAdvancing(store, storeContext({ clock }), clock, 500);
    assert.equal(outcome, 'opened');
    assert.ok(clock.now() - CT0 >= 10_000, `waited ${clock.now() - CT0} ms of the clock`);
    assert.deepEqual((await allRecords(store)).map((r) => r.id), ['kept']);
    await store.close();
  });

  it("another host's live lock (its heartbeat moves): StoreLockedError naming host, pid, age and how to break it", async () => {
    const dir = await tempDir('godelayq-lock-', true);
    const holder = { godelayq: 'lock', version: 2, pid: 4242, host: 'web-2', boot: 'b', pidns: 1, start: 1, nonce: 'n', since: '2027-01-01T00:00:00.000Z', beat: 1 };
    await writeLock(dir, holder);
    const clock = new VirtualClock(CT0);
    const store = new JsonFileStore(dir, { fsync: false, staleLockMs: 10_000 });
    const outcome = store.open(storeContext({ clock })).then(
      () => 'opened',
      (e: unknown) => e,
    );
    // Once the opener watches (it waits on the clock), the holder beats.
    await until(() => clock.pendingTimers > 0);
    await writeLock(dir, { ...holder, beat: 2 });
    for (let i = 0; i < 100 && clock.pendingTimers > 0; i++) await clock.advance(1000);
    const error = await outcome;
    assert.ok(error instanceof StoreLockedError, String(error));
    assert.equal(error.pid, 4242);
    assert.equal(error.host, 'web-2');
    assert.equal(error.code, 'ERR_STORE_LOCKED');
    assert.equal(typeof error.ageMs, 'number');
    assert.match(error.message, /held by process 4242 on host web-2/);
    assert.match(error.message, /its heartbeat changed while watched/);
    assert.match(error.message, /locked since 2027-01-01T00:00:00.000Z, LOCK last written \d+ s ago/);
    assert.match(error.message, /`staleLockMs` \(10000 ms\)/);
    assert.match(error.message, /delete .*LOCK once sure no process uses the store/);
  });

  it('pid reuse on this machine: a live pid that started at another time than the holder is no holder (taken over at once)', async () => {
    const dir = await tempDir('godelayq-lock-', true);
    const pid = otherLivePid();
    const machine = await thisMachine();
    await writeLock(dir, { godelayq: 'lock', version: 2, pid, ...machine, start: (await startTicks(pid)) - 1, nonce: 'old', since: '', beat: 9 });
    const { store } = await openStore(dir, { fsync: false });
    await store.close();
    // A version-1 lock (no start time): the pid's process started after the lock was taken.
    await writeLock(dir, { pid, hostname: os.hostname(), nonce: 'old', createdAt: new Date(Date.now() - 3_600_000).toISOString() });
    const { store: again } = await openStore(dir, { fsync: false });
    await again.close();
  });

  it('a holder on this machine that runs is live, at once, whatever its heartbeat', async () => {
    const dir = await tempDir('godelayq-lock-', true);
    const pid = otherLivePid();
    const machine = await thisMachine();
    await writeLock(dir, { godelayq: 'lock', version: 2, pid, ...machine, start: await startTicks(pid), nonce: 'n', since: '', beat: 0 });
    await utimes(path.join(dir, 'LOCK'), new Date(2001, 0, 1), new Date(2001, 0, 1));
    await assert.rejects(openStore(dir, { fsync: false }), (e: unknown) => {
      assert.ok(e instanceof StoreLockedError, String(e));
      assert.equal(e.pid, pid);
      assert.match(e.message, new RegExp(`process ${pid} is running`));
      return true;
    });
    // Version 1, taken after that process started: live too.
    await writeLock(dir, { pid, hostname: os.hostname(), nonce: 'n', createdAt: new Date().toISOString() });
    await assert.rejects(openStore(dir, { fsync: false }), StoreLockedError);
  });

  it('a lock this host wrote before it last booted is taken over at once', async () => {
    const dir = await tempDir('godelayq-lock-', true);
    const machine = await thisMachine();
    await writeLock(dir, { godelayq: 'lock', version: 2, pid: 1234, ...machine, boot: 'an-earlier-boot', start: 5, nonce: 'n', since: '', beat: 3 });
    await utimes(path.join(dir, 'LOCK'), new Date(2001, 0, 1), new Date(2001, 0, 1));
    const { store } = await openStore(dir, { fsync: false });
    await store.close();
  });

  it('a taker that died mid-takeover left its guard (LOCK.takeover): the next opener removes it and takes the stale lock over', { timeout: 60_000 }, async () => {
    const dir = await tempDir('godelayq-lock-', true);
    const machine = await thisMachine();
    const dead = { godelayq: 'lock', version: 2, pid: await aDeadPid(), ...machine, start: 5, nonce: 'dead', since: '', beat: 0 };
    await writeLock(dir, dead);
    // The guard is the dead taker's own lock content, as `link` would have left it.
    await writeFile(path.join(dir, 'LOCK.takeover'), JSON.stringify({ ...dead, nonce: 'dead-taker' }));
    const { store } = await openStore(dir, { fsync: false });
    assert.ok(!(await readdir(dir)).includes('LOCK.takeover'), 'the dead guard is gone');
    assert.equal((JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as { pid: number }).pid, process.pid);
    await insertOne(store, 'after');
    await store.close();
  });

  it('openers racing to take over a stale lock: one wins, and a taker that is overtaken never removes the new holder’s LOCK', async () => {
    const dir = await tempDir('godelayq-lock-', true);
    await writeLock(dir, { pid: await aDeadPid(), hostname: os.hostname(), nonce: 'dead', createdAt: '' });
    // Opener A judges the lock stale, then stalls just before taking it over…
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let stalled = false;
    const gated: FsLayer = {
      ...nodeFs,
      link: async (from, to) => {
        if (to.endsWith('LOCK.takeover') && !stalled) {
          stalled = true;
          await gate;
        }
        return nodeFs.link(from, to);
      },
    };
    const a = new JsonFileStore(dir, { fsync: false, fs: gated });
    const aOutcome = a.open(storeContext()).then(
      () => 'opened',
      (e: unknown) => e,
    );
    await until(() => stalled);
    // …while B takes the store over completely.
    const { store: b } = await openStore(dir, { fsync: false });
    await insertOne(b, 'b');
    release();
    const outcome = await aOutcome;
    assert.ok(outcome instanceof StoreLockedError, `A must lose, got ${String(outcome)}`);
    assert.equal(outcome.pid, process.pid);
    // B still holds its LOCK and writes.
    await insertOne(b, 'b2');
    await b.close();

    // And many at once: exactly one wins.
    await writeLock(dir, { pid: await aDeadPid(), hostname: os.hostname(), nonce: 'dead', createdAt: '' });
    const stores = Array.from({ length: 6 }, () => new JsonFileStore(dir, { fsync: false }));
    const results = await Promise.allSettled(stores.map((s) => s.open(storeContext())));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1, JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))));
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof StoreLockedError, String(r.reason));
    await stores[results.findIndex((r) => r.status === 'fulfilled')]?.close();
  });
});
