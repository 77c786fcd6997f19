/**
 * The keep-mode memory of DirectoryLoader: which files were loaded, so a kept
 * file is not loaded again after a restart, and a kept file that changed is.
 * By default `<dir>/.godelayq-loader.json` (hidden from the default pattern).
 *
 * FORMAT (version 2): JSON lines, readable with `jq`.
 *   {"godelayqLoaderState":2}
 *   {"set":"a.json","size":12,"mtimeMs":…,"sha256":"…","jobIds":["…"],"loadedAt":"…","crc":"1c291ca3"}
 *   {"delete":"a.json","crc":"…"}
 * `crc`: zlib.crc32 (hex) of the line without its `,"crc":…` part, so a
 * changed byte is noticed.
 *
 * HOW
 * - A change is one appended line, acknowledged (its promise resolves) once
 *   written and fsynced. Changes made while a write is under way share the
 *   next write and fsync (group commit). Cost per change does not grow with
 *   the number of kept files: version 1 rewrote the whole file after every
 *   loaded file, which made 10,000 files quadratic (90 s, 3.7 s stalls).
 * - When the log holds more than twice as many lines as kept files (and at
 *   least COMPACT_MIN), or after a failed append, the file is compacted: all
 *   live entries written to a temp file in slices that yield to the event
 *   loop, fsynced, renamed over the old one, the folder fsynced.
 *
 * WHY this is crash-safe: the file only grows by whole lines, or is replaced
 * by an atomic rename. A crash can leave one last line without its newline:
 * that append was never acknowledged, so its file was never reported loaded;
 * it is dropped at load, and the file is loaded again, which adds nothing
 * because its job ids are derived from the file. Any other damage is an
 * error naming the line, with the files left untouched. Version 1 files are
 * read and converted.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { GodelayqError } from '../errors.js';
import { type LoaderFs, syncDir, writeAll } from './fs-layer.js';
import { errorCode } from './fs.js';
import { idleTurn } from '../idle-turn.js';

/** What is remembered about one kept file. */
export interface KeptEntry {
  size: number;
  mtimeMs: number;
  /** SHA-256 of the content, hex. */
  sha256: string;
  /** Ids of the jobs the file scheduled, in file order. */
  jobIds: string[];
  /** ISO instant of the load. */
  loadedAt: string;
}

const VERSION = 2;
const HEADER = `{"godelayqLoaderState":${VERSION}}`;
/** Below this many lines the log is never compacted. */
export const COMPACT_MIN = 1024;
/** Lines parsed or written between two yields to the event loop. */
const SLICE = 1000;
const CRC_TAIL = /,"crc":"([0-9a-f]{8})"\}$/;


function isEntry(value: unknown): value is KeptEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.size === 'number' &&
    typeof e.mtimeMs === 'number' &&
    typeof e.sha256 === 'string' &&
    typeof e.loadedAt === 'string' &&
    Array.isArray(e.jobIds) &&
    e.jobIds.every((id) => typeof id === 'string')
  );
}

function crcHex(text: string): string {
  return crc32(text).toString(16).padStart(8, '0');
}

function setLine(name: string, e: KeptEntry): string {
  const body = JSON.stringify({ set: name, size: e.size, mtimeMs: e.mtimeMs, sha256: e.sha256, jobIds: e.jobIds, loadedAt: e.loadedAt });
  return `${body.slice(0, -1)},"crc":"${crcHex(body)}"}\n`;
}

function deleteLine(name: string): string {
  const body = JSON.stringify({ delete: name });
  return `${body.slice(0, -1)},"crc":"${crcHex(body)}"}\n`;
}

