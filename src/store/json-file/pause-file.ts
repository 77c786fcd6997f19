/**
 * JsonFileStore's side of `scheduler.pause({ everywhere: true })`: the file
 * `<dir>/PAUSED` exists while the store is paused, so a process that opens
 * the store (after a restart, or a crash) stays paused until resumed.
 *
 * WHY a file of its own rather than a journal line: the pause is not a job
 * change, and its presence alone is the state — created (`wx`, then synced
 * with the folder) to pause, unlinked (folder synced) to resume. Its content
 * only tells a person when it was paused; a torn write still means paused.
 */
import path from 'node:path';
import { type FsLayer, hasCode, syncDir, writeAll } from './fs.js';

export const PAUSED_NAME = 'PAUSED';

/** Whether the store in `dir` is paused. */
export async function readPaused(layer: FsLayer, dir: string): Promise<boolean> {
  try {
    await layer.stat(path.join(dir, PAUSED_NAME));
    return true;
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return false;
    throw error;
  }
}

/** Creates (`paused`) or removes the PAUSED file; durable when it resolves (with `sync`). */
export async function writePaused(layer: FsLayer, dir: string, paused: boolean, sync: boolean, now: number): Promise<void> {
  const file = path.join(dir, PAUSED_NAME);
  if (paused) {
    let fd: number | undefined;
    try {
      fd = await layer.open(file, 'wx');
    } catch (error) {
      // Already paused: its creation was synced by the call that made it (or is re-synced below).
      if (!hasCode(error, 'EEXIST')) throw error;
    }
    if (fd !== undefined) {
      try {
        await writeAll(layer, fd, Buffer.from(`${JSON.stringify({ godelayq: 'paused', at: new Date(now).toISOString() })}\n`), 0);
        if (sync) await layer.fsync(fd);
      } finally {
        await layer.close(fd);
      }
    }
  } else {
    try {
      await layer.unlink(file);
    } catch (error) {
      if (!hasCode(error, 'ENOENT')) throw error;
    }
  }
  if (sync) await syncDir(layer, dir);
}
