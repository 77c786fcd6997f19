/**
 * File moves for DirectoryLoader that never overwrite anything, never read
 * through a symbolic link, and never move an entry other than the one the
 * loader looked at.
 *
 * WHY link + unlink: rename(2) silently replaces an existing destination;
 * link(2) fails with EEXIST instead, so "take the first free name" is atomic
 * even with another process archiving into the same folder. Where hard links
 * are impossible (another device, some network or FAT file systems) a
 * regular file is copied through a no-follow descriptor into a destination
 * created with O_EXCL, fsynced, and only then is the source removed.
 *
 * WHY identity checks: the loader moves by name, and a producer may replace
 * the file between the loader's read and its move. Every move checks that
 * what it placed (and what it is about to remove) is still the inode it
 * read; otherwise it backs out and the newcomer stays to be loaded.
 */
import { constants } from 'node:fs';
import { extname, join } from 'node:path';
import { type LoaderFs, type LoaderStats, syncDir, writeAll } from './fs-layer.js';

/** The error's `code` (ENOENT, EEXIST, …), if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Not every platform has every flag (Windows has no O_NOFOLLOW): a missing one is 0. */
export const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
export const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/** What a directory entry is, as lstat (or stat, when following links) says. */
export type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

export function kindOf(st: LoaderStats): EntryKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** The entry a move must find at its source: the one the loader looked at. */
export interface EntryIdentity {
  kind: EntryKind;
  ino: number;
  dev: number;
}

export function identityOf(st: LoaderStats): EntryIdentity {
  return { kind: kindOf(st), ino: st.ino, dev: st.dev };
}

function same(st: LoaderStats, id: EntryIdentity): boolean {
  return st.ino === id.ino && st.dev === id.dev;
}

/** Link errors after which a copy is tried instead. */
const NO_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EACCES']);
const MAX_SUFFIX = 10_000;
const COPY_CHUNK = 1 << 16;

/** `a.json` → `a-1.json` for n = 1; n = 0 leaves the name as is. */
export function withSuffix(name: string, n: number): string {
  if (n === 0) return name;
  const ext = extname(name);
  const stem = ext === name || ext === '' ? name : name.slice(0, -ext.length);
  return `${stem}-${n}${ext === name ? '' : ext}`;
}

/** `20270101T093000.123Z`: an ISO instant without `-` and `:` (valid in file names everywhere). */
export function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}

