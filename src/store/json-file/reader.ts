/**
 * Reads a JSON-lines file in chunks (1 MiB by default) and hands every
 * complete line to a callback with its bytes and byte offset (for
 * StoreCorruptError), awaiting I/O between chunks. A line longer than a
 * chunk is gathered piece by piece and joined once (linear in its length).
 * The bytes after the last newline (a torn tail, or nothing) are returned
 * for the caller to judge.
 */
import { isAscii } from 'node:buffer';
import { type FsLayer, readAt } from './fs.js';

const CHUNK = 1 << 20;

/** One line, valid only during the callback (it is reused). */
export class Line {
  block: Buffer = Buffer.alloc(0);
  /** Byte range of the line in `block`, without its newline. */
  start = 0;
  end = 0;
  /** Byte offset of the line in the file. */
  offset = 0;
  /**
   * Whether the block (its first `asciiEnd` bytes) is pure ASCII: a byte is
   * a character, so a line is copied out as latin1, not decoded. Learnt on
   * the first `text` of a block (a block whose lines are all read as bytes,
   * cold-jobs.ts, never needs it).
   */
  #ascii: boolean | undefined;
  asciiEnd = 0;

  /** A new block: whether it is ASCII is not known yet. */
  reset(block: Buffer, end: number): void {
    this.block = block;
    this.asciiEnd = end;
    this.#ascii = undefined;
  }

  /** The line's text. */
  text(from = this.start, to = this.end): string {
    this.#ascii ??= isAscii(this.asciiEnd === this.block.length ? this.block : this.block.subarray(0, this.asciiEnd));
    return this.block.toString(this.#ascii ? 'latin1' : 'utf8', from, to);
  }

  /** Byte `i` of the line (0-based), or -1 past its end. */
  byte(i: number): number {
    const p = this.start + i;
    return p < this.end ? (this.block[p] as number) : -1;
  }

  get length(): number {
    return this.end - this.start;
  }
}

export interface ScanResult {
  /** File size in bytes (as read). */
  size: number;
  /** Byte offset where the unterminated tail starts (= size when the file ends with a newline). */
  tailOffset: number;
  /** The unterminated tail's bytes (empty when the file ends with a newline). */
  tail: Buffer;
  /** Size of the whole file (more than `size` when `limit` stopped the scan). */
  fileSize: number;
}

export interface ScanOptions {
  chunkSize?: number;
  /** Read only this many bytes (the rest of the file is not this scan's business). */
  limit?: number;
}

/**
 * Calls `onLine(line)` for each newline-terminated line, in order. `onLine`
 * may throw to stop the scan.
 */
export async function scanLines(layer: FsLayer, file: string, onLine: (line: Line) => void, options: ScanOptions = {}): Promise<ScanResult> {
  const chunkSize = options.chunkSize ?? CHUNK;
  const fd = await layer.open(file, 'r');
  const line = new Line();
  try {
    const { size: fileSize } = await layer.fstat(fd);
    const size = options.limit === undefined ? fileSize : Math.min(options.limit, fileSize);
    /** Pieces of the line that started in an earlier chunk and has not ended yet. */
    let carry: Buffer[] = [];
    let carryBytes = 0;
    let lineOffset = 0;
    let position = 0;
    while (position < size) {
      const data = await readAt(layer, fd, Math.min(chunkSize, size - position), position);
      const got = data.length;
      if (got === 0) break;
      position += got;
      const first = data.indexOf(10);
      if (first < 0) {
        carry.push(data);
        carryBytes += got;
        continue;
      }
      let from = 0;
      if (carryBytes > 0) {
        // The carried line ends in this chunk: join its pieces once.
        carry.push(data.subarray(0, first));
        const joined = Buffer.concat(carry, carryBytes + first);
        carry = [];
        carryBytes = 0;
        emitLines(line, joined, joined.length, lineOffset, onLine, true);
        lineOffset += joined.length + 1;
        from = first + 1;
      }
      const last = data.lastIndexOf(10);
      if (last >= from) {
        emitLines(line, from === 0 ? data : data.subarray(from), last + 1 - from, lineOffset, onLine);
        lineOffset += last + 1 - from;
      }
      if (last + 1 < got) {
        // Copy so the chunk can be collected.
        const rest = Buffer.from(data.subarray(last + 1));
        carry.push(rest);
        carryBytes += rest.length;
      }
    }
    const tail = carry.length === 0 ? Buffer.alloc(0) : Buffer.concat(carry, carryBytes);
    return { size: position, tailOffset: lineOffset, tail, fileSize };
  } finally {
    await layer.close(fd).catch(() => undefined);
  }
}

/** Emits the lines of block[0, end): `end` is just past a newline, or (`whole`) the end of the one line. */
function emitLines(line: Line, block: Buffer, end: number, blockOffset: number, onLine: (line: Line) => void, whole = false): void {
  // Pure ASCII (the common case: JSON.stringify of ASCII data): each line
  // is copied out as latin1, a plain byte copy into a flat string, instead
  // of decoding the whole block as UTF-8 and slicing it (a block decoded as
  // latin1 at once would be an external string, which JSON.parse reads slower).
  line.reset(block, end);
  let p = 0;
  while (p < end) {
    const e = whole ? end : block.indexOf(10, p);
    line.start = p;
    line.end = e;
    line.offset = blockOffset + p;
    onLine(line);
    p = e + 1;
  }
}
