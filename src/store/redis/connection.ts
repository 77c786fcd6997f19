/**
 * The RedisStore's connection to Redis (a single server or a Cluster) and the
 * one rule it enforces: every call settles within its deadline.
 *
 * WHY a deadline of our own. ioredis can leave a command's promise pending
 * forever: with `autoResendUnfulfilledCommands: false`, a command whose
 * connection drops before the reply and reconnects at once is dropped
 * without being settled, even by `disconnect()` (ioredis #2193, still in
 * 6.0.0; #2197: a client that never becomes ready again). Turning re-sending
 * on is no cure: a script whose reply was lost would run twice (an insert
 * would then report its own job as a duplicate). So `run()` races every call
 * against a timer of `commandTimeoutMs` and rejects with StorePersistError
 * saying the outcome is unknown. A connection the store opened itself that
 * then answers nothing at all for another deadline is dropped and
 * reconnected (a dead socket would otherwise time out every call).
 *
 * The deadline runs on real time (setTimeout), not on the scheduler's Clock:
 * it bounds a network round trip, and under a VirtualClock that nobody
 * advances it must still fire, or `stop()` could hang.
 *
 * Errors name the address (never the password) and the cause: the last
 * error the client reported (ECONNREFUSED, NOAUTH/WRONGPASS, a TLS failure).
 */
// Not the named `Redis` export: ioredis added it only in 5.3.0, and the peer range starts at 5.0.0.
// `default` is the Redis class under ESM and CommonJS alike.
import IORedis, { type Cluster, type Redis, type RedisOptions } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { StorePersistError, toError } from '../../errors.js';
import type { Script } from './scripts.js';

/** An ioredis client: a single server or a Cluster. */
export type RedisClient = Redis | Cluster;

/** What a command failure says about whether it was applied. */
function notSent(error: unknown): boolean {
  return /Stream isn't writeable|isn't ready and enableOfflineQueue/.test(toError(error).message);
}

function isReplyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ReplyError';
}

function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

