/**
 * The store directory's lock: `<dir>/LOCK`, held for the life of the store.
 *
 * Content (JSON, padded with spaces to a fixed size so it can be rewritten
 * in place): who holds it (pid, host, boot id, pid namespace, process start
 * time: identity.ts), since when, a heartbeat counter `beat`, and the
 * journal generation and durable length at the last beat.
 *
 * Taking it: the content goes to a temp file, which is hard-linked to LOCK.
 * `link` fails when LOCK exists, so exactly one opener wins, and LOCK always
 * holds complete content. The holder keeps LOCK open, so its inode cannot be
 * reused while it runs: "the name LOCK leads to my inode" proves ownership,
 * and the store checks it after every group commit (json-file.ts) and at
 * every heartbeat (which also rewrites the content, so other machines see
 * the holder is alive).
 *
 * A LOCK whose holder is gone is taken over. On this machine (same boot id
 * and pid namespace) that is decided at once: the pid does not exist, or it
 * belongs to a process started at another time (pid reuse), or it is this
 * process and no store here holds it. Otherwise (another host or container,
 * no /proc) the opener watches the heartbeat: if LOCK does not change for
 * `staleLockMs` by the opener's own clock, the holder is gone. The taker
 * first holds `LOCK.takeover` (same link trick), re-reads LOCK, and removes
 * it only if it is still byte for byte the stale one, so two takers can
 * never both win.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Clock, ClockTimer } from '../../clock.js';
import { StoreLockedError, StorePersistError, toError } from '../../errors.js';
import { GUARD_NAME, LOCK_NAME, lockTempName } from './format.js';
import { type FsLayer, hasCode, writeAll } from './fs.js';
import { type ProcessIdentity, TICKS_PER_SECOND, bootTime, pidExists, processStart, selfIdentity } from './identity.js';

/** What LOCK says (version 1: pid, hostname, nonce, createdAt only). */
export interface LockContent {
  version: number;
  pid: number;
  host: string;
  nonce: string;
  /** When the lock was taken (ISO, the holder's clock). */
  since: string;
  boot?: string;
  pidns?: number;
  start?: number;
  beat?: number;
  /** The holder syncs its journal: `length` is durable. */
  sync?: boolean;
  journal?: number;
  length?: number;
}

/** Nonces of the locks this process holds (another JsonFileStore in this process is a live holder). */
const held = new Set<string>();
/** Lock candidates this process is writing or linking right now (not leftovers). */
const tempsInUse = new Set<string>();

/** True when lock temp file `name` is being used by this process right now. */
export function lockTempInUse(name: string): boolean {
  return tempsInUse.has(name);
}

export function parseLock(raw: Buffer): LockContent | undefined {
  try {
    const v = JSON.parse(raw.toString('utf8')) as Record<string, unknown> | null;
    if (!v || typeof v.pid !== 'number' || typeof v.nonce !== 'string') return undefined;
    const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
    const c: LockContent = {
      version: v.godelayq === 'lock' ? (num(v.version) ?? 2) : 1,
      pid: v.pid,
      host: String(v.host ?? v.hostname ?? ''),
      nonce: v.nonce,
      since: String(v.since ?? v.createdAt ?? ''),
    };
    if (typeof v.boot === 'string') c.boot = v.boot;
    for (const key of ['pidns', 'start', 'beat', 'journal', 'length'] as const) {
      const n = num(v[key]);
      if (n !== undefined) c[key] = n;
    }
    if (v.sync === true) c.sync = true;
    return c;
  } catch {
    return undefined;
  }
}

function encodeLock(content: LockContent, size: number): Buffer {
  const { version: _v, ...rest } = content;
  const json = JSON.stringify({ godelayq: 'lock', version: 2, ...rest });
  return Buffer.from(`${json.padEnd(Math.max(size, json.length + 1) - 1, ' ')}\n`);
}

interface Verdict {
  state: 'live' | 'dead' | 'unknown';
  why: string;
}

