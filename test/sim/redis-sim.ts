/**
 * RedisStore under the shared simulation (shared-sim.ts): each worker's
 * store on its own ioredis client (named after the worker, no offline queue,
 * no resend, no reconnect once the worker is dead), connections dropped with
 * `CLIENT KILL`, writes held up with `CLIENT PAUSE … WRITE`.
 */
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/redis.js';
import { startRedis, type RedisServer } from '../redis-server.js';
import type { RunResult } from './run.js';
import { MAIN, type Expectations } from './known.js';
import { runSharedScenario, sharedMain, type SharedBackend, type SharedMainOptions, type WorkerStore } from './shared-sim.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class RedisBackend implements SharedBackend {
  readonly label = 'redis';
  private prefix = '';
  private admin: Redis | undefined;

  constructor(readonly server: RedisServer) {}

  private get client(): Redis {
    if (!this.admin) throw new Error('redis-sim: begin() first');
    return this.admin;
  }

  async begin(seed: number): Promise<void> {
    this.prefix = `sim${seed}n${Date.now() % 1e9}`;
    this.admin = new Redis(this.server.url, { connectionName: 'sim-admin' });
    this.admin.on('error', () => undefined);
  }

  open(name: string, options: { leaseMs: number }): WorkerStore {
    let dead = false;
    const client = new Redis(this.server.url, {
      connectionName: name,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => (dead ? null : 50),
    });
    client.on('error', () => undefined);
    return {
      store: new RedisStore({ client, prefix: this.prefix, leaseMs: options.leaseMs, pollMs: 200, settleRetryMs: 1000 }),
      kill: () => {
        dead = true;
      },
      disconnect: () => client.disconnect(),
    };
  }

  async killConnections(name: string): Promise<void> {
    const list = (await this.client.client('LIST')) as string;
    for (const line of list.split('\n')) {
      const id = /\bid=(\d+)/.exec(line)?.[1];
      if (id && line.includes(` name=${name} `)) await this.client.client('KILL', 'ID', id).catch(() => undefined);
    }
  }

  async dropAll(): Promise<void> {
    await this.client.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes').catch(() => undefined);
  }

  async holdWrites(ms: number): Promise<boolean> {
    const held = await this.client.client('PAUSE', String(ms), 'WRITE').then(
      () => true,
      () => false,
    );
    await sleep(ms);
    return held;
  }

  async release(): Promise<void> {
    await this.client.client('UNPAUSE').catch(() => undefined);
  }

  async end(): Promise<void> {
    await this.client.flushall().catch(() => undefined);
    this.client.disconnect();
    this.admin = undefined;
  }
}

/** One RedisStore scenario on `server` (sim.test.ts runs a few in CI). */
export function runRedisScenario(server: RedisServer, seed: number, expect: Expectations = MAIN): Promise<RunResult> {
  return runSharedScenario(new RedisBackend(server), seed, expect);
}

/** `npm run sim -- --store redis`. */
export async function redisMain(options: SharedMainOptions): Promise<void> {
  const server = await startRedis();
  try {
    await sharedMain(new RedisBackend(server), `RedisStore (redis-server on ${server.url})`, options);
  } finally {
    await server.destroy();
  }
}
