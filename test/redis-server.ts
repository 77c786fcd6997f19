/**
 * Real Redis servers for tests: a single redis-server (AOF on,
 * `--appendfsync always`, no RDB) or a 3-master Redis Cluster, each on free
 * loopback ports in a temp directory, stopped and removed afterwards.
 * `kill()` + `start()` restart a single server on the same port and
 * directory, so what it acknowledged must come back.
 *
 * Without a redis-server binary the Redis suites are skipped (`redisSkip`),
 * with one loud line per test run saying what to install; with
 * GODELAYQ_REQUIRE_REDIS=1 (CI) a missing binary fails the run instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { Cluster, Redis } from 'ioredis';

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
const REDIS_CLI = process.env.REDIS_CLI ?? (process.env.REDIS_SERVER ? path.join(path.dirname(REDIS_SERVER), 'redis-cli') : 'redis-cli');

function missingRedis(): string | false {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (probe.error === undefined && probe.status === 0) return false;
  return `${REDIS_SERVER} not found (${probe.error?.message ?? `exit ${probe.status}`})`;
}

/**
 * False when redis-server is here; otherwise the reason the Redis suites are
 * skipped (pass it as `describe(name, { skip: redisSkip }, …)`).
 */
export const redisSkip: string | false = (() => {
  const missing = missingRedis();
  if (!missing) return false;
  const install = 'install Redis >= 7 (Debian/Ubuntu: `apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_SERVER=/path/to/redis-server';
  if (process.env.GODELAYQ_REQUIRE_REDIS === '1') {
    throw new Error(`GODELAYQ_REQUIRE_REDIS=1 but ${missing}: ${install}`);
  }
  // One line per test run, not per test file: the first file to create the marker prints it.
  try {
    const fd = openSync(path.join(os.tmpdir(), `godelayq-redis-skip-${process.ppid}`), 'wx');
    closeSync(fd);
    process.stderr.write(`\n*** SKIPPING the RedisStore tests: ${missing}. To run them, ${install}. ***\n\n`);
  } catch {
    // Another test file already said it.
  }
  return `${missing}: ${install}`;
})();

/** False when the cluster tests can run (redis-server and redis-cli); otherwise why they are skipped. */
export const clusterSkip: string | false = (() => {
  if (redisSkip) return redisSkip;
  const probe = spawnSync(REDIS_CLI, ['--version'], { encoding: 'utf8' });
  if (probe.error === undefined && probe.status === 0) return false;
  const missing = `${REDIS_CLI} not found (${probe.error?.message ?? `exit ${probe.status}`}): the Redis Cluster tests need it beside redis-server (Debian/Ubuntu: \`apt-get install redis-tools\`), or REDIS_CLI=/path/to/redis-cli`;
  if (process.env.GODELAYQ_REQUIRE_REDIS === '1') throw new Error(`GODELAYQ_REQUIRE_REDIS=1 but ${missing}`);
  return missing;
})();

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Starts it again (same port, same AOF) after `kill()` or `stop()`. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown, no final write. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

export interface StartOptions {
  /** 'always' (default, what the tests need) or 'everysec' (Redis's default with AOF). */
  appendfsync?: 'always' | 'everysec';
  /** More redis-server arguments, e.g. `['--requirepass', 'x']`. */
  args?: string[];
  /** Serve TLS only, with a fresh self-signed certificate (`url` is then `rediss://`). */
  tls?: boolean;
}

/** A free loopback TCP port (optionally one whose `+10000` cluster-bus twin is free too). */
export async function freePort(withBus = false): Promise<number> {
  for (;;) {
    const port = await listenOnce(0);
    if (!withBus) return port;
    if (port + 10000 < 65536 && (await listenOnce(port + 10000).then(() => true, () => false))) return port;
  }
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Spawns one redis-server and waits until it answers PING (or `ready` says so). */
async function spawnServer(args: string[], port: number, probeOptions: Record<string, unknown> = {}): Promise<ChildProcess> {
  let output = '';
  const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let spawnError: Error | undefined;
  proc.on('error', (error) => {
    spawnError = error;
  });
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (spawnError) throw new Error(`Could not run ${REDIS_SERVER} (${spawnError.message}): the RedisStore tests need a real redis-server >= 7 on the PATH, or REDIS_SERVER=/path/to/redis-server`);
    if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${output}`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, ...probeOptions });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') {
        probe.disconnect();
        return proc;
      }
    } catch {
      // not up yet (or still loading the AOF)
    }
    probe.disconnect();
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`redis-server did not start: ${output}`);
    }
    await sleep(20);
  }
}

function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make a test certificate: ${made.error?.message ?? made.stderr}`);
  return { cert, key };
}