/** Whether the holder of `lock` (whose file was last written at `mtimeMs`) still runs, as far as this machine can tell. */
async function judge(layer: FsLayer, lock: LockContent, self: ProcessIdentity, mtimeMs: number): Promise<Verdict> {
  const sameKernel = self.boot !== undefined && lock.boot === self.boot && lock.pidns === self.pidns;
  const sameHostNoProc = self.boot === undefined && lock.host === self.host;
  if (sameKernel || sameHostNoProc || (lock.version === 1 && lock.host === self.host)) {
    const thisProcess = lock.pid === self.pid && (lock.start === undefined || lock.start === self.start);
    if (thisProcess && (sameKernel || sameHostNoProc || lock.version === 1)) {
      return held.has(lock.nonce)
        ? { state: 'live', why: 'another JsonFileStore in this process holds it' }
        : { state: 'dead', why: 'it names this process, which does not hold it' };
    }
    if (!pidExists(lock.pid)) return { state: 'dead', why: `process ${lock.pid} is gone` };
    const start = await processStart(layer, lock.pid);
    if (sameKernel) {
      if (start === undefined) return { state: 'dead', why: `process ${lock.pid} is gone` };
      if (start !== lock.start) return { state: 'dead', why: `pid ${lock.pid} now belongs to another process (started at another time)` };
      return { state: 'live', why: `process ${lock.pid} is running` };
    }
    if (lock.version === 1 && start !== undefined) {
      // A version-1 lock has no start time: compare when that pid's process
      // started with when the lock was written (same machine, same clock).
      const boot = await bootTime(layer);
      const taken = Date.parse(lock.since);
      if (boot !== undefined && Number.isFinite(taken) && boot + (start * 1000) / TICKS_PER_SECOND > taken + 2000) {
        return { state: 'dead', why: `pid ${lock.pid} now belongs to a process started after the lock was taken` };
      }
      return { state: 'live', why: `process ${lock.pid} is running` };
    }
    return { state: 'unknown', why: `process ${lock.pid} exists, but nothing tells whether it is the holder` };
  }
  if (self.boot !== undefined && lock.boot !== undefined && lock.boot !== self.boot && lock.host === self.host) {
    const boot = await bootTime(layer);
    if (boot !== undefined && mtimeMs < boot) return { state: 'dead', why: 'it was last written before this machine booted' };
  }
  return { state: 'unknown', why: `it was taken on ${lock.host === self.host ? 'another boot or container of this host' : `host ${lock.host || '(unknown)'}`}` };
}

async function readLock(layer: FsLayer, file: string): Promise<{ raw: Buffer; mtimeMs: number } | undefined> {
  try {
    const raw = await layer.readFile(file);
    const { mtimeMs } = await layer.stat(file);
    return { raw, mtimeMs };
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** Waits `ms` on `clock`. */
function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(clock.now() + ms, resolve));
}

/** How LOCK is judged and refreshed. */
export interface LockOptions {
  clock: Clock;
  /** A LOCK that cannot be judged locally is stale once it has not changed for this long (ms, by `clock`). */
  staleLockMs: number;
  /** The holder syncs its journal (recorded for the next opener). */
  sync: boolean;
}

const MAX_ATTEMPTS = 2000;

/** A held lock. */
export class DirLock {
  private released = false;
  private timer: ClockTimer | undefined;
  /** What LOCK says now (acquire starts `beat` at 0). */
  private content: LockContent & { beat: number };

  private constructor(
    private readonly layer: FsLayer,
    readonly dir: string,
    private readonly fd: number,
    /** Identity of the LOCK file this process holds. */
    readonly ino: number,
    readonly dev: number,
    content: LockContent & { beat: number },
    private readonly size: number,
  ) {
    this.content = content;
  }

  get nonce(): string {
    return this.content.nonce;
  }

