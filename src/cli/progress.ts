/**
 * A progress bar on stderr for long reads (a big store folder). Drawn only
 * when stderr is a terminal, only once a read has taken a moment (short
 * reads stay silent), at most every 100 ms, and erased when done, so stdout
 * stays clean for pipes and `--json`.
 */

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): boolean;
}

export interface Progress {
  update(done: number, total: number): void;
  /** Erases the bar (if one was drawn). */
  finish(): void;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** Monotonic ms. @default performance.now */
  now?: () => number;
  /** Draw nothing before this many ms. @default 250 */
  delayMs?: number;
}

const SILENT: Progress = { update: () => undefined, finish: () => undefined };

function megabytes(n: number): string {
  return `${(n / 1048576).toFixed(1)} MB`;
}

/** A bar labelled `label`, or a silent one when the stream is not a terminal. */
export function createProgress(label: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY) return SILENT;
  const now = options.now ?? (() => performance.now());
  const start = now();
  const delay = options.delayMs ?? 250;
  let last = -Infinity;
  let drawn = false;
  return {
    update(done, total) {
      const t = now();
      if (t - start < delay || t - last < 100) return;
      last = t;
      const fraction = total > 0 ? Math.min(1, done / total) : 0;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - 30));
      const filled = Math.round(fraction * width);
      stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${megabytes(done)}/${megabytes(total)}`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
