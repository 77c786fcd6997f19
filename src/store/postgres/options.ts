/**
 * PostgresStore's options: their types, defaults and checks (at
 * construction, so a wrong option fails before anything connects).
 */
import type { Pool, PoolConfig } from 'pg';
import { ValidationError } from '../../errors.js';
import { checkKeys, checkOptionsObject, checkPositive, show } from '../../validate.js';

/** Options of `new PostgresStore()`. */
export interface PostgresStoreOptions {
  /**
   * A `pg` Pool to run the store's statements on. The store does not end
   * it, and opens one more connection from its settings for LISTEN.
   */
  pool?: Pool;
  /** Connection string when no `pool` is given (`postgres://user:pass@host:5432/db`). @default PostgreSQL's PG* environment variables */
  connectionString?: string;
  /** More `pg` Pool settings for the pool the store opens (e.g. `max`, `ssl`). */
  poolConfig?: PoolConfig;
  /**
   * The schema that holds the store's tables and functions (created and
   * migrated by the store). Several stores with different schemas are
   * independent job sets in one database.
   * @default 'godelayq'
   */
  schema?: string;
  /**
   * How long a claimed attempt stays leased without renewal, ms. The lease is
   * renewed every `leaseMs / 3` while the handler runs; after a crash the job
   * runs again elsewhere about `leaseMs` later.
   * @default 30000
   */
  leaseMs?: number;
  /** Safety-net refresh interval, ms, on the scheduler's clock (LISTEN/NOTIFY is the prompt path). @default 2000 */
  pollMs?: number;
  /**
   * How long a finished attempt keeps its lease while its outcome is being
   * recorded (the scheduler retries a failed settle), ms.
   * @default 5000
   */
  settleRetryMs?: number;
  /**
   * Deadline of every call to PostgreSQL, ms: a call with no answer by then
   * rejects with StorePersistError saying its outcome is unknown. No call
   * stays pending longer, whatever the connection does. The pool the store
   * opens sets the server's `statement_timeout` and `lock_timeout` to 80% of it.
   * @default 5000
   */
  commandTimeoutMs?: number;
  /**
   * Open for reading only (`get`, `list`, `counts`, `nextDueAt`), as an
   * inspection tool does beside running schedulers: the schema must exist
   * (it is not created or migrated), no LISTEN, no timers, no lease
   * recovery, nothing written (the pool the store opens runs every
   * transaction read-only); every other call rejects.
   * @default false
   */
  readOnly?: boolean;
}

const OPTION_KEYS = new Set(['pool', 'connectionString', 'poolConfig', 'schema', 'leaseMs', 'pollMs', 'settleRetryMs', 'commandTimeoutMs', 'readOnly']);

export interface ResolvedOptions {
  pool: Pool | undefined;
  connectionString: string | undefined;
  poolConfig: PoolConfig;
  schema: string;
  leaseMs: number;
  pollMs: number;
  settleRetryMs: number;
  commandTimeoutMs: number;
  readOnly: boolean;
}

/** Lower-case SQL identifier, short enough for `<schema>.wake` to stay a channel name (63 bytes). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,49}$/;

function atLeast(value: number | undefined, fallback: number, min: number, what: string): number {
  const v = value === undefined ? fallback : checkPositive(value, what);
  if (v < min) throw new ValidationError(`Expected \`${what}\` to be at least ${min}, got ${show(v)}`);
  return v;
}

export function resolveOptions(options: PostgresStoreOptions): ResolvedOptions {
  const o = checkOptionsObject(options, 'options') ?? {};
  checkKeys(o, OPTION_KEYS, 'options');
  const pool = options.pool;
  if (pool !== undefined && (options.connectionString !== undefined || options.poolConfig !== undefined)) {
    throw new ValidationError('Expected one of `options.pool` or `options.connectionString`/`options.poolConfig`, got both');
  }
  if (pool !== undefined && (typeof pool !== 'object' || pool === null || typeof pool.connect !== 'function' || typeof pool.query !== 'function')) {
    throw new ValidationError(`Expected \`options.pool\` to be a pg Pool, got ${show(pool)}`);
  }
  if (options.connectionString !== undefined && (typeof options.connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(options.connectionString))) {
    throw new ValidationError(`Expected \`options.connectionString\` to be a postgres:// or postgresql:// URL string, got ${show(options.connectionString)}`);
  }
  if (options.poolConfig !== undefined) checkOptionsObject(options.poolConfig, 'options.poolConfig');
  const schema = options.schema ?? 'godelayq';
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new ValidationError(`Expected \`options.schema\` to be a lower-case SQL name (a-z, 0-9, _; at most 50 characters, not starting with a digit), got ${show(schema)}`);
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') {
    throw new ValidationError(`Expected \`options.readOnly\` to be a boolean, got ${show(options.readOnly)}`);
  }
  return {
    pool,
    connectionString: options.connectionString,
    poolConfig: options.poolConfig ?? {},
    schema,
    leaseMs: atLeast(options.leaseMs, 30_000, 100, 'options.leaseMs'),
    pollMs: atLeast(options.pollMs, 2000, 10, 'options.pollMs'),
    settleRetryMs: atLeast(options.settleRetryMs, 5000, 1, 'options.settleRetryMs'),
    commandTimeoutMs: atLeast(options.commandTimeoutMs, 5000, 10, 'options.commandTimeoutMs'),
    readOnly: options.readOnly ?? false,
  };
}