async function unlinkQuiet(layer: LoaderFs, path: string): Promise<void> {
  try {
    await layer.unlink(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

/** True when `path` is still the entry `id` (lstat: a link is compared as the link). */
async function stillThere(layer: LoaderFs, path: string, id: EntryIdentity): Promise<boolean> {
  try {
    return same(await layer.lstat(path), id);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** Copies the regular file `src` (opened without following links, checked to be `id`) into a new file `dest`. */
async function copyExclusive(layer: LoaderFs, src: string, dest: string, id: EntryIdentity): Promise<'placed' | 'taken' | 'replaced'> {
  const input = await layer.open(src, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ELOOP') return undefined;
    throw error;
  });
  if (input === undefined) return 'replaced';
  try {
    const st = await layer.fstat(input);
    if (!st.isFile() || !same(st, id)) return 'replaced';
    let output: number;
    try {
      output = await layer.open(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666);
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return 'taken';
      throw error;
    }
    let complete = false;
    try {
      const buffer = new Uint8Array(COPY_CHUNK);
      for (;;) {
        const n = await layer.read(input, buffer, 0, buffer.length, null);
        if (n === 0) break;
        await writeAll(layer, output, buffer.subarray(0, n), null);
      }
      await layer.fsync(output);
      complete = true;
    } finally {
      await layer.close(output);
      if (!complete) await unlinkQuiet(layer, dest).catch(() => undefined);
    }
    return 'placed';
  } finally {
    await layer.close(input);
  }
}

/**
 * Places the entry `id` found at `src` at `dest`, never replacing anything
 * there: 'taken' when `dest` exists, 'replaced' when `src` is no longer `id`
 * (nothing placed). A regular file is hard-linked, or copied where links
 * are impossible; a symbolic link is re-created from its text (its target is
 * never opened); any other entry (FIFO, socket, device) is hard-linked only.
 */
async function placeExclusive(layer: LoaderFs, src: string, dest: string, id: EntryIdentity): Promise<'placed' | 'taken' | 'replaced'> {
  if (id.kind === 'symlink') {
    let target: string;
    try {
      target = await layer.readlink(src);
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'EINVAL') return 'replaced';
      throw error;
    }
    try {
      await layer.symlink(target, dest);
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return 'taken';
      throw error;
    }
    if (await stillThere(layer, src, id)) return 'placed';
    await unlinkQuiet(layer, dest);
    return 'replaced';
  }
  try {
    await layer.link(src, dest);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') return 'taken';
    if (code === 'ENOENT') return 'replaced';
    if (code === undefined || !NO_LINK.has(code) || id.kind !== 'file') throw error;
    return copyExclusive(layer, src, dest, id);
  }
  // link(2) took whatever was at `src` then (and on some systems follows a symbolic link). If
  // `src` is still `id`, that was it; else look at what was placed.
  if ((await stillThere(layer, src, id)) || (await stillThere(layer, dest, id))) return 'placed';
  await unlinkQuiet(layer, dest);
  return 'replaced';
}

/** Removes `src` if it is still `id`: a newcomer under the same name is left alone. Returns true if removed (or already gone). */
export async function removeIfSame(layer: LoaderFs, src: string, id: EntryIdentity): Promise<boolean> {
  try {
    if (!same(await layer.lstat(src), id)) return false;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return true;
    throw error;
  }
  await unlinkQuiet(layer, src);
  return true;
}

/**
 * Moves the entry `id` at `src` into `destDir` as `name`, or `name` with
 * `-1`, `-2`, … before its extension when taken. Never overwrites. Returns
 * the new path, or undefined when `src` was replaced by another entry
 * meanwhile (nothing moved; the newcomer stays).
 */
export async function moveNoClobber(layer: LoaderFs, src: string, destDir: string, name: string, id: EntryIdentity): Promise<string | undefined> {
  for (let n = 0; n < MAX_SUFFIX; n++) {
    const dest = join(destDir, withSuffix(name, n));
    const placed = await placeExclusive(layer, src, dest, id);
    if (placed === 'taken') continue;
    if (placed === 'replaced') return undefined;
    // No folder fsync here: the jobs are durably scheduled already, and a crash that loses the
    // archive link at worst loses the archived copy (the file's jobs are not affected).
    await removeIfSame(layer, src, id);
    return dest;
  }
  throw new Error(`No free name for ${name} in ${destDir} after ${MAX_SUFFIX} tries`);
}

/**
 * Moves a bad entry into `errorDir` beside `<name>.error.json` holding
 * `report`. Both names are taken exclusively (a suffix is added when either
 * is in use), so an earlier failure of the same name is never overwritten.
 * Returns the bad entry's new path, or undefined when `src` was replaced
 * meanwhile (nothing moved, no report left).
 */
export async function moveToErrorDir(layer: LoaderFs, src: string, errorDir: string, name: string, report: unknown, id: EntryIdentity): Promise<string | undefined> {
  const text = new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`);
  for (let n = 0; n < MAX_SUFFIX; n++) {
    const dest = join(errorDir, withSuffix(name, n));
    const reportPath = `${dest}.error.json`;
    let fd: number;
    try {
      fd = await layer.open(reportPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666);
    } catch (error) {
      if (errorCode(error) === 'EEXIST') continue;
      throw error;
    }
    let placed: 'placed' | 'taken' | 'replaced' | undefined;
    try {
      placed = await placeExclusive(layer, src, dest, id);
      if (placed === 'placed') {
        await writeAll(layer, fd, text, 0);
        await layer.fsync(fd);
      }
    } finally {
      await layer.close(fd);
      if (placed !== 'placed') await unlinkQuiet(layer, reportPath);
    }
    if (placed === 'taken') continue;
    if (placed === 'replaced') return undefined;
    await syncDir(layer, errorDir);
    await removeIfSame(layer, src, id);
    return dest;
  }
  throw new Error(`No free name for ${name} in ${errorDir} after ${MAX_SUFFIX} tries`);
}
