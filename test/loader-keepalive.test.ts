/**
 * A started DirectoryLoader keeps the process alive while it watches, until
 * stop() (as fs.watch would), unless `unref: true`; with `watch: false` it
 * keeps it alive only while start() is loading. Real child processes: the
 * child reports whether its event loop ran dry ('beforeExit') while the
 * loader was still started, which cannot happen by accident either way.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanup, tempDir } from './loader-helpers.js';

const child = join(dirname(fileURLToPath(import.meta.url)), 'loader-keepalive.child.ts');

interface Run {
  lines: string[];
  code: number | null;
  stderr: string;
}

/** Runs the child; when a line matches `signalOn`, sends it SIGUSR2. */
function run(dir: string, mode: string, signalOn?: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buffered = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (signalOn?.test(line)) proc.kill('SIGUSR2');
      }
    });
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ lines, code, stderr }));
  });
}

describe('DirectoryLoader keeps the process alive', () => {
  it('while it watches, until stop()', { timeout: 60_000 }, async (t) => {
    const dir = await tempDir(cleanup(t));
    const result = await run(dir, 'watch', /^started/);
    assert.deepEqual(result.lines, ['started, 0 loaded', 'stopping on signal', 'stopped'], result.stderr);
    assert.equal(result.code, 0);
  });

  it('not with unref: true', { timeout: 60_000 }, async (t) => {
    const dir = await tempDir(cleanup(t));
    const result = await run(dir, 'unref');
    assert.deepEqual(result.lines, ['started, 0 loaded', 'idle while started', 'stopped'], result.stderr);
    assert.equal(result.code, 0);
  });

  it('with watch: false, only while start() loads (settling on unref\'d clock timers)', { timeout: 60_000 }, async (t) => {
    const dir = await tempDir(cleanup(t));
    await writeFile(join(dir, 'a.json'), JSON.stringify({ name: 'x', delay: '1h' }));
    const result = await run(dir, 'nowatch');
    assert.deepEqual(result.lines, ['started, 1 loaded', 'idle while started', 'stopped'], result.stderr);
    assert.equal(result.code, 0);
  });
});
