/**
 * File moves for DirectoryLoader that never overwrite anything.
 *
 * WHY link + unlink: rename(2) silently replaces an existing destination;
 * link(2) fails with EEXIST instead, so "take the first free name" is atomic
 * even with another process archiving into the same folder. Where hard links
 * are impossible (another device, some network or FAT file systems) the
 * fallback is an exclusive copy (COPYFILE_EXCL) and then unlink.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

/** The error's `code` (ENOENT, EEXIST, …), if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const NO_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EACCES']);
const MAX_SUFFIX = 10_000;

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

/** Places `src` at `dest` without ever replacing a file there: true if placed, false if `dest` exists. */
async function placeExclusive(src: string, dest: string): Promise<boolean> {
  try {
    await link(src, dest);
    return true;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') return false;
    if (code === undefined || !NO_LINK.has(code)) throw error;
  }
  try {
    await copyFile(src, dest, constants.COPYFILE_EXCL);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
}

async function removeSource(src: string): Promise<void> {
  try {
    await unlink(src);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

/**
 * Moves `src` into `destDir` as `name`, or `name` with `-1`, `-2`, … before
 * its extension when taken. Never overwrites. Returns the new path.
 */
export async function moveNoClobber(src: string, destDir: string, name: string): Promise<string> {
  for (let n = 0; n < MAX_SUFFIX; n++) {
    const dest = join(destDir, withSuffix(name, n));
    if (await placeExclusive(src, dest)) {
      await removeSource(src);
      return dest;
    }
  }
  throw new Error(`No free name for ${name} in ${destDir} after ${MAX_SUFFIX} tries`);
}

/**
 * Moves a bad file into `errorDir` beside `<name>.error.json` holding
 * `report`. Both names are taken exclusively (a suffix is added when either
 * is in use), so an earlier failure of the same name is never overwritten.
 * Returns the bad file's new path.
 */
export async function moveToErrorDir(src: string, errorDir: string, name: string, report: unknown): Promise<string> {
  const text = `${JSON.stringify(report, null, 2)}\n`;
  for (let n = 0; n < MAX_SUFFIX; n++) {
    const dest = join(errorDir, withSuffix(name, n));
    const reportPath = `${dest}.error.json`;
    let handle;
    try {
      handle = await open(reportPath, 'wx');
    } catch (error) {
      if (errorCode(error) === 'EEXIST') continue;
      throw error;
    }
    let placed = false;
    try {
      placed = await placeExclusive(src, dest);
    } finally {
      if (!placed) {
        await handle.close();
        await removeSource(reportPath);
      }
    }
    if (!placed) continue;
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await removeSource(src);
    return dest;
  }
  throw new Error(`No free name for ${name} in ${errorDir} after ${MAX_SUFFIX} tries`);
}

/** Writes `text` to `path` atomically: a temp file beside it, fsync, rename, then fsync the folder (best effort). */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (error) {
    await removeSource(tmp).catch(() => undefined);
    throw error;
  }
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}
