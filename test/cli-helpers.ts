/**
 * Helpers for the `godelayq` command tests: run the command as a child
 * process (from source, through tsx), write a store with a real Scheduler,
 * hash a folder's files, and drive a child app that holds a store open.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { JsonFileStore, Scheduler, VirtualClock } from '../src/index.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `godelayq …args` as a child process; never rejects. */
export function cli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `cli(args)` that must exit 0 with JSON on stdout. */
export async function cliJson<T>(args: readonly string[]): Promise<T> {
  const r = await cli([...args, '--json']);
  if (r.code !== 0) throw new Error(`godelayq ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'godelayq-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** sha256 of every file in `dir` by name: equal maps mean not a byte changed. */
export function hashFolder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) out[name] = createHash('sha256').update(readFileSync(path.join(dir, name))).digest('hex');
  return out;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** T0 of the stores written here: 2027-01-04 (a Monday) 07:30 UTC, half an hour before 09:00 in Paris. */
export const T0 = Date.UTC(2027, 0, 4, 7, 30);

/**
 * Writes a store in `dir` with a real Scheduler on a VirtualClock: a
 * scheduled job, a dead one (its handler threw), a completed one, a
 * cancelled one, a cron schedule and `extra` more scheduled jobs.
 */
export async function writeStore(dir: string, extra = 0): Promise<void> {
  const clock = new VirtualClock(T0);
  const scheduler = new Scheduler({ store: new JsonFileStore(dir), clock, retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
  scheduler.register('pay', () => {
    throw new Error('card declined');
  });
  scheduler.register('mail', () => 'sent');
  await scheduler.start();
  await scheduler.scheduleIn('order.cancel', 3_600_000, { orderId: 'A1' }, { id: 'order-1' });
  await scheduler.scheduleIn('pay', 0, { orderId: 'A2' }, { id: 'pay-1' });
  await scheduler.scheduleIn('mail', 0, { to: 'a@example.com' }, { id: 'mail-1' });
  await scheduler.scheduleIn('order.cancel', 7_200_000, { orderId: 'A3' }, { id: 'order-2' });
  await scheduler.cancel('order-2');
  await scheduler.scheduleCron('report.daily', '0 9 * * 1-5', { format: 'pdf' }, { id: 'report', tz: 'Europe/Paris' });
  if (extra > 0) await scheduler.scheduleMany(Array.from({ length: extra }, (_, i) => ({ name: 'bulk', payload: { i }, delay: 60_000 + i, options: { id: `bulk-${i}` } })));
  await clock.advance(0);
  await until(async () => (await scheduler.get('pay-1'))?.state === 'dead' && (await scheduler.get('mail-1'))?.state === 'completed', 'the due jobs to settle');
  await scheduler.stop();
}

/** A child app holding the store in `dir` open (see cli-holder.child.ts). */
export interface Holder {
  pid: number;
  /** Sends a command; resolves with the next line it prints (for burst/stop: `done <n>`). */
  send(command: string): Promise<string>;
  /** Sends without waiting for an answer. */
  post(command: string): void;
  exit(): Promise<void>;
}

export async function startHolder(dir: string): Promise<Holder> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'cli-holder.child.ts'), dir], { cwd: ROOT });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`the holder exited: ${stderr}`);
    return value as string;
  };
  const ready = await next();
  const pid = Number(/^ready (\d+)$/.exec(ready)?.[1]);
  return {
    pid,
    send: (command) => {
      child.stdin.write(`${command}\n`);
      return next();
    },
    post: (command) => void child.stdin.write(`${command}\n`),
    exit: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.write('exit\n');
      await exited;
    },
  };
}