  /**
   * Takes the lock of `dir` or rejects with StoreLockedError (live holder)
   * or StorePersistError (the lock could not be written). `previous` is
   * what a stale LOCK said (its holder's last durable journal length).
   */
  static async acquire(layer: FsLayer, dir: string, options: LockOptions): Promise<{ lock: DirLock; previous: LockContent | undefined }> {
    const self = await selfIdentity(layer);
    const nonce = randomBytes(9).toString('base64url');
    const content: LockContent & { beat: number } = { version: 2, pid: self.pid, host: self.host, nonce, since: new Date(options.clock.now()).toISOString(), beat: 0 };
    if (self.boot !== undefined) content.boot = self.boot;
    if (self.pidns !== undefined) content.pidns = self.pidns;
    if (self.start !== undefined) content.start = self.start;
    if (options.sync) content.sync = true;
    // Room for the fields a heartbeat adds and grows.
    const size = Math.ceil((encodeLock(content, 0).length + 96) / 512) * 512;
    const text = encodeLock(content, size);
    const lockPath = path.join(dir, LOCK_NAME);
    const tempName = lockTempName(process.pid, nonce);
    const tempPath = path.join(dir, tempName);
    tempsInUse.add(tempName);
    try {
      const fd = await layer.open(tempPath, 'wx');
      try {
        await writeAll(layer, fd, text, 0);
        // A LOCK left unreadable by a machine crash would cost the next
        // opener a wait of staleLockMs.
        if (options.sync) await layer.fsync(fd);
      } finally {
        await layer.close(fd);
      }
    } catch (error) {
      await layer.unlink(tempPath).catch(() => undefined);
      tempsInUse.delete(tempName);
      throw new StorePersistError(`Could not write the lock of store ${dir}: ${toError(error).message}`, { cause: error });
    }
    held.add(nonce);
    let won: DirLock | undefined;
    let previous: LockContent | undefined;
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        try {
          await layer.link(tempPath, lockPath);
        } catch (error) {
          if (!hasCode(error, 'EEXIST')) throw error;
          const seen = await readLock(layer, lockPath);
          if (seen === undefined) continue; // released meanwhile
          const holder = parseLock(seen.raw);
          const verdict: Verdict = holder ? await judge(layer, holder, self, seen.mtimeMs) : { state: 'unknown', why: 'its content is unreadable' };
          if (verdict.state === 'live') throw lockedError(dir, holder, verdict.why, options, seen.mtimeMs);
          if (verdict.state === 'unknown') {
            const outcome = await watch(layer, lockPath, seen.raw, options);
            if (outcome === 'gone') continue;
            if (outcome === 'changed') {
              const now = await readLock(layer, lockPath);
              throw lockedError(dir, now ? parseLock(now.raw) : holder, `${verdict.why}, and its heartbeat changed while watched`, options, now?.mtimeMs);
            }
          }
          if (await takeOver(layer, dir, tempPath, seen.raw, self, options)) previous = holder;
          continue;
        }
        let fd: number | undefined;
        try {
          fd = await layer.open(lockPath, 'r+');
          const mine = await layer.fstat(fd);
          const now = await layer.stat(lockPath).catch((error: unknown) => {
            if (hasCode(error, 'ENOENT')) return undefined;
            throw error;
          });
          if (now?.ino !== mine.ino || now.dev !== mine.dev) {
            // Replaced between link and open: not ours after all.
            await layer.close(fd).catch(() => undefined);
            continue;
          }
          won = new DirLock(layer, dir, fd, mine.ino, mine.dev, content, size);
          return { lock: won, previous };
        } catch (error) {
          if (fd !== undefined) await layer.close(fd).catch(() => undefined);
          // Linked but not usable: give it back if it is still the one we linked.
          const now = await readLock(layer, lockPath).catch(() => undefined);
          if (now?.raw.equals(text)) await layer.unlink(lockPath).catch(() => undefined);
          throw error;
        }
      }
      throw lockedError(dir, undefined, 'other processes kept taking it over', options, undefined);
    } catch (error) {
      if (error instanceof StoreLockedError) throw error;
      throw new StorePersistError(`Could not take the lock of store ${dir}: ${toError(error).message}`, { cause: error });
    } finally {
      if (!won) held.delete(nonce);
      await layer.unlink(tempPath).catch(() => undefined);
      tempsInUse.delete(tempName);
    }
  }

  /**
   * Starts the heartbeat: every `intervalMs` on `clock`, rewrites LOCK in
   * place (a new `beat` and the journal's durable length) and checks LOCK is
   * still this lock; calls `lost(why)` once when it is not.
   */
  startHeartbeat(clock: Clock, intervalMs: number, journal: () => { gen: number; length: number }, lost: (why: string) => void): void {
    const beat = async (): Promise<void> => {
      if (this.released) return;
      const j = journal();
      this.content = { ...this.content, beat: this.content.beat + 1, journal: j.gen, length: j.length };
      // A failed rewrite is no loss of the lock: the check below decides.
      await writeAll(this.layer, this.fd, encodeLock(this.content, this.size), 0).catch(() => undefined);
      // A check that cannot tell (EIO) is tried again at the next beat.
      const why = await this.check().catch(() => undefined);
      if (why !== undefined) {
        if (!this.released) lost(why);
        return;
      }
      if (!this.released) this.timer = clock.setTimer(clock.now() + intervalMs, () => void beat());
    };
    this.timer = clock.setTimer(clock.now() + intervalMs, () => void beat());
  }

  /**
   * Undefined while LOCK is this lock, else why it is not (removed or
   * replaced). Rejects when that cannot be told (the stat failed otherwise).
   */
  async check(): Promise<string | undefined> {
    const file = path.join(this.dir, LOCK_NAME);
    try {
      const s = await this.layer.stat(file);
      if (s.ino === this.ino && s.dev === this.dev) return undefined;
      return `${file} was replaced (another process took the store)`;
    } catch (error) {
      if (hasCode(error, 'ENOENT') || hasCode(error, 'ENOTDIR')) return `${file} was removed (or the store folder was removed or moved)`;
      throw error;
    }
  }

  /** Stops the heartbeat; removes LOCK if it is still this lock. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.timer?.clear();
    held.delete(this.content.nonce);
    try {
      if ((await this.check()) === undefined) await this.layer.unlink(path.join(this.dir, LOCK_NAME));
    } catch {
      // best effort: a LOCK left behind names this process, which is gone or does not hold it
    } finally {
      await this.layer.close(this.fd).catch(() => undefined);
    }
  }
}

/**
 * Watches LOCK (content `raw`) for up to `staleLockMs`: 'changed' (its
 * holder is alive, or another took it), 'gone', or 'stale' (unchanged).
 */
