/**
 * PostgresStore's connections and the one rule they keep: every call
 * settles within its deadline.
 *
 * WHY a deadline of our own. `pg` settles a query when the server answers
 * or the socket reports an error; a connection that goes silent (a network
 * partition, a server host that froze) reports nothing for as long as TCP
 * keeps trying, and a pool with every client in such a state leaves
 * `connect()` waiting too. So `run()` races every call against a timer of
 * `commandTimeoutMs`: a call with no answer by then rejects with
 * StorePersistError saying whether the outcome is unknown (the statement
 * was sent) or nothing was sent. A client that then stays silent for another
 * deadline is destroyed (released with an error), so a dead socket cannot
 * hold a pool slot forever. The pool the store opens also sets the server's
 * `statement_timeout` and `lock_timeout` to 80% of the deadline, so a
 * statement that would outlive its caller's patience is cancelled on the
 * server (and says so: nothing changed) rather than committed later.
 *
 * The deadline runs on real time (setTimeout), not on the scheduler's Clock:
 * it bounds a network round trip, and under a VirtualClock nobody advances it
 * must still fire, or `stop()` could hang.
 *
 * Errors name the address (never the password) and the cause.
 */
import pg from 'pg';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { StorePersistError, toError } from '../../errors.js';

/** What a statement needs: a pooled client, or the caller's client inside its transaction. */
export interface Queryable {
  query: PoolClient['query'];
}

/** host:port/database of a pool's settings; never credentials. */
export function describeAddress(config: PoolConfig): string {
  let host = config.host ?? process.env.PGHOST ?? 'localhost';
  let port: string | number = config.port ?? process.env.PGPORT ?? 5432;
  let database = config.database ?? process.env.PGDATABASE ?? '';
  if (config.connectionString) {
    try {
      const u = new URL(config.connectionString);
      host = u.hostname || host;
      port = u.port || port;
      database = u.pathname.replace(/^\//, '') || database;
    } catch {
      // not a URL: keep the rest
    }
  }
  return `postgres://${host}:${port}${database ? `/${database}` : ''}`;
}

/** SQLSTATE classes of errors reported before or instead of running the statement (nothing changed). */
function serverRefused(error: unknown): boolean {
  const e = error as { severity?: unknown; code?: unknown };
  // An ERROR (not FATAL/PANIC) answer from the server: the statement was rolled back.
  return typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.severity === 'ERROR';
}

function hint(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === '28P01' || code === '28000') return ' (check the user and password in the connection string or pool settings)';
  if (code === '3D000') return ' (the database does not exist: create it, or name another in the connection string)';
  if (code === '57014') return " (the server's statement_timeout cancelled it)";
  if (code === '55P03') return " (the server's lock_timeout cancelled it: another transaction holds the job's row)";
  if (code === '57P01' || code === '57P02' || code === '57P03') return ' (the server is shutting down or starting up)';
  return '';
}

export interface RunOptions<T> {
  /** Run on the caller's client (inside its transaction) instead of a pooled one. */
  db?: Queryable | undefined;
  /** Another deadline than the store's, ms (opening: migrations may wait for another process's). */
  timeoutMs?: number;
  /** The call's value, if it comes after the deadline fired (e.g. to give back jobs a late claim took). */
  late?: (value: T) => void;
}

/** A pool with deadlines and clear errors. */
export class Database {
  readonly address: string;
  /** The last connection error seen: the likely cause of a failing call. */
  lastError: Error | undefined;
  private readonly onPoolError = (error: unknown): void => {
    this.lastError = toError(error);
  };

  /**
   * @param owned the store created this pool: it ends it at close.
   */
  constructor(
    readonly pool: Pool,
    readonly owned: boolean,
    readonly timeoutMs: number,
  ) {
    this.address = describeAddress((pool as unknown as { options?: PoolConfig }).options ?? {});
    // An idle client whose connection drops emits 'error' on the pool: unheard, it would end the process.
    pool.on('error', this.onPoolError);
  }

  /** A pool of the store's own: the server cancels statements past the deadline, and no query waits behind a dead one. */
  static open(config: PoolConfig, timeoutMs: number): Database {
    // The server gives up a little before the caller does, so its answer ("cancelled, nothing changed") arrives in time.
    const serverMs = Math.max(1, Math.floor(timeoutMs * 0.8));
    const pool = new pg.Pool({
      max: 10,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: timeoutMs,
      statement_timeout: serverMs,
      lock_timeout: serverMs,
      keepAlive: true,
      ...config,
    });
    return new Database(pool, true, timeoutMs);
  }

  /** Settings for one more connection to the same server (LISTEN). */
  clientConfig(): pg.ClientConfig {
    const { max: _max, idleTimeoutMillis: _idle, ...rest } = ((this.pool as unknown as { options?: PoolConfig }).options ?? {}) as PoolConfig & Record<string, unknown>;
    return { ...rest, keepAlive: true };
  }

