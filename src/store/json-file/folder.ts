/**
 * The store folder itself: created (with its parents, each fsynced into its
 * parent) when missing; refused when the path is a file, or a folder that
 * holds other things and no store, so `new JsonFileStore('./jobs.json')` or
 * `new JsonFileStore('/')` fails with a clear message instead of writing
 * store files among someone else's.
 */
import path from 'node:path';
import { StorePersistError, ValidationError, toError } from '../../errors.js';
import { type FsLayer, hasCode, syncDir } from './fs.js';
import { pidExists } from './identity.js';
import { lockTempInUse } from './lock.js';
import { type FolderListing, listFolder } from './recover.js';

/** Names a fresh store folder may hold besides the lock's: hidden files and a file system's lost+found. */
const harmless = (name: string): boolean => name.startsWith('.') || name === 'lost+found';

/** A folder path to suggest instead of `dir`. */
function suggestion(dir: string): string {
  const parsed = path.parse(dir);
  return parsed.ext ? path.join(parsed.dir, parsed.name) : path.join(dir, 'jobs');
}

/** Makes sure `dir` is a folder this store may use, creating it when missing. */
export async function prepareFolder(layer: FsLayer, dir: string, sync: boolean): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await layer.stat(dir)).isDirectory;
  } catch (error) {
    if (!hasCode(error, 'ENOENT')) throw new StorePersistError(`Could not read store folder ${dir}: ${toError(error).message}`, { cause: error });
    await createFolder(layer, dir, sync);
    return;
  }
  if (!isDirectory) {
    throw new ValidationError(
      `Expected \`path\` to be a folder for JsonFileStore, got ${dir}, which is a file. Pass the path of a folder of its own (created if missing), e.g. ${suggestion(dir)}`,
    );
  }
  // The folder may exist only in the page cache: created by an open whose
  // parent fsync failed (and that was retried), or by a process that crashed
  // before syncing it. Nothing tells those apart from an old folder, so every
  // open syncs the parent once; acknowledged writes would otherwise vanish
  // with the folder's name at a power cut.
  if (sync) await syncParent(layer, dir);
  let names: string[];
  try {
    names = await layer.readdir(dir);
  } catch (error) {
    throw new StorePersistError(`Could not read store folder ${dir}: ${toError(error).message}`, { cause: error });
  }
  const listing = listFolder(names);
  if (listing.journals.length > 0 || listing.snapshots.length > 0) return;
  // Our temp files and lock files are a store's (whose first open failed).
  const foreign = [...listing.others.filter((n) => !harmless(n)), ...listing.lookalikes];
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? ', …' : '');
    throw new ValidationError(
      `Expected \`path\` to be an empty folder or a JsonFileStore folder, got ${dir}, which holds ${foreign.length} other entr${foreign.length === 1 ? 'y' : 'ies'} (${shown}). ` +
        `Pass a folder of its own (created if missing), e.g. ${path.join(dir, 'jobs')}`,
    );
  }
}

/**
 * fsyncs the folder that holds `dir`. A parent this process may not open
 * (EACCES/EPERM: a folder an operator created under a locked-down parent) is
 * left as is; any other failure fails the open, which the scheduler retries.
 */
async function syncParent(layer: FsLayer, dir: string): Promise<void> {
  const parent = path.dirname(dir);
  if (parent === dir) return;
  try {
    await syncDir(layer, parent);
  } catch (error) {
    if (hasCode(error, 'EACCES') || hasCode(error, 'EPERM')) return;
    throw new StorePersistError(`Could not sync the folder holding store folder ${dir}: ${toError(error).message}`, { cause: error });
  }
}

/** Creates `dir` and any missing parents, fsyncing each new name into its parent. */
async function createFolder(layer: FsLayer, dir: string, sync: boolean): Promise<void> {
  const missing: string[] = [];
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      await layer.stat(at);
      break;
    } catch (error) {
      if (!hasCode(error, 'ENOENT') || path.dirname(at) === at) {
        throw new StorePersistError(`Could not create store folder ${dir}: ${toError(error).message}`, { cause: error });
      }
      missing.unshift(at);
    }
  }
  try {
    for (const folder of missing) {
      try {
        await layer.mkdir(folder);
      } catch (error) {
        if (!hasCode(error, 'EEXIST')) throw error;
      }
      // The new name is durable only once its parent folder is synced.
      if (sync) await syncDir(layer, path.dirname(folder));
    }
  } catch (error) {
    throw new StorePersistError(`Could not create store folder ${dir}: ${toError(error).message}`, { cause: error });
  }
}

/**
 * At open, after recovery: deletes what this store provably left behind
 * (superseded generations, its own temp files, lock candidates of processes
 * that are gone) and warns about files that look like store files but that
 * it did not write (left in place: they may be someone's).
 */
export async function removeLeftovers(
  layer: FsLayer,
  dir: string,
  listing: FolderListing,
  store: { obsolete: readonly string[]; storeId: string; newStore: boolean },
  sync: boolean,
  warn: (message: string) => void,
): Promise<void> {
  const remove: string[] = [...store.obsolete];
  const foreign: string[] = [...listing.lookalikes];
  // A temp of this store, or (a new store) of the open that failed to create it.
  for (const temp of listing.temps) (temp.store === store.storeId || store.newStore ? remove : foreign).push(temp.name);
  // A lock candidate of a process that is gone (a live one may be about to link it).
  for (const temp of listing.lockTemps) {
    if (temp.pid === process.pid ? !lockTempInUse(temp.name) : !pidExists(temp.pid)) remove.push(temp.name);
  }
  for (const name of remove) {
    await layer.unlink(path.join(dir, name)).catch((error: unknown) => {
      if (!hasCode(error, 'ENOENT')) warn(`Could not remove leftover ${name} in ${dir}: ${toError(error).message}`);
    });
  }
  if (remove.length > 0 && sync) await syncDir(layer, dir).catch(() => undefined);
  if (foreign.length > 0) {
    warn(`Left ${foreign.length} file(s) in ${dir} that look like store files but were not written by this store: ${foreign.join(', ')}`);
  }
}
