/**
 * JsonFileStore across processes: the directory lock (fault 6) and kill -9
 * while inserting (fault 1). Children run test/fixtures/json-file-child.ts.
 */
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreLockedError } from '../src/errors.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { insertOne, openStore, removeTempDirs, storeContext, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

/** Every child still running after a test (one that failed early, say) is killed, so it cannot hold the run up. */
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const proc of children) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  children.clear();
});

const CHILD = fileURLToPath(new URL('./fixtures/json-file-child.ts', import.meta.url));

interface Child {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  /** Resolves with the first line matching `test`. */
  waitFor(test: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function child(...args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  const lines: Record<string, unknown>[] = [];
  const waiters: { test: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buffer = '';
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  proc.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const w of waiters.slice()) {
        if (w.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    proc,
    lines,
    exited,
    waitFor(test, timeoutMs = 120_000) {
      const found = lines.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child: no matching line in time; stderr: ${stderr}`)), timeoutMs);
        waiters.push({
          test,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then(() => {
          setImmediate(() => reject(new Error(`child exited first; lines ${JSON.stringify(lines.slice(-3))}; stderr: ${stderr}`)));
        });
      });
    },
  };
}

async function deadPid(): Promise<number> {
  const proc = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => proc.on('exit', resolve));
  return proc.pid as number;
}

describe('fault 6: one process per store', () => {
  it('a second JsonFileStore in the same process gets StoreLockedError with this pid', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    const other = new JsonFileStore(dir);
    await assert.rejects(other.open(storeContext()), (e: unknown) => {
      assert.ok(e instanceof StoreLockedError);
      assert.equal(e.pid, process.pid);
      assert.equal(e.path, dir);
      assert.equal(e.code, 'ERR_STORE_LOCKED');
      return true;
    });
    await store.close();
    await other.open(storeContext());
    await other.close();
  });

  it('a child process opening a held store gets StoreLockedError with the holder pid', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    const c = child('try', dir);
    const line = await c.waitFor((l) => 'ok' in l);
    assert.deepEqual({ ok: line.ok, code: line.code, pid: line.pid, path: line.path }, { ok: false, code: 'ERR_STORE_LOCKED', pid: process.pid, path: dir });
    await c.exited;
    await store.close();
  });

  it('a store held by a live child is locked; once the child is killed -9 its lock is taken over', async () => {
    const dir = await tempDir();
    const c = child('hold', dir);
    await c.waitFor((l) => l.ready === true);
    await assert.rejects(openStore(dir), (e: unknown) => e instanceof StoreLockedError && e.pid === c.proc.pid);
    c.proc.kill('SIGKILL');
    await c.exited;
    const { store } = await openStore(dir);
    const lock = JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as { pid: number };
    assert.equal(lock.pid, process.pid);
    await store.close();
  });

  it('a LOCK naming a dead pid, or this pid with a foreign nonce (pid reuse), is taken over', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    await insertOne(store, 'a');
    await store.close();
    for (const pid of [await deadPid(), process.pid]) {
      await writeFile(path.join(dir, 'LOCK'), JSON.stringify({ pid, hostname: os.hostname(), nonce: 'stale', createdAt: '' }));
      const { store: again } = await openStore(dir);
      assert.equal(again.counts().scheduled, 1);
      await again.close();
    }
  });

});

describe('item 2: LOCK removed while its holder runs, and a second process opens the store', () => {
  it('the holder stops writing at once; every change either process acknowledged is in the store', async () => {
    const dir = await tempDir();
    const a = child('insert', dir, 'A', 'store');
    await a.waitFor((l) => Array.isArray(l.acked) && (l.acked as string[]).some((id) => id.startsWith('A30')));
    // A temp cleaner removes LOCK; B sees a free store and takes it.
    await unlink(path.join(dir, 'LOCK'));
    const b = child('insert', dir, 'B', 'store');
    await b.waitFor((l) => l.ready === true);
    const stopped = await a.waitFor((l) => 'rejected' in l);
    assert.equal(stopped.code, 'ERR_STORE_PERSIST');
    assert.match(String(stopped.message), /stopped writing: it lost its lock/);
    await a.waitFor((l) => typeof l.warn === 'string' && /stopped writing/.test(l.warn));
    await b.waitFor((l) => Array.isArray(l.acked) && (l.acked as string[]).some((id) => id.startsWith('B40')));
    a.proc.kill('SIGKILL');
    b.proc.kill('SIGKILL');
    await Promise.all([a.exited, b.exited]);
    const acked = (c: Child): string[] => c.lines.flatMap((l) => (l.acked as string[] | undefined) ?? []);
    for (const c of [a, b]) assert.deepEqual(c.lines.filter((l) => 'fatal' in l), []);
    const { store, warnings } = await openStore(dir, { fsync: false });
    const present = new Set((await store.list({})).map((r) => r.id));
    const lostA = acked(a).filter((id) => !present.has(id));
    const lostB = acked(b).filter((id) => !present.has(id));
    assert.deepEqual({ lostA, lostB }, { lostA: [], lostB: [] }, warnings.join('; '));
    assert.ok(acked(b).length > 40);
    await store.close();
  });
});

describe('fault 1: kill -9 while inserting', () => {
  it('every id acknowledged before the kill is there after reopening (20 rounds)', async () => {
    const lanes = 4;
    const rounds = 5;
    let total = 0;
    const perRound: number[] = [];
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        const dir = await tempDir();
        const acked = new Set<string>();
        for (let round = 0; round < rounds; round++) {
          const via = (lane + round) % 2 === 0 ? 'store' : 'scheduler';
          const c = child('insert', dir, `L${lane}R${round}-`, via);
          await c.waitFor((l) => l.ready === true);
          // Kill at a random moment while inserts are flowing.
          await c.waitFor((l) => 'acked' in l);
          await new Promise((r) => setTimeout(r, Math.random() * 120));
          c.proc.kill('SIGKILL');
          const { signal } = await c.exited;
          assert.equal(signal, 'SIGKILL');
          let fresh = 0;
          for (const line of c.lines) {
            assert.equal(line.fatal, undefined, String(line.fatal));
            for (const id of (line.acked as string[] | undefined) ?? []) {
              acked.add(id);
              fresh++;
            }
          }
          const { store, warnings } = await openStore(dir, { fsync: false });
          const present = new Set((await store.list({})).map((r) => r.id));
          const lost = [...acked].filter((id) => !present.has(id));
          assert.deepEqual(lost, [], `lane ${lane} round ${round} (${via}): lost ${lost.length} of ${acked.size}; warnings ${warnings.join('; ')}`);
          await store.close();
          total += fresh;
          perRound.push(fresh);
        }
      }),
    );
    assert.ok(total > 0, 'the children acknowledged something');
    console.log(`kill -9 rounds: ${perRound.length}, acknowledged per round: ${perRound.join(' ')}`);
  });
});
