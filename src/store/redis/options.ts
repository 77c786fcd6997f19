/**
 * RedisStore's options: their types, defaults and checks (at construction,
 * so a wrong option fails before anything connects).
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { ValidationError } from '../../errors.js';
import { checkKeys, checkOptionsObject, checkPositive, show } from '../../validate.js';
import { checkPrefix, hashTagOf } from './keys.js';

/** Options of `new RedisStore()`. */
export interface RedisStoreOptions {
  /**
   * An ioredis client to send commands on: a `Redis` (one server) or a
   * `Cluster`. The store does not close it, and opens one more connection
   * from it (`duplicate()`) for pub/sub. Prefer `enableOfflineQueue: false`
   * on it (see the README).
   */
  client?: Redis | Cluster;
  /** Connection URL, when no `client` is given (`redis://`, `rediss://` for TLS). @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** More ioredis options for the connections the store opens from `url`. */
  redisOptions?: RedisOptions;
  /**
   * Every key is `<prefix>:…`. On Redis Cluster it must hold a hash tag,
   * e.g. `'{billing}'`, so every key of the store lives in one slot.
   * @default 'godelayq' ('{godelayq}' with a Cluster client)
   */
  prefix?: string;
  /**
   * How long a claimed attempt stays leased without renewal, ms. The lease is
   * renewed every `leaseMs / 3` while the handler runs; after a crash the job
   * runs again elsewhere about `leaseMs` later.
   * @default 30000
   */
  leaseMs?: number;
  /** Safety-net refresh interval, ms, on the scheduler's clock (pub/sub is the prompt path). @default 2000 */
  pollMs?: number;
  /**
   * How long a finished attempt keeps its lease while its outcome is being
   * recorded (the scheduler retries a failed settle), ms. Past it the lease
   * is no longer renewed, so the job cannot stay `running` forever.
   * @default 5000
   */
  settleRetryMs?: number;
  /**
   * Deadline of every call to Redis, ms: a call with no answer by then
   * rejects with StorePersistError saying its outcome is unknown. No call
   * stays pending longer, whatever the client does.
   * @default 5000
   */
  commandTimeoutMs?: number;
  /**
   * Open for reading only (`get`, `list`, `counts`), as an inspection tool
   * does beside running schedulers: no subscription, no timers, no lease
   * recovery, nothing written; every other call rejects.
   * @default false
   */
  readOnly?: boolean;
}

const OPTION_KEYS = new Set(['client', 'url', 'redisOptions', 'prefix', 'leaseMs', 'pollMs', 'settleRetryMs', 'commandTimeoutMs', 'readOnly']);

export interface ResolvedOptions {
  client: Redis | Cluster | undefined;
  cluster: boolean;
  url: string;
  redisOptions: RedisOptions;
  prefix: string;
  leaseMs: number;
  pollMs: number;
  settleRetryMs: number;
  commandTimeoutMs: number;
  readOnly: boolean;
}

function atLeast(value: number | undefined, fallback: number, min: number, what: string): number {
  const v = value === undefined ? fallback : checkPositive(value, what);
  if (v < min) throw new ValidationError(`Expected \`${what}\` to be at least ${min}, got ${show(v)}`);
  return v;
}

export function resolveOptions(options: RedisStoreOptions): ResolvedOptions {
  const o = checkOptionsObject(options, 'options') ?? {};
  checkKeys(o, OPTION_KEYS, 'options');
  const client = options.client;
  if (client !== undefined && options.url !== undefined) {
    throw new ValidationError('Expected one of `options.client` or `options.url`, got both');
  }
  if (client !== undefined && (typeof client !== 'object' || client === null || typeof client.evalsha !== 'function' || typeof client.duplicate !== 'function')) {
    throw new ValidationError(`Expected \`options.client\` to be an ioredis Redis or Cluster client, got ${show(client)}`);
  }
  if (options.url !== undefined && (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))) {
    throw new ValidationError(`Expected \`options.url\` to be a redis:// or rediss:// URL string, got ${show(options.url)}`);
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') {
    throw new ValidationError(`Expected \`options.readOnly\` to be a boolean, got ${show(options.readOnly)}`);
  }
  if (options.redisOptions !== undefined) checkOptionsObject(options.redisOptions, 'options.redisOptions');
  const cluster = (client as { isCluster?: unknown } | undefined)?.isCluster === true;
  const prefix = checkPrefix(options.prefix ?? (cluster ? '{godelayq}' : 'godelayq'));
  if (cluster) {
    const keyPrefix = (client as Cluster).options.keyPrefix ?? '';
    if (hashTagOf(`${keyPrefix}${prefix}`) === undefined) {
      throw new ValidationError(
        `Expected \`options.prefix\` to hold a hash tag on Redis Cluster, such as ${show(`{${prefix.replace(/[{}]/g, '')}}`)} (every key of a store must live in one slot), got ${show(prefix)}`,
      );
    }
  }
  return {
    client,
    cluster,
    url: options.url ?? 'redis://127.0.0.1:6379',
    redisOptions: options.redisOptions ?? {},
    prefix,
    leaseMs: atLeast(options.leaseMs, 30_000, 100, 'options.leaseMs'),
    pollMs: atLeast(options.pollMs, 2000, 10, 'options.pollMs'),
    settleRetryMs: atLeast(options.settleRetryMs, 5000, 1, 'options.settleRetryMs'),
    commandTimeoutMs: atLeast(options.commandTimeoutMs, 5000, 10, 'options.commandTimeoutMs'),
    readOnly: options.readOnly ?? false,
  };
}
