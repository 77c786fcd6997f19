/**
 * The store directory's lock: `<dir>/LOCK`, a small JSON file naming the
 * holder (`pid`, `hostname`, a random `nonce`).
 *
 * Taking it: the content is written to a temp file with write-file-atomic,
 * read back (its known short-write hole, SPEC §9), then hard-linked to LOCK.
 * `link` fails when LOCK exists, so exactly one opener wins, and LOCK always
 * holds complete content.
 *
 * A LOCK whose process is gone is taken over: the taker first holds
 * `LOCK.takeover` (same link trick), re-reads LOCK, and removes it only if it
 * is still the stale one, so two takers can never both win. A LOCK carrying
 * this process's pid but a nonce this process did not issue is stale too (a
 * restarted container reuses pids). On another host's lock we cannot tell,
 * so it counts as live.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { StoreLockedError, StorePersistError, toError } from '../../errors.js';
import { GUARD_NAME, LOCK_NAME, lockTempName } from './format.js';
import { type FsLayer, hasCode } from './fs.js';

interface LockContent {
  pid: number;
  hostname: string;
  nonce: string;
  createdAt: string;
}

/** Nonces of the locks this process holds (another JsonFileStore in this process is a live holder). */
const held = new Set<string>();
/** Lock temp files this process is using right now (not leftovers). */
const tempsInUse = new Set<string>();

/** True when lock temp file `name` is being used by this process right now. */
export function lockTempInUse(name: string): boolean {
  return tempsInUse.has(name);
}

/** True when the process `pid` exists (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return hasCode(error, 'EPERM');
  }
}

function parse(raw: Buffer): LockContent | undefined {
  try {
    const v = JSON.parse(raw.toString('utf8')) as Partial<LockContent> | null;
    if (v && typeof v.pid === 'number' && typeof v.nonce === 'string') {
      return { pid: v.pid, nonce: v.nonce, hostname: String(v.hostname ?? ''), createdAt: String(v.createdAt ?? '') };
    }
  } catch {
    // unreadable: treated as stale below
  }
  return undefined;
}

function alive(content: LockContent | undefined): boolean {
  if (!content) return false; // never written by us: LOCK is always complete
  if (content.hostname !== '' && content.hostname !== os.hostname()) return true;
  if (content.pid === process.pid) return held.has(content.nonce);
  return processAlive(content.pid);
}

async function readOrUndefined(layer: FsLayer, file: string): Promise<Buffer | undefined> {
  try {
    return await layer.readFile(file);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A held lock. */
export class DirLock {
  private released = false;

  private constructor(
    private readonly layer: FsLayer,
    readonly dir: string,
    readonly nonce: string,
  ) {}

  /**
   * Takes the lock of `dir` or rejects with StoreLockedError (live holder)
   * or StorePersistError (the lock could not be written).
   */
  static async acquire(layer: FsLayer, dir: string): Promise<DirLock> {
    const nonce = randomBytes(9).toString('base64url');
    const content: LockContent = { pid: process.pid, hostname: os.hostname(), nonce, createdAt: new Date().toISOString() };
    const text = `${JSON.stringify(content)}\n`;
    const lockPath = path.join(dir, LOCK_NAME);
    const tempName = lockTempName(process.pid, nonce);
    const tempPath = path.join(dir, tempName);
    tempsInUse.add(tempName);
    try {
      // No fsync: a LOCK matters only while its process lives, and a LOCK
      // left unreadable by a machine crash counts as stale.
      await layer.writeFileAtomic(tempPath, text, false);
      const back = await layer.readFile(tempPath);
      if (back.toString('utf8') !== text) {
        throw new Error(`expected ${text.length} bytes of lock content in ${tempPath}, got ${back.length} (disk full?)`);
      }
    } catch (error) {
      await layer.unlink(tempPath).catch(() => undefined);
      tempsInUse.delete(tempName);
      throw new StorePersistError(`Could not write the lock of store ${dir}: ${toError(error).message}`, { cause: error });
    }
    held.add(nonce);
    let ok = false;
    try {
      let lastPid = 0;
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          await layer.link(tempPath, lockPath);
          ok = true;
          return new DirLock(layer, dir, nonce);
        } catch (error) {
          if (!hasCode(error, 'EEXIST')) throw error;
        }
        const raw = await readOrUndefined(layer, lockPath);
        if (raw === undefined) continue; // released meanwhile
        const holder = parse(raw);
        if (alive(holder)) throw new StoreLockedError(dir, holder?.pid ?? 0);
        lastPid = holder?.pid ?? 0;
        await takeOver(layer, dir, tempPath, raw);
      }
      throw new StoreLockedError(dir, lastPid);
    } catch (error) {
      if (error instanceof StoreLockedError) throw error;
      throw new StorePersistError(`Could not take the lock of store ${dir}: ${toError(error).message}`, { cause: error });
    } finally {
      if (!ok) held.delete(nonce);
      await layer.unlink(tempPath).catch(() => undefined);
      tempsInUse.delete(tempName);
    }
  }

  /** Removes LOCK if it is still ours. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    held.delete(this.nonce);
    const lockPath = path.join(this.dir, LOCK_NAME);
    const raw = await readOrUndefined(this.layer, lockPath).catch(() => undefined);
    if (raw === undefined || parse(raw)?.nonce !== this.nonce) return;
    await this.layer.unlink(lockPath).catch(() => undefined);
  }
}

/** Removes the stale LOCK whose content was `stale`, under the takeover guard. */
async function takeOver(layer: FsLayer, dir: string, tempPath: string, stale: Buffer): Promise<void> {
  const lockPath = path.join(dir, LOCK_NAME);
  const guardPath = path.join(dir, GUARD_NAME);
  try {
    await layer.link(tempPath, guardPath);
  } catch (error) {
    if (!hasCode(error, 'EEXIST')) throw error;
    const raw = await readOrUndefined(layer, guardPath);
    if (raw !== undefined && !alive(parse(raw))) {
      // A taker died mid-takeover; its guard is as stale as the lock.
      await layer.unlink(guardPath).catch(() => undefined);
    } else {
      await pause(10); // someone else is taking over: let them finish
    }
    return;
  }
  try {
    const now = await readOrUndefined(layer, lockPath);
    if (now !== undefined && now.equals(stale)) await layer.unlink(lockPath);
  } finally {
    await layer.unlink(guardPath).catch(() => undefined);
  }
}