/** host:port (or socket path) of a client, or its startup nodes for a Cluster; never credentials. */
export function describeAddress(client: RedisClient): string {
  if (isCluster(client)) {
    const nodes = (client as unknown as { startupNodes?: unknown[] }).startupNodes ?? [];
    const shown = nodes.map((n) => {
      if (typeof n === 'string') return n.replace(/\/\/[^@/]*@/, '//');
      if (typeof n === 'number') return `127.0.0.1:${n}`;
      const o = n as { host?: string; port?: number };
      return `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
    });
    return `Redis Cluster (${shown.join(', ') || 'no startup nodes'})`;
  }
  const o = client.options;
  const where = o.path ? o.path : `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
  return `${o.tls ? 'rediss://' : 'redis://'}${where}`;
}

/** A Lua error reply from our scripts: `GODELAYQ {json}` (plus Redis's " script: …" suffix). */
export function scriptFailure(error: unknown): Record<string, string> | undefined {
  if (!isReplyError(error)) return undefined;
  const message = toError(error).message;
  if (!message.startsWith('GODELAYQ ')) return undefined;
  const end = message.lastIndexOf(' script: ');
  try {
    return JSON.parse(message.slice('GODELAYQ '.length, end < 0 ? undefined : end)) as Record<string, string>;
  } catch {
    return undefined;
  }
}

/** Hints for errors that mean "wrong kind of deployment". */
function hint(message: string): string {
  if (/^MOVED |^ASK |CROSSSLOT|non local key|do not hash to the same slot/.test(message)) {
    return ' (a Redis Cluster: pass an ioredis `Cluster` as `client`, with a hash-tagged prefix such as "{godelayq}")';
  }
  if (/^NOAUTH|^WRONGPASS/.test(message)) return ' (check the password or ACL user in the URL or redisOptions)';
  if (/^OOM /.test(message)) return ' (Redis reached maxmemory; with maxmemory-policy noeviction it refuses new work until memory is freed)';
  if (/unknown command|Unknown Redis command|NOSCRIPT.*flags|Unexpected flag|shebang/i.test(message)) return ' (RedisStore needs Redis >= 7.0)';
  return '';
}

export interface RunOptions<T> {
  /** The call's reply, if it comes after the deadline fired (e.g. to give back jobs a late claim took). */
  late?: (value: T) => void;
}

/** One client with deadlines, script calls and clear errors. */
export class Connection {
  readonly client: RedisClient;
  readonly cluster: boolean;
  readonly address: string;
  /** The last error the client reported: the likely cause of a failing call. */
  lastError: Error | undefined;
  /** Monotonic ms of the last answer on this connection. */
  private lastAnswer = 0;
  private readonly onError = (error: unknown): void => {
    this.lastError = toError(error);
  };

  /**
   * @param owned the store created this client: it may drop and reconnect it, and closes it.
   */
  constructor(
    client: RedisClient,
    readonly owned: boolean,
    readonly timeoutMs: number,
  ) {
    this.client = client;
    this.cluster = isCluster(client);
    this.address = describeAddress(client);
    client.on('error', this.onError);
  }

  /**
   * A connection of the store's own from a URL: no offline queue (a call
   * rejects at once while Redis is away) and no re-sending of unanswered
   * commands (a script must never run twice behind the caller's back).
   */
  static fromUrl(url: string, options: RedisOptions, timeoutMs: number): Connection {
    const client = new IORedis.default(url, { lazyConnect: true, enableOfflineQueue: false, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 1, ...options });
    return new Connection(client, true, timeoutMs);
  }

  /** One more connection to the same Redis, for pub/sub (Cluster.duplicate(startupNodes, options) differs from Redis.duplicate(options)). */
  subscriber(): Connection {
    const sub: RedisClient = this.cluster
      ? (this.client as Cluster).duplicate([], { lazyConnect: true, enableOfflineQueue: true })
      : (this.client as Redis).duplicate({ lazyConnect: true, enableOfflineQueue: true, autoResubscribe: true });
    return new Connection(sub, true, this.timeoutMs);
  }

  /** Redis >= 7: the scripts declare Redis 7 flags (`#!lua flags=…`). */
  async checkServer(): Promise<void> {
    const info = String(await this.run('info', () => this.client.info('server')));
    const version = /redis_version:(\d+)\.(\d+)(?:\.(\d+))?/.exec(info);
    if (version && Number(version[1]) < 7) {
      throw new StorePersistError(`Expected Redis >= 7.0 at ${this.address} (RedisStore's scripts use Redis 7 script flags), got ${version[0].slice('redis_version:'.length)}`);
    }
  }

  /** Loads every script once (on every master of a Cluster), so a burst of first calls does not all miss the script cache. */
  async loadScripts(scripts: readonly Script[]): Promise<void> {
    const targets = this.cluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    await this.run('script load', () => Promise.all(targets.flatMap((node) => scripts.map((s) => node.script('LOAD', s.lua)))));
  }

  /** Stops listening to the client (and closes it when the store opened it). */
  async close(): Promise<void> {
    const client = this.client;
    if (this.owned) {
      try {
        await this.run('quit', () => client.quit());
      } catch {
        // Unreachable: drop the socket instead.
      }
      client.disconnect();
    }
    client.off('error', this.onError);
  }

  private cause(): string {
    const e = this.lastError;
    if (!e) return '';
    const code = (e as NodeJS.ErrnoException).code;
    return ` (last connection error: ${code && !e.message.includes(code) ? `${code} ` : ''}${e.message})`;
  }

  /** The StorePersistError for a failed call `what`. */
  failure(what: string, error: unknown): StorePersistError {
    if (error instanceof StorePersistError) return error;
    const message = toError(error).message;
    if (isReplyError(error)) {
      return new StorePersistError(`Expected Redis at ${this.address} to run \`${what}\`, got ${message}${hint(message)}; nothing was changed`, { cause: error });
    }
    const unsent = notSent(error);
    const outcome = unsent ? 'nothing was sent, so nothing was changed' : 'the outcome is unknown (it may have been applied)';
    return new StorePersistError(`Expected Redis at ${this.address} to run \`${what}\`, got ${message}${this.cause()}; ${outcome}`, { cause: error, outcomeUnknown: !unsent });
  }

  /**
   * Runs `call` with a deadline: it settles within `timeoutMs` whatever the
   * client does. A call with no answer by then rejects (outcome unknown).
   */
  run<T>(what: string, call: () => Promise<T>, options: RunOptions<T> = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      let answered = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        reject(
          new StorePersistError(
            `Expected Redis at ${this.address} to answer \`${what}\` within ${this.timeoutMs} ms, got no answer${this.cause()}; the outcome is unknown (it may have been applied): retry it, the store's calls are safe to repeat`,
            { outcomeUnknown: true },
          ),
        );
        this.suspect(() => answered);
      }, this.timeoutMs);
      timer.unref();
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (error) {
        clearTimeout(timer);
        done = true;
        reject(this.failure(what, error));
        return;
      }
      pending.then(
        (value) => {
          clearTimeout(timer);
          answered = true;
          this.lastAnswer = performance.now();
          if (done) {
            options.late?.(value);
            return;
          }
          done = true;
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          answered = true;
          if (done) return;
          done = true;
          reject(this.failure(what, error));
        },
      );
    });
  }

  /**
   * A call went unanswered past its deadline. A slow Redis answers later (a
   * late reply is still used, e.g. to give back what a late claim took); a
   * dead socket (a network partition without a reset) never does, and every
   * call on it would time out until the OS notices. So a connection of the
   * store's own that answered nothing at all for another deadline is dropped
   * and reconnected.
   */
  private suspect(answered: () => boolean): void {
    if (!this.owned || this.cluster) return;
    const since = performance.now();
    const check = setTimeout(() => {
      if (!answered() && this.lastAnswer < since) (this.client as Redis).disconnect(true);
    }, this.timeoutMs);
    check.unref();
  }

  /** Runs a script (EVALSHA, sending the source after a server restart emptied the script cache). */
  evalScript(script: Script, key: string, args: readonly (string | number)[], options: RunOptions<unknown> = {}): Promise<unknown> {
    const client = this.client;
    return this.run(
      script.name,
      async () => {
        try {
          return await client.evalsha(script.sha, 1, key, ...args);
        } catch (error) {
          if (!isReplyError(error) || !toError(error).message.startsWith('NOSCRIPT')) throw error;
          return await client.eval(script.lua, 1, key, ...args);
        }
      },
      options,
    );
  }

  /**
   * Waits until the client is ready (connecting it if it waits for that),
   * within `ms`. A connection the store opened fails at its first error; a
   * given client that is still connecting gets the whole time.
   */
  async ready(ms: number): Promise<void> {
    const client = this.client;
    if (client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('error', onFail);
        client.off('end', onEnd);
        if (error) reject(error);
        else resolve();
      };
      const onReady = (): void => finish();
      const onFail = (error: unknown): void => {
        if (this.owned) finish(this.unreachable(toError(error)));
      };
      const onEnd = (): void => finish(this.unreachable(this.lastError ?? new Error('the connection ended')));
      const timer = setTimeout(() => finish(this.unreachable(this.lastError ?? new Error(`not ready after ${ms} ms (status ${client.status})`))), ms);
      timer.unref();
      client.on('ready', onReady);
      client.on('error', onFail);
      client.on('end', onEnd);
      if (client.status === 'wait') {
        client.connect().catch((error: unknown) => {
          // The 'error' event carries the real cause; this is "Connection is closed."
          if (!this.lastError) this.lastError = toError(error);
          if (this.owned) finish(this.unreachable(this.lastError));
        });
      }
    });
  }

  /** The error for a Redis that cannot be reached: the address and the cause. */
  unreachable(cause: Error): StorePersistError {
    const code = (cause as NodeJS.ErrnoException).code;
    const what = code && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message;
    return new StorePersistError(`Expected Redis at ${this.address} to accept a connection, got ${what}${hint(cause.message)}`, { cause });
  }
}
