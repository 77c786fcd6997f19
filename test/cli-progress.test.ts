/**
 * The `godelayq` progress bar (src/cli/progress.ts): drawn on a terminal
 * only, only once a read has taken a moment, throttled, and erased when done
 * (stdout is never touched).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress } from '../src/cli/progress.js';

function fakeStream(isTTY: boolean): { isTTY: boolean; columns: number; written: string[]; write(chunk: string): boolean } {
  return {
    isTTY,
    columns: 80,
    written: [],
    write(chunk: string) {
      this.written.push(chunk);
      return true;
    },
  };
}

describe('progress bar', () => {
  it('draws on a terminal after the delay, at most every 100 ms, then erases itself', () => {
    let now = 0;
    const stream = fakeStream(true);
    const bar = createProgress('reading jobs', { stream, now: () => now, delayMs: 250 });
    bar.update(10, 100);
    now = 200;
    bar.update(20, 100);
    assert.deepEqual(stream.written, [], 'nothing before the delay');
    now = 260;
    bar.update(50 * 1048576, 100 * 1048576);
    assert.equal(stream.written.length, 1);
    assert.match(stream.written[0]!, /^\rreading jobs \[#+-+\] {2}50% 50\.0 MB\/100\.0 MB$/);
    now = 300;
    bar.update(60, 100);
    assert.equal(stream.written.length, 1, 'throttled');
    now = 400;
    bar.update(100, 100);
    assert.match(stream.written[1]!, /\[#+\] 100%/);
    bar.finish();
    assert.equal(stream.written.at(-1), '\r\x1b[2K');
  });

  it('stays silent when stderr is not a terminal, and erases nothing it did not draw', () => {
    let now = 0;
    const stream = fakeStream(false);
    const bar = createProgress('x', { stream, now: () => now });
    now = 10_000;
    bar.update(1, 2);
    bar.finish();
    assert.deepEqual(stream.written, []);
    const tty = fakeStream(true);
    createProgress('x', { stream: tty, now: () => 0 }).finish();
    assert.deepEqual(tty.written, []);
  });
});
