/**
 * A started scheduler keeps the process alive while a job is scheduled or
 * running, and lets it end when nothing is left (issue 15 #1, SPEC §4);
 * `unref: true` never holds it. Real child processes, real time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./fixtures/keepalive-child.ts', import.meta.url));

function run(...args: string[]): Promise<{ code: number | null; lines: Record<string, number | string>[]; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the child did not exit within 60 s (held open after its work?); stdout: ${out} stderr: ${err}`));
    }, 60_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      const lines = out
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, number | string>);
      resolve({ code, lines, stderr: err, ms: Date.now() - started });
    });
  });
}

describe('keeping the process alive', () => {
  it('a script that schedules a job and awaits nothing else stays alive until the job ran, then exits by itself', async () => {
    const result = await run('default', '1500');
    assert.equal(result.code, 0, result.stderr);
    const scheduled = result.lines.find((l) => 'scheduled' in l)?.scheduled as number;
    const ran = result.lines.find((l) => 'ran' in l);
    assert.ok(ran, `the job never ran: ${JSON.stringify(result.lines)}`);
    assert.ok((ran.at as number) - scheduled >= 1500, 'and not early');
  });

  it('a for-await loop over scheduler.events() keeps the process alive after the jobs are done, until stop()', async () => {
    const result = await run('events', '300');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.lines.filter((l) => !('scheduled' in l) && !('ran' in l)).map((l) => Object.keys(l)[0]),
      ['event', 'loopEnded', 'stopped'],
    );
  });

  it('unref: true lets the process exit with the job still waiting', async () => {
    const result = await run('unref', '5000');
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.lines.some((l) => 'scheduled' in l));
    assert.equal(result.lines.some((l) => 'ran' in l), false);
  });
});
