/**
 * Reads a JSON-lines file in chunks (1 MiB by default) and hands every complete line to a
 * callback with its byte offset (for StoreCorruptError), yielding to the
 * event loop between chunks. The bytes after the last newline (a torn tail,
 * or nothing) are returned for the caller to judge.
 */
import type { FsLayer } from './fs.js';

const CHUNK = 1 << 20;

export interface ScanResult {
  /** File size in bytes. */
  size: number;
  /** Byte offset where the unterminated tail starts (= size when the file ends with a newline). */
  tailOffset: number;
  /** The unterminated tail's bytes (empty when the file ends with a newline). */
  tail: Buffer;
}

/**
 * Calls `onLine(text, offset)` for each newline-terminated line, in order.
 * `onLine` may throw to stop the scan.
 */
export async function scanLines(
  layer: FsLayer,
  file: string,
  onLine: (text: string, offset: number) => void,
  chunkSize: number = CHUNK,
): Promise<ScanResult> {
  const fd = await layer.open(file, 'r');
  try {
    const { size } = await layer.fstat(fd);
    let carry: Buffer = Buffer.alloc(0);
    let carryOffset = 0;
    let position = 0;
    while (position < size) {
      const want = Math.min(chunkSize, size - position);
      const chunk = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const n = await layer.read(fd, chunk, got, want - got, position + got);
        if (n === 0) break;
        got += n;
      }
      if (got === 0) break;
      position += got;
      const block = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, got)]) : chunk.subarray(0, got);
      const last = block.lastIndexOf(10);
      if (last < 0) {
        carry = block;
        continue;
      }
      emitLines(block, last + 1, carryOffset, onLine);
      carryOffset += last + 1;
      carry = block.subarray(last + 1);
      // Copy so the (large) block can be collected.
      if (carry.length > 0) carry = Buffer.from(carry);
    }
    return { size: position, tailOffset: carryOffset, tail: carry };
  } finally {
    await layer.close(fd).catch(() => undefined);
  }
}

/** Emits the lines of block[0, end) (end just past a newline). */
function emitLines(block: Buffer, end: number, blockOffset: number, onLine: (text: string, offset: number) => void): void {
  const text = block.toString('utf8', 0, end);
  if (text.length === end) {
    // Pure ASCII (the common case: JSON.stringify of ASCII data): string
    // indices are byte offsets, so one decode serves every line.
    let p = 0;
    while (p < end) {
      const e = text.indexOf('\n', p);
      onLine(text.slice(p, e), blockOffset + p);
      p = e + 1;
    }
    return;
  }
  let p = 0;
  while (p < end) {
    const e = block.indexOf(10, p);
    onLine(block.toString('utf8', p, e), blockOffset + p);
    p = e + 1;
  }
}
