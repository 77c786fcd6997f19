/**
 * Journal files as files: creating one (header only, never replacing an
 * existing file), opening one for appending, and telling whether the name
 * still leads to the file a store has open.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { StorePersistError, toError } from '../../errors.js';
import { journalHeaderLine, journalName, tempName } from './format.js';
import { type FsLayer, createFile, hasCode, syncDir } from './fs.js';
import { type JournalFile, journalOpenFlags } from './journal.js';

/** Opens journal `file` (generation `gen`) for appending at its end. */
export async function openJournal(layer: FsLayer, file: string, gen: number, sync: boolean): Promise<JournalFile> {
  const { flags, dsync } = journalOpenFlags(sync);
  const fd = await layer.open(file, flags);
  try {
    const s = await layer.fstat(fd);
    return { path: file, gen, fd, size: s.size, dsync, ino: s.ino, dev: s.dev };
  } catch (error) {
    await layer.close(fd).catch(() => undefined);
    throw error;
  }
}

/**
 * Creates journal `gen` in `dir` holding just its header (`prev`: the length
 * of the journal before it; `closed`: started by a clean close) and opens
 * it. Never replaces an existing file. If it fails once the file exists, the
 * file is removed again: left in place, it would end the chain of the
 * journal before it at `prev`. When even that fails, `stuck(reason)` is
 * called (the store stops writing).
 */
export async function createJournal(
  layer: FsLayer,
  dir: string,
  storeId: string,
  sync: boolean,
  what: { gen: number; prev: number | undefined; closed: boolean },
  stuck: (reason: string) => void,
): Promise<JournalFile> {
  const { gen, prev, closed } = what;
  const file = path.join(dir, journalName(gen));
  const header = Buffer.from(
    journalHeaderLine({ store: storeId, generation: gen, ...(prev === undefined ? {} : { prev }), ...(closed ? { closed: true as const } : {}) }),
  );
  try {
    await createFile(layer, path.join(dir, tempName(journalName(gen), storeId, randomBytes(6).toString('base64url'))), file, header, sync);
    if (sync) await syncDir(layer, dir);
    const opened = await openJournal(layer, file, gen, sync);
    if (opened.size !== header.length) {
      await layer.close(opened.fd).catch(() => undefined);
      throw new StorePersistError(`Could not create journal ${file}: expected ${header.length} bytes, got ${opened.size}`);
    }
    return opened;
  } catch (error) {
    try {
      const now = await layer.readFile(file).catch((e: unknown) => {
        if (hasCode(e, 'ENOENT')) return undefined;
        throw e;
      });
      if (now?.equals(header)) {
        await layer.unlink(file);
        if (sync) await syncDir(layer, dir);
      }
    } catch (removal) {
      stuck(
        `journal ${file} could not be made ready (${toError(error).message}) nor removed (${toError(removal).message}); ` +
          'writing on in the journal before it could lose changes',
      );
    }
    throw error;
  }
}

/**
 * Undefined while the name of `file` leads to it; else why not (removed,
 * replaced). Rejects when that cannot be told (the stat failed otherwise).
 */
export async function journalGone(layer: FsLayer, file: JournalFile): Promise<string | undefined> {
  try {
    const s = await layer.stat(file.path);
    return s.ino === file.ino && s.dev === file.dev ? undefined : `journal ${file.path} was replaced by another file`;
  } catch (error) {
    if (hasCode(error, 'ENOENT') || hasCode(error, 'ENOTDIR')) return `journal ${file.path} was removed (was the store folder deleted or moved?)`;
    throw error;
  }
}