interface Pending {
  line: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class KeptManifest {
  private readonly entries = new Map<string, KeptEntry>();
  private readonly queue: Pending[] = [];
  private writer: Promise<void> = Promise.resolve();
  private draining = false;
  private fd: number | undefined;
  /** Change lines in the file (the header not counted). */
  private lines = 0;
  /** An append failed: the file may end in a partial line, so the next write is a compaction. */
  private broken = false;

  constructor(
    readonly path: string,
    private readonly layer: LoaderFs,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(name: string): KeptEntry | undefined {
    return this.entries.get(name);
  }

  names(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** Remembers `name`; resolves once that is durable. */
  set(name: string, entry: KeptEntry): Promise<void> {
    this.entries.set(name, entry);
    return this.enqueue(setLine(name, entry));
  }

  /** Forgets `name`; resolves once that is durable. */
  delete(name: string): Promise<void> {
    if (!this.entries.delete(name)) return Promise.resolve();
    return this.enqueue(deleteLine(name));
  }

  /**
   * Reads the file (a missing one is an empty memory) and opens it for
   * appending. Throws GodelayqError for content this class did not write.
   */
  async load(): Promise<void> {
    await this.close();
    this.entries.clear();
    this.lines = 0;
    let text: string | undefined;
    try {
      text = await this.readText();
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    let rewrite = text === undefined;
    if (text !== undefined) {
      if (text.startsWith(`${HEADER}\n`)) rewrite = await this.parseLines(text);
      else {
        this.parseVersion1(text);
        rewrite = true;
      }
    }
    if (rewrite) await this.compact();
    else this.fd = await this.layer.open(this.path, constants.O_WRONLY | constants.O_APPEND);
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    while (this.draining) await this.writer;
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      await this.layer.close(fd);
    }
  }

  private async readText(): Promise<string> {
    const fd = await this.layer.open(this.path, constants.O_RDONLY);
    try {
      const chunks: Uint8Array[] = [];
      for (;;) {
        const chunk = new Uint8Array(1 << 20);
        const n = await this.layer.read(fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        chunks.push(chunk.subarray(0, n));
      }
      return Buffer.concat(chunks).toString('utf8');
    } finally {
      await this.layer.close(fd);
    }
  }

  private corrupt(line: number, what: string): GodelayqError {
    return new GodelayqError(
      `Expected the DirectoryLoader state file ${this.path} to hold only lines it wrote, got ${what} at line ${line}. ` +
        'Delete the file to load every kept file again (their jobs are not duplicated while the store still holds them: ids derive from the file).',
    );
  }

  /** Version 2. Returns true when the file should be rewritten (a torn last line to drop). */
  private async parseLines(text: string): Promise<boolean> {
    const lines = text.split('\n');
    // The text ends with "\n" unless a crash cut the last append short: that line was never acknowledged.
    const torn = lines.pop() !== '';
    for (let i = 1; i < lines.length; i++) {
      if (i % SLICE === 0) await idleTurn();
      const line = lines[i] as string;
      const match = CRC_TAIL.exec(line);
      const body = match ? `${line.slice(0, match.index)}}` : '';
      if (!match || crcHex(body) !== match[1]) throw this.corrupt(i + 1, 'a line whose checksum does not match');
      let change: Record<string, unknown>;
      try {
        change = JSON.parse(body) as Record<string, unknown>;
      } catch {
        throw this.corrupt(i + 1, 'a line that is not JSON');
      }
      if (typeof change.delete === 'string') this.entries.delete(change.delete);
      else if (typeof change.set === 'string' && isEntry(change)) {
        const { size, mtimeMs, sha256, jobIds, loadedAt } = change;
        this.entries.set(change.set, { size, mtimeMs, sha256, jobIds, loadedAt });
      } else throw this.corrupt(i + 1, 'a line that is neither a set nor a delete');
      this.lines++;
    }
    return torn;
  }

  /** Version 1: `{ version: 1, files: { name: entry } }`, rewritten in full after every change. */
  private parseVersion1(text: string): void {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw this.corrupt(1, 'content that is neither version 2 lines nor version 1 JSON');
    }
    const files = (data as { files?: unknown } | null)?.files;
    if ((data as { version?: unknown } | null)?.version !== 1 || typeof files !== 'object' || files === null) {
      throw this.corrupt(1, 'JSON that is not { version: 1, files }');
    }
    for (const [name, entry] of Object.entries(files)) {
      if (isEntry(entry)) this.entries.set(name, entry);
    }
  }

  private enqueue(line: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        this.writer = this.drain();
      }
    });
  }

  /** Writes queued changes, each batch with one write and one fsync, until none is left. */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        try {
          if (this.fd === undefined) throw new GodelayqError(`The DirectoryLoader state file ${this.path} is not open (the loader is stopped)`);
          if (this.broken || (this.lines >= COMPACT_MIN && this.lines > 2 * this.entries.size)) {
            // The entries map already holds every change of the batch.
            await this.compact();
          } else {
            await writeAll(this.layer, this.fd, new TextEncoder().encode(batch.map((p) => p.line).join('')), null);
            this.lines += batch.length;
            await this.layer.fsync(this.fd);
          }
          for (const p of batch) p.resolve();
        } catch (error) {
          this.broken = true;
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      // In the same turn as the loop's last check, before any caller resumes: a change queued
      // after it starts a new drain.
      this.draining = false;
    }
  }

  /** Rewrites the file with one line per live entry (temp file, fsync, rename, folder fsync) and reopens it for appending. */
  private async compact(): Promise<void> {
    const snapshot = [...this.entries];
    const tmp = join(dirname(this.path), `${basename(this.path)}.${randomBytes(6).toString('hex')}.tmp`);
    const fd = await this.layer.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666);
    let renamed = false;
    try {
      try {
        await writeAll(this.layer, fd, new TextEncoder().encode(`${HEADER}\n`), null);
        for (let i = 0; i < snapshot.length; i += SLICE) {
          const text = snapshot
            .slice(i, i + SLICE)
            .map(([name, entry]) => setLine(name, entry))
            .join('');
          await writeAll(this.layer, fd, new TextEncoder().encode(text), null);
          if (i + SLICE < snapshot.length) await idleTurn();
        }
        await this.layer.fsync(fd);
      } finally {
        await this.layer.close(fd);
      }
      await this.layer.rename(tmp, this.path);
      renamed = true;
    } finally {
      if (!renamed) await this.layer.unlink(tmp).catch(() => undefined);
    }
    await syncDir(this.layer, dirname(this.path));
    const old = this.fd;
    this.fd = await this.layer.open(this.path, constants.O_WRONLY | constants.O_APPEND);
    if (old !== undefined) await this.layer.close(old).catch(() => undefined);
    this.lines = snapshot.length;
    this.broken = false;
  }
}
