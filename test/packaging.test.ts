/**
 * Packaging: what `npm pack` ships works in a fresh project. Builds dist/
 * (unless it is newer than every input), packs the tarball, installs it
 * offline into a temp project, then imports it as ESM and requires it as CJS
 * (same export names, a job runs on a VirtualClock in each), type-checks a
 * consumer under node16, nodenext (ESM and CJS), bundler and node10
 * (`module: commonjs`) resolution, and runs publint and
 * @arethetypeswrong/cli on the tarball.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Names SPEC §2 and §6 promise on the root entry. */
const SPEC_NAMES = [
  'Scheduler',
  'QuaternaryHeap',
  'MemoryStore',
  'JsonFileStore',
  'VirtualClock',
  'DirectoryLoader',
  'GodelayqError',
  'UnrecoverableError',
  'ValidationError',
  'DuplicateJobError',
  'JobNotFoundError',
  'SchedulerStoppedError',
  'StoreCorruptError',
  'StoreLockedError',
  'StorePersistError',
  'JobTimeoutError',
];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The parent `npm test` exports npm_config_* (prefix, cache…); a nested npm must not inherit them. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'NODE_OPTIONS') env[key] = value;
  }
  return env;
}

// Generous: the build (npm run build) under c8 on a loaded machine took over 60 s.
function run(command: string, args: readonly string[], cwd: string, timeout = 300_000): Run {
  const r = spawnSync(command, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like run(), asynchronous, so the type checks can run side by side. Never rejects. */
function runAsync(command: string, args: readonly string[], cwd: string, timeout = 300_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: cleanEnv(), timeout });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => resolve({ status: null, stdout, stderr: stderr + String(error) }));
    // A generous timeout: on a loaded machine tsc alone took over 90 s. Say when it was the timeout that ended it.
    child.on('close', (status, signal) => resolve({ status, stdout, stderr: signal ? `${stderr}\nkilled by ${signal} (timeout ${timeout} ms?)` : stderr }));
  });
}

