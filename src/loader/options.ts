/**
 * DirectoryLoader's public option and event types, and the check of the
 * options at construction (every bad option is a ValidationError before
 * anything touches the disk).
 */
import { basename, dirname, join, resolve } from 'node:path';
import { SystemClock, type Clock } from '../clock.js';
import { ValidationError } from '../errors.js';
import { checkDelay, checkKeys, checkOptionsObject, checkPositiveInt, show } from '../validate.js';
import { type LoaderFs, nodeLoaderFs } from './fs-layer.js';
import { compileGlob } from './glob.js';

/** Options of `new DirectoryLoader()`. */
export interface DirectoryLoaderOptions {
  /** Folder to load job files from (created if missing). */
  dir: string;
  /** File names to load: `*` and `?` wildcards; a wildcard never matches a leading dot. @default '*.json' */
  pattern?: string;
  /** What happens to a file once its jobs are scheduled. @default 'archive' */
  onLoaded?: 'archive' | 'delete' | 'keep';
  /** Where loaded files go as `<UTC timestamp>-<name>` (onLoaded 'archive'). May be inside `dir`, not `dir` itself. @default `<dir>/archive` */
  archiveDir?: string;
  /** Where bad files go, each beside `<name>.error.json`. May be inside `dir`, not `dir` itself. @default `<dir>/error` */
  errorDir?: string;
  /** Watch the folder (fs.watch plus a periodic rescan). `false`: only `start()` and `scan()` look. @default true */
  watch?: boolean;
  /** A file is read once its size and mtime stayed unchanged this long, ms. @default 500 */
  settleMs?: number;
  /** A file that is not (yet) valid JSON is declared bad only once unchanged this long, ms: it may still be being written. @default 5000 */
  graceMs?: number;
  /** Full rescan interval while watching, ms (the safety net for missed fs.watch events); 0 turns it off. @default 5000 */
  rescanMs?: number;
  /** Files read and scheduled at once. @default 8 */
  concurrency?: number;
  /** Larger files are bad. @default 10485760 (10 MiB) */
  maxFileBytes?: number;
  /** onLoaded 'keep': where loaded files are remembered across restarts. @default `<dir>/.godelayq-loader.json` */
  stateFile?: string;
  /**
   * Load a symbolic link whose target is a regular file inside `dir` (e.g.
   * a Kubernetes ConfigMap mount, where every file is a link into `..data/`).
   * A link leading outside `dir` is still refused, unread. By default every
   * symbolic link, FIFO, socket or device in `dir` is a bad file, never read.
   * @default false
   */
  followSymlinks?: boolean;
  /**
   * Time source for the loader's own waits (settling, grace, retries,
   * rescans) and for archive names and report times. Pass the
   * scheduler's VirtualClock in tests so they need not sleep.
   * @default the system clock
   */
  clock?: Clock;
  /** `true`: a watching loader does not keep the process alive by itself. @default false */
  unref?: boolean;
  /** File-system layer, for tests that inject faults. @default the real file system */
  fs?: LoaderFs;
}

/** Event name → payload of DirectoryLoader (one object each). */
export interface DirectoryLoaderEvents {
  /** Every job of `file` is scheduled (`jobIds` in file order); `archivedTo` with onLoaded 'archive'. */
  fileLoaded: { file: string; jobIds: string[]; archivedTo?: string };
  /**
   * `file` was not loaded. `willRetry: false`: it is bad and was moved to
   * `movedTo` in errorDir (unless that move failed); `willRetry: true`: a
   * transient failure, the file stays and is tried again.
   */
  fileFailed: { file: string; error: Error; willRetry: boolean; movedTo?: string };
  /** The loader's own failures: watching, reading the folder, archiving, deleting, the state file. */
  error: { error: Error; file?: string };
}

/** The options, checked, with every default filled in. */
export interface LoaderConfig {
  dir: string;
  matches: (name: string) => boolean;
  onLoaded: 'archive' | 'delete' | 'keep';
  archiveDir: string;
  errorDir: string;
  watch: boolean;
  settleMs: number;
  graceMs: number;
  rescanMs: number;
  concurrency: number;
  maxFileBytes: number;
  stateFile: string;
  /** Names in `dir` that belong to the state file (it, its temp files): never loaded. */
  isStateName: (name: string) => boolean;
  followSymlinks: boolean;
  clock: Clock;
  unref: boolean;
  fs: LoaderFs;
}

