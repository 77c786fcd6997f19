/**
 * Reading one settled job file for DirectoryLoader without following a
 * symbolic link out of the folder and without a check-then-use race.
 *
 * The loader decides from lstat (no following) that a name is a regular
 * file, but the name can be swapped for a link, a FIFO or another file
 * between that look and the read. So the read opens the name with
 * O_NOFOLLOW (a link now in its place fails with ELOOP) and O_NONBLOCK (a
 * FIFO now in its place does not hang the open), then fstat()s the opened
 * descriptor: only a regular file with the very size, mtime and inode the
 * loader let settle is read, and only up to the size limit. A second fstat
 * after the read catches a writer that was still at work.
 *
 * With `followSymlinks`, the name may be a link: it is resolved first, and a
 * target outside the loader's folder is refused without being opened; the
 * resolved path is opened with O_NOFOLLOW, and what the descriptor opened is
 * checked to be inside the folder (on the descriptor itself where the
 * platform allows, /proc/self/fd on Linux), against a folder on the path
 * swapped for a link in between.
 */
import { constants } from 'node:fs';
import { sep } from 'node:path';
import type { LoaderFs, LoaderStats } from './fs-layer.js';
import { O_NOFOLLOW, O_NONBLOCK, errorCode } from './fs.js';

/** `size:mtimeMs:ino`: a file is "unchanged" while this stays the same. */
export function sigOf(st: LoaderStats): string {
  return `${st.size}:${st.mtimeMs}:${st.ino}`;
}

/** The outcome of one read. */
export type ReadOutcome =
  /** The complete content, unchanged during the read. */
  | { kind: 'read'; bytes: Uint8Array }
  /** Gone, replaced or written to since the loader's look: settle again. */
  | { kind: 'changed' }
  /** Larger than the limit: bad, not read. */
  | { kind: 'tooLarge'; size: number }
  /** Bad without being read: what is there is not a file the loader may read. */
  | { kind: 'refused'; reason: string }
  /** The read found more or fewer bytes than the unchanged size says: no ordinary file on disk (a /proc-like file). */
  | { kind: 'unstable'; size: number; got: number };

export interface ReadOptions {
  /** `sigOf` of the look that let the file settle. */
  sig: string;
  maxBytes: number;
  /** Follow a symbolic link to a regular file inside `realDir`. */
  follow: boolean;
  /** realpath of the loader's folder. */
  realDir: string;
}

/** Where the open descriptor `fd` really is, or undefined where the platform cannot say. */
async function fdPath(layer: LoaderFs, fd: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  try {
    return await layer.readlink(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

const inside = (path: string, realDir: string): boolean => path.startsWith(realDir + sep);

/** With `follow`: where the opened file is, if it is not inside the folder. */
async function openedOutside(layer: LoaderFs, path: string, fd: number, st: LoaderStats, realDir: string): Promise<string | undefined> {
  let where = await fdPath(layer, fd);
  if (where === undefined) {
    // No way to ask the descriptor: resolve the name again, and make sure it still leads to the opened file.
    where = await layer.realpath(path);
    const again = await layer.stat(where);
    if (again.ino !== st.ino || again.dev !== st.dev) return `${where} (it changed while being opened)`;
  }
  return inside(where, realDir) ? undefined : where;
}

/** Reads the settled file `path` (see the file header). Throws only transient errors (EACCES, EIO, …). */
export async function readSettled(layer: LoaderFs, path: string, options: ReadOptions): Promise<ReadOutcome> {
  let openPath = path;
  try {
    if (options.follow) {
      // Resolve first: a target outside the folder is refused without even being opened.
      openPath = await layer.realpath(path);
      if (!inside(openPath, options.realDir)) return { kind: 'refused', reason: `a symbolic link to ${openPath}, outside the folder` };
    }
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return { kind: 'changed' };
    throw error;
  }
  let fd: number;
  try {
    fd = await layer.open(openPath, constants.O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  } catch (error) {
    const code = errorCode(error);
    // ELOOP: a link took the file's place; ENXIO: a socket did. The next look sees what it is.
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENXIO' || code === 'ENOTDIR') return { kind: 'changed' };
    throw error;
  }
  try {
    const st = await layer.fstat(fd);
    if (!st.isFile()) {
      // With follow, the look (stat) said regular file: the link now leads elsewhere.
      return { kind: 'changed' };
    }
    if (sigOf(st) !== options.sig) return { kind: 'changed' };
    if (options.follow) {
      // A folder on the resolved path may have been swapped for a link meanwhile: ask the descriptor.
      const where = await openedOutside(layer, path, fd, st, options.realDir);
      if (where !== undefined) return { kind: 'refused', reason: `a symbolic link to ${where}, outside the folder` };
    }
    if (st.size > options.maxBytes) return { kind: 'tooLarge', size: st.size };
    // One byte more than the size says, to notice content beyond it.
    const buffer = new Uint8Array(st.size + 1);
    let got = 0;
    for (;;) {
      const n = await layer.read(fd, buffer, got, buffer.length - got, got);
      if (n === 0) break;
      got += n;
      if (got === buffer.length) break;
    }
    const after = await layer.fstat(fd);
    if (sigOf(after) !== options.sig) return { kind: 'changed' };
    if (got !== st.size) return { kind: 'unstable', size: st.size, got };
    return { kind: 'read', bytes: buffer.subarray(0, got) };
  } finally {
    await layer.close(fd);
  }
}