function mustRun(command: string, args: readonly string[], cwd: string, timeout?: number): string {
  const r = run(command, args, cwd, timeout);
  if (r.status !== 0) {
    throw new Error(`\`${command} ${args.join(' ')}\` exited with ${r.status} in ${cwd}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  return r.stdout;
}

function newestMtime(file: string): number {
  const st = statSync(file);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(file)) newest = Math.max(newest, newestMtime(path.join(file, entry)));
  return newest;
}

type ExportsMap = Record<string, string | Record<string, string | Record<string, string>>>;

/** Every file an `exports` target names (strings anywhere in the map), relative to the package root. */
function exportTargets(exportsMap: ExportsMap): string[] {
  const out = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string') out.add(value);
    else if (value && typeof value === 'object') for (const v of Object.values(value)) walk(v);
  };
  walk(exportsMap);
  return [...out].filter((target) => target !== './package.json');
}

/** Builds dist/ once, unless every exported file (and the `bin`) is newer than every build input (CI builds first). */
function ensureBuilt(pkg: { exports: ExportsMap; bin: Record<string, string> }): void {
  const inputs = ['src', 'package.json', 'tsup.config.ts', 'tsconfig.json'].map((p) => path.join(ROOT, p));
  const newestInput = Math.max(...inputs.map(newestMtime));
  const outputs = [...exportTargets(pkg.exports), ...Object.values(pkg.bin)].map((t) => path.join(ROOT, t));
  const fresh = outputs.every((o) => existsSync(o) && statSync(o).mtimeMs >= newestInput);
  if (!fresh) mustRun('npm', ['run', 'build'], ROOT, 120_000);
}

/** Fallback when the npm cache cannot serve an offline install: unpack by hand, link the repo's runtime deps. */
function installByHand(tarball: string, project: string, deps: Record<string, string>): void {
  const target = path.join(project, 'node_modules', 'godelayq');
  mkdirSync(target, { recursive: true });
  mustRun('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'], project);
  const linked = new Set<string>();
  const link = (name: string): void => {
    if (linked.has(name)) return;
    linked.add(name);
    const from = path.join(ROOT, 'node_modules', name);
    const to = path.join(project, 'node_modules', name);
    mkdirSync(path.dirname(to), { recursive: true });
    if (!existsSync(to)) symlinkSync(from, to, 'dir');
    const manifest = JSON.parse(readFileSync(path.join(from, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(manifest.dependencies ?? {})) link(dep);
  };
  for (const dep of Object.keys(deps)) link(dep);
  // What npm does for `bin`: node_modules/.bin/<name> -> the command's file.
  const manifest = JSON.parse(readFileSync(path.join(target, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  mkdirSync(path.join(project, 'node_modules', '.bin'), { recursive: true });
  for (const [name, file] of Object.entries(manifest.bin ?? {})) {
    symlinkSync(path.join('..', 'godelayq', file), path.join(project, 'node_modules', '.bin', name));
  }
}

/** Runs in the consumer project, both as ESM and CJS: a job on a VirtualClock, errors across the boundary. */
const PROGRAM = `
async function program(m) {
  const { Scheduler, VirtualClock, ValidationError, GodelayqError } = m;
  const t0 = Date.UTC(2027, 0, 1);
  const clock = new VirtualClock(t0);
  const scheduler = new Scheduler({ clock });
  const ran = [];
  let completed = 0;
  scheduler.on('completed', () => { completed++; });
  scheduler.register('greet', (job) => {
    ran.push({ at: clock.now() - t0, who: job.payload.who, attempt: job.attempt });
    return 'hello ' + job.payload.who;
  });
  await scheduler.start();
  const info = await scheduler.scheduleIn('greet', 1000, { who: 'world' });
  await clock.advance(999);
  const early = ran.length;
  await clock.advance(1);
  const done = await scheduler.get(info.id);
  let rejected = null;
  try {
    await scheduler.scheduleIn('greet', -1, { who: 'nobody' });
  } catch (error) {
    rejected = { validation: error instanceof ValidationError, base: error instanceof GodelayqError, code: error.code };
  }
  await scheduler.stop();
  return { early, ran, state: done.state, result: done.result, completed, rejected };
}
`;

const ESM_MAIN = `import * as m from 'godelayq';
${PROGRAM}
const result = await program(m);
process.stdout.write(JSON.stringify({ keys: Object.keys(m).filter((k) => k !== 'default').sort(), ...result }));
`;

const CJS_MAIN = `'use strict';
const m = require('godelayq');
${PROGRAM}
program(m).then((result) => {
  process.stdout.write(JSON.stringify({ keys: Object.keys(m).filter((k) => k !== 'default' && k !== '__esModule').sort(), ...result }));
});
`;

/**
 * The shipped build keeps the firing path's shape keepers (AttemptContext.keepers): after a
 * burst, a quiet spell and a full GC, the job context's class, reached through a handler's
 * `job.constructor`, is still optimized. Run with --allow-natives-syntax --expose-gc. A build
 * whose bundler dropped the keepers (this package declares no side effects) printed
 * `after: false`.
 */
const shapesMain = (format: 'esm' | 'cjs'): string => `${format === 'esm' ? "import { Scheduler, VirtualClock } from 'godelayq';" : "const { Scheduler, VirtualClock } = require('godelayq');"}
const prepare = new Function('f', '%PrepareFunctionForOptimization(f)');
const optimizeOnNextCall = new Function('f', '%OptimizeFunctionOnNextCall(f)');
const optimized = (f) => (new Function('f', 'return %GetOptimizationStatus(f)')(f) & 16) !== 0;
async function main() {
  const clock = new VirtualClock(1700000000000);
  const scheduler = new Scheduler({ clock });
  let Context;
  scheduler.register('work', (job) => { Context = job.constructor; });
  await scheduler.start();
  const burst = async (n) => {
    for (let i = 0; i < n; i++) await scheduler.scheduleIn('work', 1000 + i, { i });
    await clock.advance(1000 + n);
  };
  await burst(300);
  prepare(Context);
  await burst(50);
  optimizeOnNextCall(Context);
  await burst(5);
  const before = optimized(Context);
  globalThis.gc();
  globalThis.gc();
  const after = optimized(Context);
  await scheduler.stop();
  process.stdout.write(JSON.stringify({ before, after }));
}
main();
`;

/** Type-level consumer: the @ts-expect-error lines fail the check if the types degrade to `any`. */
const TYPES_CONSUMER = `import {
  GodelayqError,
  MemoryStore,
  QuaternaryHeap,
  Scheduler,
  ValidationError,
  VirtualClock,
} from 'godelayq';
import type { JobContext, JobInfo, RetryOptions, SchedulerEvents, Store } from 'godelayq';

type Jobs = {
  'order.cancel': { orderId: string };
  'report.daily': { format: 'pdf' | 'csv' };
};

export async function main(): Promise<string> {
  const store: Store = new MemoryStore();
  const scheduler = new Scheduler<Jobs>({ store, clock: new VirtualClock(0), concurrency: 2 });
  scheduler.register('order.cancel', async (job) => {
    const orderId: string = job.payload.orderId;
    const signal: AbortSignal = job.signal;
    void signal;
    return orderId;
  });
  const context: (job: JobContext<{ format: 'pdf' | 'csv' }>) => void = (job) => void job.payload.format;
  scheduler.register('report.daily', context);
  await scheduler.start();
  // @ts-expect-error the payload of 'order.cancel' is { orderId: string }
  await scheduler.scheduleIn('order.cancel', 1000, { orderId: 1 });
  // @ts-expect-error no job of that name in Jobs
  await scheduler.scheduleIn('nope', 1000, {});
  const retry: RetryOptions = { maxRetries: 1, backoff: { type: 'fixed', delay: 10 } };
  const info: JobInfo<'report.daily', { format: 'pdf' | 'csv' }> = await scheduler.scheduleIn('report.daily', 5, { format: 'pdf' }, { retry });
  scheduler.on('completed', (event: SchedulerEvents<Jobs>['completed']) => void event.durationMs);
  const heap = new QuaternaryHeap<{ id: string }>({ id: (item) => item.id });
  heap.push({ id: 'a' }, 1);
  const error: GodelayqError = new ValidationError('bad');
  void error;
  await scheduler.stop();
  return info.id;
}
`;

/** Appended when ioredis is available: the subpath's types resolve and plug into Scheduler. */
const TYPES_REDIS = `
import { RedisStore } from 'godelayq/redis';
import type { RedisStoreOptions } from 'godelayq/redis';

export function redisScheduler(): Scheduler<Jobs> {
  const options: RedisStoreOptions = { url: 'redis://127.0.0.1:6379', prefix: 'app' };
  // @ts-expect-error prefix is a string
  void new RedisStore({ prefix: 1 });
  return new Scheduler<Jobs>({ store: new RedisStore(options) });
}
`;

/** Appended when pg is available: the subpath's types resolve, plug into Scheduler, and `db` takes a pg client. */
const TYPES_POSTGRES = `
import { PostgresStore } from 'godelayq/postgres';
import type { PostgresStoreOptions } from 'godelayq/postgres';
import type { PoolClient } from 'pg';

export async function postgresScheduler(client: PoolClient): Promise<Scheduler<Jobs>> {
  const options: PostgresStoreOptions = { connectionString: 'postgres://localhost/app', schema: 'jobs' };
  // @ts-expect-error schema is a string
  void new PostgresStore({ schema: 1 });
  const scheduler = new Scheduler<Jobs>({ store: new PostgresStore(options) });
  await scheduler.scheduleIn('order.cancel', 1000, { orderId: 'A1' }, { db: client });
  await scheduler.cancel('x', { db: client });
  // @ts-expect-error db is a database client
  await scheduler.reschedule('x', 0, { db: 42 });
  return scheduler;
}
`;

const TS_BASE = {
  strict: true,
  noEmit: true,
  skipLibCheck: false,
  target: 'ES2022',
  lib: ['ES2023', 'ESNext.Disposable'],
  types: ['node'],
  typeRoots: [path.join(ROOT, 'node_modules', '@types')],
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
};

const TYPE_CHECKS = [
  { label: 'node16', compilerOptions: { module: 'node16', moduleResolution: 'node16' }, files: ['esm.mts', 'cjs.cts'] },
  { label: 'nodenext', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' }, files: ['esm.mts', 'cjs.cts'] },
  { label: 'bundler', compilerOptions: { module: 'esnext', moduleResolution: 'bundler' }, files: ['bundler.ts'] },
  // A TypeScript CommonJS project of the old style: node10 resolution ignores `exports` (typesVersions serves the subpath).
  { label: 'node10', compilerOptions: { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }, files: ['commonjs.ts'] },
] as const;

describe('packaging: the packed tarball in a fresh project', { timeout: 600_000 }, () => {
  let temp = '';
  let project = '';
  let tarball = '';
  let installNote = '';
  /** ioredis (optional peer) linked into the consumer from the repo, when the repo has it. */
  let peerLinked = false;
  /** pg (optional peer) and its types linked likewise. */
  let pgLinked = false;
  let otelLinked = false;
  const typeChecks = new Map<string, Promise<Run>>();
  let pkg: { exports: ExportsMap; dependencies: Record<string, string>; bin: Record<string, string> };

  before(() => {
    pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as typeof pkg;
    ensureBuilt(pkg);
    temp = mkdtempSync(path.join(os.tmpdir(), 'godelayq-pack-'));
    const packed = JSON.parse(mustRun('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', temp], ROOT)) as { filename: string }[];
    tarball = path.join(temp, packed[0]!.filename);
    project = path.join(temp, 'consumer');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '0.0.0' }));
    const install = run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], project, 60_000);
    if (install.status !== 0) {
      installNote = `offline npm install failed (${install.stderr.trim().split('\n').at(-1) ?? ''}); installed by hand with the repo's runtime deps linked`;
      rmSync(path.join(project, 'node_modules'), { recursive: true, force: true });
      installByHand(tarball, project, pkg.dependencies);
    }
    if (existsSync(path.join(ROOT, 'node_modules', 'ioredis'))) {
      // Node and tsc resolve a symlinked package from its real path, so its own deps come from the repo too.
      symlinkSync(path.join(ROOT, 'node_modules', 'ioredis'), path.join(project, 'node_modules', 'ioredis'), 'dir');
      peerLinked = true;
    }
    if (existsSync(path.join(ROOT, 'node_modules', 'pg')) && existsSync(path.join(ROOT, 'node_modules', '@types', 'pg'))) {
      symlinkSync(path.join(ROOT, 'node_modules', 'pg'), path.join(project, 'node_modules', 'pg'), 'dir');
      mkdirSync(path.join(project, 'node_modules', '@types'), { recursive: true });
      symlinkSync(path.join(ROOT, 'node_modules', '@types', 'pg'), path.join(project, 'node_modules', '@types', 'pg'), 'dir');
      pgLinked = true;
    }
    if (existsSync(path.join(ROOT, 'node_modules', '@opentelemetry', 'api'))) {
      mkdirSync(path.join(project, 'node_modules', '@opentelemetry'), { recursive: true });
      symlinkSync(path.join(ROOT, 'node_modules', '@opentelemetry', 'api'), path.join(project, 'node_modules', '@opentelemetry', 'api'), 'dir');
      otelLinked = true;
    }
    writeFileSync(path.join(project, 'esm.mjs'), ESM_MAIN);
    writeFileSync(path.join(project, 'cjs.cjs'), CJS_MAIN);
    writeFileSync(path.join(project, 'shapes.mjs'), shapesMain('esm'));
    writeFileSync(path.join(project, 'shapes.cjs'), shapesMain('cjs'));
    // tsc takes seconds per run (it checks @types/node too): start them all now, side by side.
    for (const { label, compilerOptions, files } of TYPE_CHECKS) {
      const dir = path.join(project, `types-${label}`);
      mkdirSync(dir);
      let consumer = peerLinked && './redis' in pkg.exports ? TYPES_CONSUMER + TYPES_REDIS : TYPES_CONSUMER;
      if (pgLinked && './postgres' in pkg.exports) consumer += TYPES_POSTGRES;
      for (const file of files) writeFileSync(path.join(dir, file), consumer);
      writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...TS_BASE, ...compilerOptions }, files }, null, 2));
      typeChecks.set(label, runAsync(process.execPath, [TSC, '-p', dir, '--listFiles'], project));
    }
  });

  after(async () => {
    await Promise.all(typeChecks.values());
    if (temp) rmSync(temp, { recursive: true, force: true });
  });

  it('ships dist only, with every exports target, and runtime deps left external', (t) => {
    if (installNote) t.diagnostic(installNote);
    const listed = mustRun('tar', ['-tzf', tarball], temp).split('\n').filter(Boolean);
    for (const target of exportTargets(pkg.exports)) {
      assert.ok(listed.includes(path.posix.join('package', target)), `tarball lacks ${target} (exports map)`);
    }
    const stray = listed.filter((f) => !/^package\/(dist\/|package\.json$|LICENSE|README|CHANGELOG\.md$|SECURITY\.md$)/i.test(f));
    assert.deepEqual(stray, [], 'only dist/, package.json, LICENSE, README, CHANGELOG and SECURITY belong in the tarball');
    assert.deepEqual(listed.filter((f) => f.endsWith('.map')), [], 'no source maps in the tarball');
    const installedDts = path.join(project, 'node_modules', 'godelayq', 'dist');
    for (const file of readdirSync(installedDts).filter((f) => /\.d\.c?ts$/.test(f))) {
      assert.doesNotMatch(readFileSync(path.join(installedDts, file), 'utf8'), /^\s*\* (HOW|WHY)\b/m, `${file}: maintainers' module notes leaked into the types`);
    }
    const installed = path.join(project, 'node_modules', 'godelayq', 'dist');
    for (const file of ['index.js', 'index.cjs']) {
      const code = readFileSync(path.join(installed, file), 'utf8');
      for (const dep of Object.keys(pkg.dependencies)) {
        if (dep === 'write-file-atomic' && !code.includes('write-file-atomic')) continue; // not used by this entry yet
        assert.match(code, new RegExp(`(from |require\\()["']${dep}["']`), `${file} should import ${dep}, not bundle it`);
      }
      assert.doesNotMatch(code, /["']ioredis["']/, `${file}: the root entry must never import ioredis`);
      assert.doesNotMatch(code, /(from |require\()["']pg["']/, `${file}: the root entry must never import pg`);
    }
  });

  it('defines each error class once per format, so instanceof holds across subpaths', () => {
    const dist = path.join(project, 'node_modules', 'godelayq', 'dist');
    for (const ext of ['.js', '.cjs']) {
      // cli*.js are the `godelayq` command's own bundle (its own copy, never imported by the library's entries).
      const files = readdirSync(dist).filter((f) => f.endsWith(ext) && !f.startsWith('cli'));
      const definitions = files.filter((f) => /\bclass GodelayqError\b|\bGodelayqError = class\b/.test(readFileSync(path.join(dist, f), 'utf8')));
      assert.ok(definitions.length <= 1, `GodelayqError is defined in ${definitions.join(', ')}: use tsup \`splitting: true\``);
    }
  });

  it('import (ESM) and require (CJS) expose the same names as src/index.ts, and run a job', async () => {
    const source = await import('../src/index.js');
    const expected = Object.keys(source).sort();
    const validationCode = new source.ValidationError('x').code;
    const outputs = ['esm.mjs', 'cjs.cjs'].map((file) => {
      const r = run(process.execPath, [file], project, 20_000);
      assert.equal(r.status, 0, `node ${file} failed (or hung: a handle kept the process open)\n${r.stderr}`);
      return { file, ...(JSON.parse(r.stdout) as { keys: string[]; [field: string]: unknown }) };
    });
    for (const { file, keys, ...result } of outputs) {
      assert.deepEqual(keys, expected, `${file}: export names differ from src/index.ts`);
      assert.deepEqual(
        result,
        {
          early: 0,
          ran: [{ at: 1000, who: 'world', attempt: 1 }],
          state: 'completed',
          result: 'hello world',
          completed: 1,
          rejected: { validation: true, base: true, code: validationCode },
        },
        `${file}: the tiny program did not run as expected`,
      );
    }
  });

  it('keeps the firing path optimized through a quiet spell in the shipped build (the shape keepers survive bundling), as ESM and CJS', () => {
    for (const file of ['shapes.mjs', 'shapes.cjs']) {
      const r = run(process.execPath, ['--allow-natives-syntax', '--expose-gc', file], project, 20_000);
      assert.equal(r.status, 0, `node ${file} failed\n${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout), { before: true, after: true }, `${file}: the job context's class was not optimized (before) or lost its optimized code in the quiet spell's GC (after)`);
    }
  });

  it('installs the `godelayq` command: `godelayq --help` (node_modules/.bin) and a read of a store work in the consumer', () => {
    const bin = path.join(project, 'node_modules', '.bin', 'godelayq');
    assert.ok(existsSync(bin), 'node_modules/.bin/godelayq is missing: package.json `bin`');
    // The linked bin itself, as `npx godelayq` and npm scripts run it: npx would first load the
    // project's dependency tree, which reaches for the registry when the consumer was installed by hand.
    const help = run(bin, ['--help'], project, 60_000);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: godelayq <command>/);
    for (const command of ['jobs', 'show', 'stats', 'retry', 'cancel', 'reschedule', 'cron']) assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'));
    // The bundled command runs on its own (a cron plan needs no store, and no ioredis).
    const cron = run(bin, ['cron', '30 2 * * *', '--tz', 'Europe/Paris', '--from', '2026-03-28T12:00:00Z', '-n', '1', '--json'], project, 60_000);
    assert.equal(cron.status, 0, cron.stderr);
    assert.deepEqual((JSON.parse(cron.stdout) as { runs: { at: string }[] }).runs.map((r) => r.at), ['2026-03-29T01:00:00.000Z']);
    const usage = run(bin, ['jobs'], project, 60_000);
    assert.equal(usage.status, 1, 'a missing <store> is a usage error (exit 1)');
  });

  it('exports every name SPEC §2 and §6 list', () => {
    const r = run(process.execPath, ['--input-type=module', '-e', "import * as m from 'godelayq'; process.stdout.write(JSON.stringify(Object.keys(m)))"], project);
    assert.equal(r.status, 0, r.stderr);
    const keys = JSON.parse(r.stdout) as string[];
    const missing = SPEC_NAMES.filter((name) => !keys.includes(name));
    assert.deepEqual(missing, [], `missing from the package's root entry: ${missing.join(', ')}`);
  });

  it('subpath entries resolve in both formats (a missing optional peer is the only allowed failure)', () => {
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== '.' && k !== './package.json');
    for (const sub of subpaths) {
      const spec = `godelayq/${sub.slice(2)}`;
      for (const [label, args] of [
        ['import', ['--input-type=module', '-e', `await import(${JSON.stringify(spec)})`]],
        ['require', ['-e', `require(${JSON.stringify(spec)})`]],
      ] as const) {
        const r = run(process.execPath, args, project, 20_000);
        if (r.status === 0) continue;
        const peer =
          (!peerLinked && /Cannot find (module|package) 'ioredis'/.test(r.stderr)) ||
          (!pgLinked && /Cannot find (module|package) 'pg'/.test(r.stderr)) ||
          (!otelLinked && /Cannot find (module|package) '@opentelemetry\/api'/.test(r.stderr));
        assert.ok(peer, `${label} ${spec} failed for another reason than a missing optional peer:\n${r.stderr}`);
      }
    }
  });

  it('godelayq/redis throws the root entry\'s error classes (one shared copy), as ESM and CJS', (t) => {
    if (!('./redis' in pkg.exports)) return t.skip('no ./redis subpath');
    if (!peerLinked) return t.skip('ioredis (optional peer) is not installed in the repo');
    const check = `
      const bad = (() => { try { new redis.RedisStore({ prefix: '' }); } catch (error) { return error; } })();
      process.stdout.write(JSON.stringify({
        store: typeof redis.RedisStore,
        validation: bad instanceof root.ValidationError,
        base: bad instanceof root.GodelayqError,
      }));`;
    for (const [label, args] of [
      ['ESM', ['--input-type=module', '-e', `import * as root from 'godelayq'; import * as redis from 'godelayq/redis'; ${check}`]],
      ['CJS', ['-e', `const root = require('godelayq'); const redis = require('godelayq/redis'); ${check}`]],
    ] as const) {
      const r = run(process.execPath, args, project, 20_000);
      assert.equal(r.status, 0, `${label}: ${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout), { store: 'function', validation: true, base: true }, `${label}: RedisStore's errors are not the root entry's classes`);
    }
  });

  it('godelayq/otel instruments the root entry\'s Scheduler and throws its error classes, as ESM and CJS', (t) => {
    if (!('./otel' in pkg.exports)) return t.skip('no ./otel subpath');
    if (!otelLinked) return t.skip('@opentelemetry/api (optional peer) is not installed in the repo');
    const check = `
      const scheduler = new root.Scheduler();
      const bad = (() => { try { otel.instrument(scheduler, { link: 'yes' }); } catch (error) { return error; } })();
      const remove = otel.instrument(scheduler);
      const listening = scheduler.listenerCount('started');
      remove();
      process.stdout.write(JSON.stringify({
        instrument: typeof otel.instrument,
        validation: bad instanceof root.ValidationError,
        base: bad instanceof root.GodelayqError,
        listening,
        after: scheduler.listenerCount('started'),
      }));`;
    for (const [label, args] of [
      ['ESM', ['--input-type=module', '-e', `import * as root from 'godelayq'; import * as otel from 'godelayq/otel'; ${check}`]],
      ['CJS', ['-e', `const root = require('godelayq'); const otel = require('godelayq/otel'); ${check}`]],
    ] as const) {
      const r = run(process.execPath, args, project, 20_000);
      assert.equal(r.status, 0, `${label}: ${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout), { instrument: 'function', validation: true, base: true, listening: 1, after: 0 }, `${label}: godelayq/otel does not work with the root entry`);
    }
  });

  it('godelayq/postgres throws the root entry\'s error classes (one shared copy), as ESM and CJS', (t) => {
    if (!('./postgres' in pkg.exports)) return t.skip('no ./postgres subpath');
    if (!pgLinked) return t.skip('pg (optional peer) is not installed in the repo');
    const check = `
      const bad = (() => { try { new postgres.PostgresStore({ schema: 'Bad-Name' }); } catch (error) { return error; } })();
      process.stdout.write(JSON.stringify({
        store: typeof postgres.PostgresStore,
        validation: bad instanceof root.ValidationError,
        base: bad instanceof root.GodelayqError,
      }));`;
    for (const [label, args] of [
      ['ESM', ['--input-type=module', '-e', `import * as root from 'godelayq'; import * as postgres from 'godelayq/postgres'; ${check}`]],
      ['CJS', ['-e', `const root = require('godelayq'); const postgres = require('godelayq/postgres'); ${check}`]],
    ] as const) {
      const r = run(process.execPath, args, project, 20_000);
      assert.equal(r.status, 0, `${label}: ${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout), { store: 'function', validation: true, base: true }, `${label}: PostgresStore's errors are not the root entry's classes`);
    }
  });

  for (const { label, files } of TYPE_CHECKS) {
    it(`type-checks a consumer under moduleResolution ${label} (${files.join(', ')})`, async () => {
      const r = await typeChecks.get(label)!;
      assert.equal(r.status, 0, `tsc (${label}) failed:\n${r.stdout}${r.stderr}`);
      if (label === 'nodenext') {
        // --listFiles: the ESM file must see the .d.ts types, the CJS file the .d.cts ones.
        assert.match(r.stdout, /godelayq\/dist\/index\.d\.ts$/m, 'ESM consumer did not load dist/index.d.ts');
        assert.match(r.stdout, /godelayq\/dist\/index\.d\.cts$/m, 'CJS consumer did not load dist/index.d.cts');
      }
    });
  }

  it('@arethetypeswrong/cli finds no problem in any resolution mode (node10, node16 CJS/ESM, bundler)', () => {
    const attw = path.join(ROOT, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
    const r = run(process.execPath, [attw, tarball, '--format', 'json'], project, 120_000);
    const report = JSON.parse(r.stdout) as { analysis: { problems: { kind: string; entrypoint: string; resolutionKind: string }[] } };
    assert.deepEqual(
      report.analysis.problems.map((p) => `${p.kind} ${p.entrypoint} (${p.resolutionKind})`),
      [],
      r.stderr,
    );
  });

  it('publint reports no errors on the tarball', async (t) => {
    const { publint } = await import('publint');
    const { formatMessage } = await import('publint/utils');
    const data = readFileSync(tarball);
    const tar = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    const result = await publint({ pack: { tarball: tar }, level: 'suggestion' });
    const lines = result.messages.map((m) => `${m.type}: ${formatMessage(m, result.pkg, { color: false }) ?? m.code}`);
    for (const line of lines) t.diagnostic(line);
    const errors = lines.filter((l) => l.startsWith('error'));
    assert.deepEqual(errors, [], 'publint errors');
  });
});
