/**
 * The keep-mode memory of DirectoryLoader: which files were loaded, so a kept
 * file is not loaded again after a restart, and a kept file that changed is.
 * A small JSON file (by default `<dir>/.godelayq-loader.json`, hidden from
 * the default pattern), keyed by file name, holding size, mtime and the
 * content's SHA-256 plus the ids of the jobs the file scheduled.
 *
 * Writes are atomic (temp file + rename) and coalesced: `flush()` resolves
 * once a write containing every change made before the call is durable.
 * Losing a write is harmless: the file is loaded again and its derived job
 * ids make that a no-op.
 */
import { readFile } from 'node:fs/promises';
import { GodelayqError } from '../errors.js';
import { errorCode, writeFileAtomic } from './fs.js';

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

const VERSION = 1;

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

export class KeptManifest {
  private readonly entries = new Map<string, KeptEntry>();
  private generation = 0;
  private written = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /** Reads the file; a missing file is an empty manifest. Throws GodelayqError on a file it did not write. */
  async load(): Promise<void> {
    this.entries.clear();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw error;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new GodelayqError(`Expected the DirectoryLoader state file ${this.path} to be JSON, got unparseable content (delete it to load every kept file again)`, {
        cause: error,
      });
    }
    const files = (data as { version?: unknown; files?: unknown } | null)?.files;
    if ((data as { version?: unknown } | null)?.version !== VERSION || typeof files !== 'object' || files === null) {
      throw new GodelayqError(`Expected the DirectoryLoader state file ${this.path} to be { version: ${VERSION}, files }, got something else`);
    }
    for (const [name, entry] of Object.entries(files)) {
      if (isEntry(entry)) this.entries.set(name, entry);
    }
  }

  get(name: string): KeptEntry | undefined {
    return this.entries.get(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  set(name: string, entry: KeptEntry): void {
    this.entries.set(name, entry);
    this.generation++;
  }

  delete(name: string): void {
    if (this.entries.delete(name)) this.generation++;
  }

  /** Resolves once every change made so far is on disk. */
  flush(): Promise<void> {
    const target = this.generation;
    if (this.written >= target) return Promise.resolve();
    const next = this.chain
      .catch(() => undefined)
      .then(async () => {
        if (this.written >= target) return;
        const generation = this.generation;
        const files: Record<string, KeptEntry> = {};
        for (const [name, entry] of [...this.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) files[name] = entry;
        await writeFileAtomic(this.path, `${JSON.stringify({ version: VERSION, files }, null, 1)}\n`);
        this.written = Math.max(this.written, generation);
      });
    this.chain = next;
    return next;
  }
}