  async close(): Promise<void> {
    if (this.owned) await this.pool.end().catch(() => undefined);
    this.pool.off('error', this.onPoolError);
  }

  private cause(): string {
    const e = this.lastError;
    if (!e) return '';
    const code = (e as NodeJS.ErrnoException).code;
    return ` (last connection error: ${code && !e.message.includes(code) ? `${code} ` : ''}${e.message})`;
  }

  /** The StorePersistError for a failed call `what`; `sent`: the statement may have reached the server. */
  failure(what: string, error: unknown, sent: boolean): StorePersistError {
    if (error instanceof StorePersistError) return error;
    const message = toError(error).message;
    if (serverRefused(error)) {
      return new StorePersistError(`Expected PostgreSQL at ${this.address} to run \`${what}\`, got ${message}${hint(error)}; nothing was changed`, { cause: error });
    }
    const outcome = sent ? 'the outcome is unknown (it may have been applied): retry it, the store\'s calls are safe to repeat' : 'nothing was sent, so nothing was changed';
    return new StorePersistError(`Expected PostgreSQL at ${this.address} to run \`${what}\`, got ${message}${this.cause()}${hint(error)}; ${outcome}`, { cause: error, outcomeUnknown: sent });
  }

  /** The error for a server that cannot be reached: the address and the cause. */
  unreachable(cause: unknown): StorePersistError {
    const e = toError(cause);
    const code = (e as NodeJS.ErrnoException).code;
    const what = code && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
    return new StorePersistError(`Expected PostgreSQL at ${this.address} to accept a connection, got ${what}${hint(cause)}`, { cause: e });
  }

  /**
   * Runs `work` on a pooled client (or on `options.db`) with a deadline: it
   * settles within `timeoutMs` whatever the connection does.
   */
  run<T>(what: string, work: (client: Queryable) => Promise<T>, options: RunOptions<T> = {}): Promise<T> {
    const ms = options.timeoutMs ?? this.timeoutMs;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      let sent = false;
      let answered = false;
      let client: PoolClient | undefined;
      const finish = (fn: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => {
        finish(() =>
          reject(
            new StorePersistError(
              `Expected PostgreSQL at ${this.address} to answer \`${what}\` within ${ms} ms, got no answer${this.cause()}; ` +
                (sent ? "the outcome is unknown (it may have been applied): retry it, the store's calls are safe to repeat" : 'nothing was sent, so nothing was changed'),
              { outcomeUnknown: sent },
            ),
          ),
        );
        // Still silent after another deadline: a dead socket. Destroy the client so it frees its pool slot.
        const c = client;
        if (c && sent) {
          const check = setTimeout(() => {
            if (!answered) destroy(c, new Error(`no answer to \`${what}\` for ${2 * ms} ms`));
          }, ms);
          check.unref();
        }
      }, ms);
      timer.unref();
      let released = false;
      const onClientError = (error: unknown): void => {
        this.lastError = toError(error);
      };
      const destroy = (c: PoolClient, error?: Error): void => {
        if (released) return;
        released = true;
        c.off('error', onClientError);
        c.release(error);
      };
      const execute = async (q: Queryable): Promise<void> => {
        sent = true;
        try {
          const value = await work(q);
          answered = true;
          if (client) destroy(client);
          if (done) {
            options.late?.(value);
            return;
          }
          finish(() => resolve(value));
        } catch (error) {
          answered = true;
          // A broken connection goes; a statement error leaves it usable (the work rolled back its own transaction).
          if (client) destroy(client, serverRefused(error) ? undefined : toError(error));
          finish(() => reject(this.failure(what, error, true)));
        }
      };
      if (options.db) {
        void execute(options.db);
        return;
      }
      // The callback form, not the promise: pg-pool calls it in the same
      // synchronous pass that completed the connection, so the listener is on
      // before the parser reads the rest of that TCP chunk. A server that
      // terminates the backend right then (a restart, pg_terminate_backend)
      // sends its error in that chunk; with the promise's one-microtask delay
      // the client emitted 'error' with no listener and Node threw it out of
      // the socket handler, ending the process (PostgreSQL simulation;
      // test/postgres-terminated-at-connect.test.ts).
      this.pool.connect((error: Error | undefined, c: PoolClient | undefined) => {
        if (error || c === undefined) {
          this.lastError = toError(error);
          finish(() => reject(this.unreachable(error)));
          return;
        }
        client = c;
        c.on('error', onClientError);
        // The deadline passed while connecting: send nothing.
        if (done) destroy(c);
        else void execute(c);
      });
    });
  }

  /** One statement (see run). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(what: string, sql: string | pg.QueryConfig, params: unknown[] = [], options: RunOptions<pg.QueryResult<R>> = {}): Promise<pg.QueryResult<R>> {
    return this.run(what, (q) => (q.query as (text: string | pg.QueryConfig, values: unknown[]) => Promise<pg.QueryResult<R>>)(sql, params), options);
  }
}