export async function startRedis(options: StartOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'godelayq-redis-'));
  const port = await freePort();
  const tlsArgs: string[] = [];
  if (options.tls) {
    const { cert, key } = selfSignedCert(dir);
    tlsArgs.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no');
  } else {
    tlsArgs.push('--port', String(port));
  }
  const args = [
    ...tlsArgs,
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'yes',
    '--appendfsync', options.appendfsync ?? 'always',
    '--dir', dir,
    '--daemonize', 'no',
    '--maxmemory-policy', 'noeviction',
    '--loglevel', 'warning',
    ...(options.args ?? []),
  ];
  const password = options.args?.[options.args.indexOf('--requirepass') + 1];
  const probeOptions = {
    ...(options.tls ? { tls: { rejectUnauthorized: false } } : {}),
    ...(options.args?.includes('--requirepass') && password ? { password } : {}),
  };
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    child = await spawnServer(args, port, probeOptions);
  };
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc) return;
    proc.kill(sig);
    await exited(proc);
  };
  await start();
  return {
    port,
    url: `${options.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    dir,
    start,
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
    destroy: async () => {
      await signal('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A redis-server for the current `describe`: started before its tests,
 * destroyed after them. The returned object reads through to it.
 */
export function useRedisServer(options: StartOptions = {}): RedisServer {
  let server: RedisServer | undefined;
  before(async () => {
    server = await startRedis(options);
  });
  after(async () => {
    await server?.destroy();
  });
  const get = (): RedisServer => {
    if (!server) throw new Error('the test redis-server is not started yet (use it inside a test)');
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
    kill: () => get().kill(),
    stop: () => get().stop(),
    destroy: () => get().destroy(),
  };
}

export interface RedisCluster {
  readonly nodes: readonly { host: string; port: number }[];
  /** A new ioredis Cluster client on these nodes (the caller disconnects it). */
  client(options?: ConstructorParameters<typeof Cluster>[1]): Cluster;
  destroy(): Promise<void>;
}

/**
 * A 3-master Redis Cluster on loopback (`--cluster-enabled yes` on three
 * servers, then `redis-cli --cluster create`), no replicas, AOF off.
 */
export async function startCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'godelayq-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const destroy = async (): Promise<void> => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort(true);
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '30000', '--cluster-require-full-coverage', 'no', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning', '--maxmemory-policy', 'noeviction'];
      children.push(await spawnServer(args, port));
      ports.push(port);
    }
    const created = spawnSync(REDIS_CLI, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.error?.message ?? ''}${created.stdout}${created.stderr}`);
    // Wait until every node agrees the cluster is up.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(
        ports.map(async (port) => {
          const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
          c.on('error', () => undefined);
          try {
            await c.connect();
            return /cluster_state:ok/.test(String(await c.call('CLUSTER', 'INFO')));
          } catch {
            return false;
          } finally {
            c.disconnect();
          }
        }),
      );
      if (states.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error('the test cluster did not reach cluster_state:ok');
      await sleep(50);
    }
  } catch (error) {
    await destroy();
    throw error;
  }
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  return {
    nodes,
    client: (options) => new Cluster(nodes, options),
    destroy,
  };
}

function pattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`;
}

/** Deletes every key under `prefix:` (SCAN, so it is safe on a shared server). Returns how many. */
export async function deletePrefix(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true });
  client.on('error', () => undefined);
  await client.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern(prefix), 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** Deletes every key under `prefix:` on every master of a cluster. */
export async function deletePrefixOnCluster(cluster: Cluster, prefix: string): Promise<string[]> {
  const left: string[] = [];
  for (const node of cluster.nodes('master')) {
    for (const key of await node.keys(pattern(prefix))) await node.del(key);
    left.push(...(await node.keys(pattern(prefix))));
  }
  return left;
}

/** Keys under `prefix:`. */
export async function keysUnder(url: string, prefix: string): Promise<string[]> {
  const client = new Redis(url, { lazyConnect: true });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.keys(pattern(prefix));
  } finally {
    client.disconnect();
  }
}
