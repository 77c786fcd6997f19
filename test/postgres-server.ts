/**
 * A real PostgreSQL server for tests: `initdb` + `pg_ctl` in a temp folder,
 * on a free loopback port, trust auth for the `postgres` role, stopped and
 * removed afterwards. PostgreSQL refuses to run as root: when the tests run
 * as root (CI, this machine) the server runs as the unprivileged `postgres`
 * OS user of Debian's package (or `nobody`), which is given the folder.
 * `crash()` + `start()` restart it on the same folder and port (an
 * immediate shutdown: no checkpoint, WAL replay at start, as after a
 * crash), so what it acknowledged must come back.
 *
 * Without the binaries (`initdb` on the PATH, `pg_config --bindir`,
 * /usr/lib/postgresql/<v>/bin, or PG_BIN=/path/to/bin) the PostgreSQL suites
 * are skipped (`postgresSkip`), with one loud line per test run saying what
 * to install; with GODELAYQ_REQUIRE_POSTGRES=1 (CI) a missing server fails
 * the run instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import net from 'node:net';
import pg from 'pg';

/** A free loopback TCP port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function findBin(): string | undefined {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const config = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (config.status === 0 && config.stdout.trim()) candidates.push(config.stdout.trim());
  try {
    const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // not a Debian layout
  }
  for (const dir of candidates) if (existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'))) return dir;
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return path.dirname(which.stdout.trim());
  return undefined;
}

const BIN = findBin();

/** The OS user the server runs as when we are root (PostgreSQL refuses root). */
function serverUser(): { name: string; uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (uid.status === 0 && gid.status === 0) return { name, uid: Number(uid.stdout), gid: Number(gid.stdout) };
  }
  throw new Error('running as root, and neither a `postgres` nor a `nobody` OS user exists to run PostgreSQL as');
}

/**
 * False when PostgreSQL can be started here; otherwise why the PostgreSQL
 * suites are skipped (pass it as `describe(name, { skip: postgresSkip }, …)`).
 */
export const postgresSkip: string | false = (() => {
  if (BIN) return false;
  const install = 'install PostgreSQL >= 12 (Debian/Ubuntu: `apt-get install postgresql`, macOS: `brew install postgresql`) or set PG_BIN=/path/to/postgresql/bin';
  const missing = 'initdb/pg_ctl not found (PATH, pg_config --bindir, /usr/lib/postgresql/*/bin)';
  if (process.env.GODELAYQ_REQUIRE_POSTGRES === '1') throw new Error(`GODELAYQ_REQUIRE_POSTGRES=1 but ${missing}: ${install}`);
  try {
    const fd = openSync(path.join(os.tmpdir(), `godelayq-postgres-skip-${process.ppid}`), 'wx');
    closeSync(fd);
    process.stderr.write(`\n*** SKIPPING the PostgresStore tests: ${missing}. To run them, ${install}. ***\n\n`);
  } catch {
    // Another test file already said it.
  }
  return `${missing}: ${install}`;
})();

export interface PostgresServer {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly dir: string;
  /** Starts it again (same folder and port) after `crash()` or `stop()`. */
  start(): Promise<void>;
  /** Immediate shutdown (SIGQUIT to the postmaster: no checkpoint; WAL replay at the next start). */
  crash(): Promise<void>;
  /** Fast shutdown (SIGINT: sessions are terminated, then a checkpoint). */
  stop(): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
  /** A new client for the test's own SQL (the caller ends it). */
  client(): Promise<pg.Client>;
}

export interface StartOptions {
  /** More `postgres -c` settings, e.g. `{ max_connections: '200' }`. */
  settings?: Record<string, string>;
}

function run(command: string, args: string[], user: ReturnType<typeof serverUser>, timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  const [cmd, argv] = user ? ['runuser', ['-u', user.name, '--', command, ...args]] : [command, args];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, output: `${output}${String(error)}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export async function startPostgres(options: StartOptions = {}): Promise<PostgresServer> {
  if (!BIN) throw new Error(`PostgreSQL binaries not found: ${String(postgresSkip)}`);
  const bin = BIN;
  const user = serverUser();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'godelayq-pg-'));
  const data = path.join(dir, 'data');
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chmodSync(dir, 0o700);
  }
  const port = await freePort();
  const init = await run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C'], user);
  if (init.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.code}): ${init.output}`);
  }
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    // A killed server process loses nothing the OS has (the tests never crash the OS): skip the disk flushes.
    fsync: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    shared_buffers: '32MB',
    log_min_messages: 'warning',
    ...options.settings,
  };
  const serverArgs = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  const log = path.join(dir, 'server.log');
  const ctl = (args: string[]): Promise<{ code: number | null; output: string }> => run(path.join(bin, 'pg_ctl'), ['-D', data, ...args], user);
  const logTail = (): string => {
    try {
      return readFileSync(log, 'utf8').slice(-2000);
    } catch {
      return '';
    }
  };
  const start = async (): Promise<void> => {
    const r = await ctl(['-l', log, '-o', serverArgs, '-w', '-t', '60', 'start']);
    if (r.code !== 0) throw new Error(`pg_ctl start failed (${r.code}): ${r.output}\n${logTail()}`);
  };
  const shutdown = async (mode: 'immediate' | 'fast'): Promise<void> => {
    if (!existsSync(path.join(data, 'postmaster.pid'))) return;
    const r = await ctl(['-m', mode, '-w', '-t', '60', 'stop']);
    if (r.code !== 0 && existsSync(path.join(data, 'postmaster.pid'))) throw new Error(`pg_ctl stop -m ${mode} failed (${r.code}): ${r.output}`);
  };
  try {
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    port,
    url,
    dir,
    start,
    crash: () => shutdown('immediate'),
    stop: () => shutdown('fast'),
    destroy: async () => {
      await shutdown('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
    client: async () => {
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => undefined);
      await client.connect();
      return client;
    },
  };
}

/**
 * A PostgreSQL server for the current `describe`: started before its tests,
 * destroyed after them. The returned object reads through to it.
 */
export function usePostgresServer(options: StartOptions = {}): PostgresServer {
  let server: PostgresServer | undefined;
  before(async () => {
    server = await startPostgres(options);
  });
  after(async () => {
    await server?.destroy();
  });
  const get = (): PostgresServer => {
    if (!server) throw new Error('the test PostgreSQL server is not started yet (use it inside a test)');
    return server;
  };
  return {
    get port() {
      return get().port;
    },
    get url() {
      return get().url;
    },
    get dir() {
      return get().dir;
    },
    start: () => get().start(),
    crash: () => get().crash(),
    stop: () => get().stop(),
    destroy: () => get().destroy(),
    client: () => get().client(),
  };
}

/** Drops `schema` and everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
