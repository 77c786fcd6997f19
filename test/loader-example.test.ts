/** examples/directory-loader.ts: the story it tells, and that it ends by itself. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { directoryLoaderDemo } from '../examples/directory-loader.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

describe('examples/directory-loader', () => {
  it('loads and archives both job files, runs their jobs, and refuses the broken one', async () => {
    const result = await directoryLoaderDemo({ log: () => undefined, settleMs: 50 });
    assert.equal(result.runs.filter((r) => r === 'email.send ada@example.com').length, 2);
    assert.ok(result.runs.includes('report.build csv'));
    assert.ok(result.runs.filter((r) => r === 'metrics.flush').length >= 2);
    assert.equal(result.archived.length, 2);
    assert.ok(result.archived.some((name) => name.endsWith('-welcome.json')));
    assert.ok(result.archived.some((name) => name.endsWith('-reports.json')));
    assert.deepEqual(result.errors, ['typo.json', 'typo.json.error.json']);
    assert.match(result.badFileError ?? '', /`job.delay`.*"10 minutes"/);
  });

  it('runs as a program and exits 0 by itself', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/directory-loader.ts'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    assert.equal(signal, null);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /loaded\s+welcome\.json: 2 job\(s\), archived as archive\/\d{8}T\d{6}\.\d{3}Z-welcome\.json/);
    assert.match(stdout, /failed\s+typo\.json/);
    assert.match(stdout, /ran\s+report\.build \(csv\)/);
  });
});
