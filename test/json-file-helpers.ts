/** Fixtures shared by the JsonFileStore tests. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StoreCorruptError } from '../src/errors.js';
import { JsonFileStore, type JsonFileStoreOptions } from '../src/store/json-file.js';
import type { JobRecord, NewJobRecord } from '../src/store/store.js';
import { CT0, newRecord, storeContext } from './store-conformance.js';

export { CT0, newRecord, storeContext };

const dirs: string[] = [];

/**
 * A fresh temp directory, removed by `removeTempDirs()`. `fast`: on tmpfs
 * when there is one (fsync costs nothing there), for tests of logic that
 * walk hundreds of fsyncs, not of the disk.
 */
export async function tempDir(prefix = 'godelayq-jf-', fast = false): Promise<string> {
  const base = fast && existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = await mkdtemp(path.join(base, prefix));
  dirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** sha256 of every file in `dir`, by name. */
export async function hashDir(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    out[name] = createHash('sha256').update(await readFile(path.join(dir, name))).digest('hex');
  }
  return out;
}

/** Opens a JsonFileStore; returns it with the warnings it reported. */
export async function openStore(
  dir: string,
  options: JsonFileStoreOptions = {},
  context: Parameters<typeof storeContext>[0] = {},
): Promise<{ store: JsonFileStore; warnings: string[] }> {
  const store = new JsonFileStore(dir, options);
  const ctx = storeContext(context);
  await store.open(ctx);
  return { store, warnings: ctx.warnings };
}

/** Every record, ordered by id (for equality checks across reopen). */
export async function allRecords(store: { list(filter: object): Promise<JobRecord[]> }): Promise<JobRecord[]> {
  return (await store.list({})).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** What a reopened store must hold: running jobs come back scheduled, without token. */
export function afterRecovery(records: readonly JobRecord[]): JobRecord[] {
  return records.map((r) => {
    if (r.state !== 'running') return r;
    const { token: _t, ...rest } = r;
    return { ...rest, state: 'scheduled', lost: 'crash' };
  });
}

export async function insertOne(store: JsonFileStore, id: string, overrides: Partial<NewJobRecord> = {}): Promise<JobRecord> {
  const [result] = await store.insert([{ record: newRecord(id, overrides), onDuplicate: 'reject' }]);
  return (result as { record: JobRecord }).record;
}

/** Files in `dir` that look like temp files (ours or write-file-atomic's). */
export async function tempFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.tmp') || /\.\d+$/.test(n) || /\.tmp\./.test(n));
}

/**
 * What a crash of this process would leave: a copy of every file of `dir`
 * but LOCK (whose holder would be gone), in a new temp dir.
 */
export async function crashCopy(dir: string): Promise<string> {
  const copy = await tempDir('godelayq-crash-', true);
  for (const name of await readdir(dir)) {
    if (name !== 'LOCK') await copyFile(path.join(dir, name), path.join(copy, name));
  }
  return copy;
}

/** Opening `dir` must reject with StoreCorruptError naming `file` at an offset `offset` accepts, and change no byte. */
export async function expectCorrupt(dir: string, file: string, offset: number | ((o: number) => boolean), message?: RegExp): Promise<void> {
  const hashes = await hashDir(dir);
  await assert.rejects(
    openStore(dir, { fsync: false }),
    (e: unknown) => {
      assert.ok(e instanceof StoreCorruptError, `expected StoreCorruptError, got ${String(e)}`);
      assert.equal(e.code, 'ERR_STORE_CORRUPT');
      assert.equal(e.path, path.join(dir, file), e.message);
      if (typeof offset === 'number') assert.equal(e.offset, offset, e.message);
      else assert.ok(offset(e.offset), `offset ${e.offset}: ${e.message}`);
      if (message) assert.match(e.message, message);
      return true;
    },
  );
  assert.deepEqual(await hashDir(dir), hashes, 'every file byte-for-byte untouched, no LOCK left');
}

const children: ChildProcess[] = [];

/** The pid of a process that has exited (free, unless the kernel reuses it). */
export async function deadPid(): Promise<number> {
  const proc = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => proc.on('exit', resolve));
  return proc.pid as number;
}

/** A live process that is not this one (killed by `killChildren()`). */
export async function livePid(): Promise<number> {
  const proc = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(proc);
  await new Promise((resolve) => proc.on('spawn', resolve));
  return proc.pid as number;
}

/** Kills every process `livePid()` started. */
export function killChildren(): void {
  for (const c of children.splice(0)) c.kill('SIGKILL');
}