const OPTION_KEYS = new Set([
  'dir',
  'pattern',
  'onLoaded',
  'archiveDir',
  'errorDir',
  'watch',
  'settleMs',
  'graceMs',
  'rescanMs',
  'concurrency',
  'maxFileBytes',
  'stateFile',
  'followSymlinks',
  'clock',
  'unref',
  'fs',
]);

const FS_METHODS = ['lstat', 'stat', 'fstat', 'readdir', 'mkdir', 'realpath', 'open', 'close', 'read', 'write', 'fsync', 'link', 'symlink', 'readlink', 'rename', 'unlink'] as const;

function checkPath(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(`Expected \`${what}\` to be a non-empty path string, got ${show(value)}`);
  return resolve(value);
}

function checkBoolean(value: unknown, what: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ValidationError(`Expected \`${what}\` to be a boolean, got ${show(value)}`);
  return value;
}

function checkClock(value: unknown): Clock {
  if (value === undefined) return new SystemClock();
  const c = value as Partial<Clock> | null;
  if (typeof c?.now !== 'function' || typeof c.setTimer !== 'function') {
    throw new ValidationError(`Expected \`options.clock\` to be a Clock ({ now(), setTimer() }), got ${show(value)}`);
  }
  return value as Clock;
}

function checkFs(value: unknown): LoaderFs {
  if (value === undefined) return nodeLoaderFs;
  const layer = value as Record<string, unknown> | null;
  const missing = FS_METHODS.filter((m) => typeof layer?.[m] !== 'function');
  if (missing.length > 0) throw new ValidationError(`Expected \`options.fs\` to be a LoaderFs, got ${show(value)} (missing ${missing.join(', ')})`);
  return value as LoaderFs;
}

/** Checks `options` (ValidationError on the first bad one) and fills in the defaults. */
export function readOptions(options: DirectoryLoaderOptions): LoaderConfig {
  const o = checkOptionsObject(options, 'options');
  if (!o) throw new ValidationError('Expected `options` to be { dir, ... }, got undefined');
  checkKeys(o, OPTION_KEYS, 'options');
  const dir = checkPath(o.dir, 'options.dir');
  const onLoaded = o.onLoaded ?? 'archive';
  if (onLoaded !== 'archive' && onLoaded !== 'delete' && onLoaded !== 'keep') {
    throw new ValidationError(`Expected \`options.onLoaded\` to be 'archive', 'delete' or 'keep', got ${show(onLoaded)}`);
  }
  const archiveDir = o.archiveDir === undefined ? join(dir, 'archive') : checkPath(o.archiveDir, 'options.archiveDir');
  const errorDir = o.errorDir === undefined ? join(dir, 'error') : checkPath(o.errorDir, 'options.errorDir');
  if (errorDir === dir) throw new ValidationError(`Expected \`options.errorDir\` to differ from \`options.dir\`, got both ${show(dir)}`);
  if (onLoaded === 'archive' && archiveDir === dir) {
    throw new ValidationError(`Expected \`options.archiveDir\` to differ from \`options.dir\`, got both ${show(dir)}`);
  }
  const stateFile = o.stateFile === undefined ? join(dir, '.godelayq-loader.json') : checkPath(o.stateFile, 'options.stateFile');
  const own = basename(stateFile);
  const stateInDir = dirname(stateFile) === dir;
  return {
    dir,
    matches: compileGlob(o.pattern ?? '*.json'),
    onLoaded,
    archiveDir,
    errorDir,
    watch: checkBoolean(o.watch, 'options.watch', true),
    settleMs: o.settleMs === undefined ? 500 : checkDelay(o.settleMs, 'options.settleMs'),
    graceMs: o.graceMs === undefined ? 5000 : checkDelay(o.graceMs, 'options.graceMs'),
    rescanMs: o.rescanMs === undefined ? 5000 : checkDelay(o.rescanMs, 'options.rescanMs'),
    concurrency: o.concurrency === undefined ? 8 : checkPositiveInt(o.concurrency, 'options.concurrency'),
    maxFileBytes: o.maxFileBytes === undefined ? 10 * 1024 * 1024 : checkPositiveInt(o.maxFileBytes, 'options.maxFileBytes'),
    stateFile,
    isStateName: (name) => stateInDir && (name === own || name.startsWith(`${own}.`) || name.startsWith(`.${own}.`)),
    followSymlinks: checkBoolean(o.followSymlinks, 'options.followSymlinks', false),
    clock: checkClock(o.clock),
    unref: checkBoolean(o.unref, 'options.unref', false),
    fs: checkFs(o.fs),
  };
}