async function watch(layer: FsLayer, file: string, raw: Buffer, options: LockOptions): Promise<'changed' | 'gone' | 'stale'> {
  const { clock, staleLockMs } = options;
  const until = clock.now() + staleLockMs;
  const step = Math.max(1, Math.min(1000, Math.floor(staleLockMs / 10)));
  while (clock.now() < until) {
    await sleep(clock, Math.min(step, until - clock.now()));
    const now = await readLock(layer, file);
    if (now === undefined) return 'gone';
    if (!now.raw.equals(raw)) return 'changed';
  }
  return 'stale';
}

function lockedError(dir: string, holder: LockContent | undefined, why: string, options: LockOptions, mtimeMs: number | undefined): StoreLockedError {
  const age = mtimeMs === undefined ? undefined : Math.max(0, options.clock.now() - mtimeMs);
  return new StoreLockedError(dir, holder?.pid ?? 0, {
    host: holder?.host ?? '',
    ageMs: age,
    detail:
      `${why}; locked since ${holder?.since || 'an unknown time'}` +
      (age === undefined ? '' : `, LOCK last written ${Math.round(age / 1000)} s ago`) +
      `. A holder that is gone is taken over: at once on this machine, else once LOCK has not changed for \`staleLockMs\` (${options.staleLockMs} ms). ` +
      `To break the lock, stop that process, or delete ${path.join(dir, LOCK_NAME)} once sure no process uses the store`,
  });
}

/**
 * Removes the stale LOCK whose content was `stale`, under the takeover
 * guard. Resolves true when it removed it.
 */
async function takeOver(layer: FsLayer, dir: string, tempPath: string, stale: Buffer, self: ProcessIdentity, options: LockOptions): Promise<boolean> {
  const lockPath = path.join(dir, LOCK_NAME);
  const guardPath = path.join(dir, GUARD_NAME);
  try {
    await layer.link(tempPath, guardPath);
  } catch (error) {
    if (!hasCode(error, 'EEXIST')) throw error;
    const seen = await readLock(layer, guardPath);
    if (seen === undefined) return false;
    const taker = parseLock(seen.raw);
    let verdict = taker ? await judge(layer, taker, self, seen.mtimeMs) : undefined;
    if (verdict?.state !== 'dead' && verdict?.state !== 'live') {
      // Held by a taker we cannot judge: stale if it stays for staleLockMs.
      verdict = (await watch(layer, guardPath, seen.raw, options)) === 'stale' ? { state: 'dead', why: '' } : { state: 'live', why: '' };
    }
    if (verdict.state === 'dead') {
      // A taker died mid-takeover; its guard is as stale as the lock.
      const again = await readLock(layer, guardPath);
      if (again?.raw.equals(seen.raw)) await layer.unlink(guardPath).catch(() => undefined);
    }
    // Else someone else is taking over: the caller tries again (each try is I/O, no timer).
    return false;
  }
  try {
    const now = await readLock(layer, lockPath);
    if (now === undefined || !now.raw.equals(stale)) return false;
    await layer.unlink(lockPath);
    return true;
  } finally {
    await layer.unlink(guardPath).catch(() => undefined);
  }
}
