/**
 * PostgresStore: one job set in PostgreSQL, shared by schedulers in many
 * processes, that can join the application's own transactions.
 *
 * HOW
 * - The jobs table (schema.ts) holds every job; partial indexes are the due
 *   index (scheduled, by run_at, seq) and the ready index (due jobs waiting
 *   for capacity, by name, priority, run_at, seq). No process keeps a copy
 *   of the job set. Each operation is one SQL function call (functions.ts):
 *   one round trip, one atomic statement.
 * - `claim` recovers expired leases, then takes the best due and ready jobs
 *   the caller has capacity for with FOR UPDATE SKIP LOCKED, each under a
 *   lease (a token and `lease_until` on the database clock). Leases are
 *   renewed while their attempts live (leases.ts, shared with RedisStore);
 *   `settle` applies only with the attempt's token and an unexpired lease. A
 *   process that dies stops renewing; once its lease ends, a live process
 *   (its lease watch, its poll, or any claim) puts the job back to
 *   scheduled, attempt kept, marked `lost: 'lease'`, and the scheduler that
 *   next claims it charges that attempt to the retry policy.
 * - Calls made in the same turn are batched (inserts; settles): one
 *   function call for many (each call all or none on its own).
 * - `insert`, `cancel` and `reschedule` take `{ db }`: the caller's client
 *   inside its open transaction. The change, and the NOTIFY that wakes the
 *   other processes, then commit or roll back with the caller's data.
 * - Push: a change that makes a job due earlier than every other NOTIFYs
 *   `<schema>.wake`; every store listening lowers its cached due time and
 *   wakes its scheduler. A poll (default every 2 s) refreshes the caches as
 *   a safety net, and right after the LISTEN connection comes back.
 * - `nextDueAt()` and `counts()` are synchronous: they answer from caches
 *   refreshed by the summary every function returns (view.ts, shared with
 *   RedisStore).
 * - Every call has a deadline (connection.ts).
 * - Job control (schema 3, functions-v3.ts): fields without a column of
 *   their own travel in `extra` (progress, logs, the trace context), a
 *   settle carries out per-job removal, inserts decide dedupe windows, and
 *   the store-wide pause and remote events go through control.ts.
 * - This file keeps the lifecycle, the function calls and the Store
 *   methods; claim.ts holds the claim loop, claiming ahead and giving
 *   claimed jobs back, settle.ts the settle batch, ../redis/watch.ts (shared
 *   with RedisStore) the poll and the lease watch.
 *
 * TIME
 * - Leases run on the database's clock only.
 * - `now()` (Store.now) gives the database's clock, estimated from the
 *   replies and carried on the monotonic clock (time.ts), so a process whose
 *   clock is wrong neither runs a job early nor twice.
 */
import { JobNotFoundError, StorePersistError, ValidationError } from '../../errors.js';
import type {
  ClaimRequest,
  ClaimResult,
  InsertRequest,
  InsertResult,
  JobRecord,
  LostReason,
  PauseState,
  Store,
  StoreContext,
  StoreCounts,
  StoreFeatures,
  StoreListFilter,
  StoreWriteOptions,
} from '../store.js';
import { Batcher, type ItemOutcome } from '../redis/batcher.js';
import { AheadBuffer } from './ahead.js';
import { beforeWrite, claim, returnAhead, type CallOptions, type ClaimState } from './claim.js';
import { Leases, type RenewItem } from '../redis/leases.js';
import { ServerView, type Summary } from '../redis/view.js';
import { Watch } from '../redis/watch.js';
import { checkInsert, checkText, Columns, decodeRow, encodeRow, extraText, type JobRow } from './codec.js';
import { insertOutcomes, insertParams, type InsertGroup, type InsertReply } from './insert.js';
import { Database, type Queryable } from './connection.js';
import { Control, type PauseReply } from './control.js';
import { listQuery } from './list.js';
import { Listener } from './listener.js';
import { resolveOptions, type PostgresStoreOptions, type ResolvedOptions } from './options.js';
import { checkReadable, summarySql } from './read-only.js';
import { ident, migrate } from './schema.js';
import { LOST_REASONS, flushSettles, type SettleHost, type SettleItem } from './settle.js';

export type { PostgresStoreOptions } from './options.js';

const BATCH_ITEMS = 500;
const BATCH_BYTES = 4 * 1024 * 1024;
const RECENTLY_LOST = 1024;
/** Jobs claimed ahead that no claim took within this long go back unstarted (ahead.ts). */
const AHEAD_TTL_MS = 250;

/** The summary every function returns: [now, due, lease, ready names, scheduled, running, completed, dead, cancelled, recurring]. */
type SqlSummary = [number, number | null, number | null, string[], number, number, number, number, number, number];

/** SQLSTATEs of a statement that changed nothing and may simply run again: a unique violation (an id or window inserted meanwhile), a deadlock. */
const RETRY_CODES: ReadonlySet<unknown> = new Set(['23505', '40P01']);

function transactionClient(db: unknown): Queryable | undefined {
  if (db === undefined) return undefined;
  if (typeof db !== 'object' || db === null || typeof (db as { query?: unknown }).query !== 'function') {
    throw new ValidationError('Expected `options.db` to be a pg Client or PoolClient inside an open transaction, got one without a query method');
  }
  return db as Queryable;
}

/**
 * A Store in PostgreSQL, shared by schedulers in many processes, that joins
 * your transactions (`{ db: client }`).
 * @example
 * import { Scheduler } from 'godelayq';
 * import { PostgresStore } from 'godelayq/postgres';
 * const scheduler = new Scheduler<Jobs>({ store: new PostgresStore({ connectionString: process.env.DATABASE_URL }) });
 */
export class PostgresStore implements Store {
  /** Many processes share it: downtime of one process is not downtime of the schedule. */
  readonly shared = true;
  /** `insert`, `cancel` and `reschedule` accept `{ db }`: the caller's client inside its transaction. */
  readonly transactional = true;
  /** Job control on PostgreSQL: schema 3 (functions-v3.ts, control.ts), groups and rate limits in schema 4 (functions-v4.ts). */
  readonly features: StoreFeatures = { pauseEverywhere: true, remoteEvents: true, dedupe: true, removal: true, groups: true, rateLimits: true };
  private readonly options: ResolvedOptions;
  private readonly S: string;
  private readonly sql: Record<string, string>;
  private db: Database | undefined;
  private listener: Listener | undefined;
  private context: StoreContext | undefined;
  private keepCompleted = 1000;
  private keepDead = 10000;
  private maxPayloadBytes = 1 << 20;
  private readonly view = new ServerView();
  private readonly knownNames = new Set<string>();
  private readonly leases: Leases;
  private readonly recentlyLost = new Set<string>();
  private readonly uncertain = new Set<string>();
  /** What a claim leaves for later ones: a bound that nextDueAt waits for, the request to claim ahead with (claim.ts). */
  private readonly claimState: ClaimState = { lockedUntil: undefined, aheadRequest: undefined };
  private status: 'closed' | 'opening' | 'open' | 'closing' = 'closed';
  private readonly inserts = new Batcher<InsertGroup, InsertResult[]>((groups) => this.flushInserts(groups), BATCH_ITEMS, BATCH_BYTES);
  private readonly settles = new Batcher<SettleItem, boolean>((items) => flushSettles(this.core, items), BATCH_ITEMS, BATCH_BYTES);
  private readonly ahead = new AheadBuffer(AHEAD_TTL_MS, (entries) => void returnAhead(this.core, entries));
  private readonly control: Control;
  /** What claim.ts and settle.ts use of this store. */
  private readonly core: SettleHost;
  /** The poll and the lease watch (../redis/watch.ts, shared with RedisStore). */
  private readonly watch: Watch;

  constructor(options: PostgresStoreOptions = {}) {
    this.options = resolveOptions(options);
    this.S = ident(this.options.schema);
    const S = this.S;
    const params = (n: number): string => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');
    this.sql = {
      insert: `SELECT ${S}.insert(${params(23)}) AS r`,
      claim: `SELECT ${S}.claim(${params(6)}, $7::text[], $8::integer[], $9::float8[], $10::integer, $11::float8) AS r`,
      pushBack: `SELECT ${S}.push_back(${params(2)}) AS r`,
      settle: `SELECT ${S}.settle(${params(22)}) AS r`,
      settleClaim: `SELECT ${S}.settle_claim(${params(27)}) AS r`,
      progress: `SELECT ${S}.progress(${params(3)}) AS r`,
      setPause: `SELECT ${S}.set_pause(${params(2)}) AS r`,
      giveBack: `SELECT ${S}.give_back($1) AS r`,
      cancel: `SELECT ${S}.cancel(${params(4)}) AS r`,
      reschedule: `SELECT ${S}.reschedule(${params(2)}) AS r`,
      revive: `SELECT ${S}.revive(${params(2)}) AS r`,
      renew: `SELECT ${S}.renew(${params(4)}) AS r`,
      release: `SELECT ${S}.release(${params(3)}) AS r`,
      tick: `SELECT ${S}.poll($1) AS r`,
      get: `SELECT ${S}.job_json(j) AS job FROM ${S}.jobs j WHERE j.id = $1`,
    };
    this.leases = new Leases({
      leaseMs: this.options.leaseMs,
      settleGraceMs: this.options.settleRetryMs,
      renew: (items) => this.renew(items),
      lost: (id, token, reason) => this.notifyLost(id, token, reason),
    });
    this.control = new Control({
      schema: this.options.schema,
      helloTtlMs: 3 * this.options.pollMs,
      context: () => (this.status === 'open' || this.status === 'opening' ? this.context : undefined),
      query: (what, text, params) => this.database(what).query(what, text, params),
    });
    this.core = {
      options: this.options,
      view: this.view,
      leases: this.leases,
      control: this.control,
      ahead: this.ahead,
      knownNames: this.knownNames,
      state: this.claimState,
      isOpen: () => this.status === 'open',
      call: <R>(fn: string, params: unknown[], options?: CallOptions<R>) => this.call<R>(fn, params, options),
      connected: () => this.db !== undefined,
      keepCompleted: () => this.keepCompleted,
      keepDead: () => this.keepDead,
      notifyLost: (id, token, reason) => this.notifyLost(id, token, reason),
    };
    this.watch = new Watch(this.view, this.options, {
      status: () => this.status,
      context: () => this.context,
      tick: async () => {
        const reply = await this.call<{ recovered: number; pause: PauseReply }>('tick', [this.control.greeting(false)]);
        this.control.learn(reply.pause);
        return reply.recovered;
      },
      nextDueAt: () => this.nextDueAt(),
    });
  }

  // ------------------------------------------------------------- lifecycle

  async open(context: StoreContext): Promise<void> {
    if (this.status !== 'closed') throw new StorePersistError(`Expected a closed PostgresStore to open, got one ${this.status}`);
    this.status = 'opening';
    this.context = context;
    // The SQL functions take integers: anything above keeps every job anyway.
    this.keepCompleted = Math.min(context.keepCompleted, 0x7fffffff);
    this.keepDead = Math.min(context.keepDead, 0x7fffffff);
    this.maxPayloadBytes = context.maxPayloadBytes;
    const o = this.options;
    try {
      const readOnly = o.readOnly ? { options: `${o.poolConfig.options ?? ''} -c default_transaction_read_only=on`.trim() } : {};
      const db = o.pool
        ? new Database(o.pool, false, o.commandTimeoutMs)
        : Database.open({ ...(o.connectionString === undefined ? {} : { connectionString: o.connectionString }), ...o.poolConfig, ...readOnly }, o.commandTimeoutMs);
      this.db = db;
      if (o.readOnly) {
        // No migration, no LISTEN, no timers, no lease recovery: the caches are filled once, by reading.
        await checkReadable(db, o.schema);
        const t0 = this.view.time.mono();
        const result = await db.query<{ s: SqlSummary }>('open (read the summary)', summarySql(o.schema));
        this.absorb((result.rows[0] as { s: SqlSummary }).s, t0, this.view.time.mono());
        this.status = 'open';
        return;
      }
      await db.run('open (migrate)', (client) => migrate(client as Parameters<typeof migrate>[0], o.schema), { timeoutMs: Math.max(o.commandTimeoutMs, 30_000) });
      const listener = new Listener({
        config: db.clientConfig(),
        channels: [`${o.schema}.wake`, ...(context.remoteEvent ? [this.control.eventsChannel] : [])],
        onMessage: (channel, payload) => {
          if (channel === this.control.eventsChannel) {
            if (this.status === 'open') this.control.onEvent(payload);
          } else this.onMessage(payload);
        },
        onReconnect: this.watch.onReconnect,
        timeoutMs: Math.max(o.commandTimeoutMs, 10_000),
      });
      this.listener = listener;
      await listener.start().catch((error: unknown) => {
        throw db.unreachable(error);
      });
      const reply = await this.call<{ recovered: number; pause: PauseReply }>('tick', [this.control.greeting(true)]);
      this.control.learn(reply.pause);
      if (reply.recovered > 0) context.wake();
    } catch (error) {
      await this.disconnect();
      this.status = 'closed';
      throw error;
    }
    this.status = 'open';
    this.leases.start(context.clock);
    this.watch.armPoll();
  }

  /**
   * Stops the timers, gives back the leases this process still holds (those
   * jobs become scheduled again, attempt kept, marked `lost: 'crash'`) and
   * closes the connections the store opened. Settles within a few deadlines.
   */
  async close(): Promise<void> {
    if (this.status !== 'open') return;
    this.status = 'closing';
    if (this.options.readOnly) {
      await this.disconnect();
      this.status = 'closed';
      return;
    }
    this.watch.stop();
    this.leases.stop();
    await Promise.all([this.inserts.idle(), this.settles.idle()]);
    this.claimState.aheadRequest = undefined;
    // Claimed ahead and never started: back as if never claimed, not charged.
    await returnAhead(this.core);
    if (this.leases.held.size > 0) {
      const ids: string[] = [];
      const tokens: string[] = [];
      for (const [id, lease] of this.leases.held) {
        ids.push(id);
        tokens.push(lease.token);
      }
      await this.call('release', ['crash', ids, tokens]).catch(() => undefined);
      this.leases.held.clear();
    }
    await this.disconnect();
    this.status = 'closed';
  }

  private async disconnect(): Promise<void> {
    const listener = this.listener;
    const db = this.db;
    this.listener = undefined;
    this.db = undefined;
    await listener?.stop();
    await db?.close();
  }

  // ------------------------------------------------------------- plumbing

  private database(what: string): Database {
    const db = this.db;
    if (!db) throw new StorePersistError(`Expected an open PostgresStore to run \`${what}\`, got a closed one`);
    return db;
  }

  /** Refuses a change on a store opened `readOnly` (before anything is sent). */
  private writable(what: string): void {
    if (this.options.readOnly) throw new StorePersistError(`Expected a PostgresStore opened for writing to run \`${what}\`, got one opened with \`readOnly: true\`; nothing was changed`);
  }

  /**
   * Calls function `fn`; absorbs the summary its reply carries (a call made
   * in the caller's transaction only gives the time: what it sees may roll back).
   */
  private async call<R>(fn: string, params: unknown[], options: CallOptions<R> = {}): Promise<R> {
    const db = this.database(fn);
    const t0 = this.view.time.mono();
    const late = options.late;
    const text = this.sql[fn] as string;
    const result = await db.query<{ r: R & { s: SqlSummary } }>(fn, options.db ? text : { name: `godelayq_${this.options.schema}_${fn}`, text }, params, {
      db: options.db,
      ...(late ? { late: (res) => late(res.rows[0]?.r as R) } : {}),
    });
    const reply = result.rows[0]?.r as R & { s: SqlSummary };
    const t1 = this.view.time.mono();
    if (options.db) this.view.time.sample(reply.s[0], t0, t1);
    else this.absorb(reply.s, t0, t1);
    return reply;
  }

  private absorb(s: SqlSummary, t0: number, t1: number): void {
    const summary: Summary = [String(s[0]), s[1] === null ? '' : String(s[1]), s[2] === null ? '' : String(s[2]), s[3], s[4], s[5], s[6], s[7], s[8], s[9], []];
    const { leaseKnown } = this.view.absorb(summary, t0, t1);
    const leaseMin = this.view.leaseMin;
    if (leaseKnown && leaseMin !== undefined && this.watch.sooner(leaseMin)) this.watch.watchLeases();
  }

  /** A NOTIFY on `<schema>.wake`: D<runAt>, L<leaseEnd>, X<reason>\n<token>; P, E, Q are Control's. */
  private onMessage(message: string): void {
    if (this.status !== 'open') return;
    if (this.control.onWake(message)) return;
    const kind = message[0];
    if (kind === 'X') {
      const nl = message.indexOf('\n');
      const reason = message.slice(1, nl);
      const token = message.slice(nl + 1);
      if (nl < 0 || !LOST_REASONS.has(reason)) return;
      for (const [id, lease] of this.leases.held) {
        if (lease.token === token) {
          this.leases.lose(id, token, reason as LostReason);
          break;
        }
      }
      return;
    }
    const at = Number(message.slice(1));
    if (!Number.isFinite(at)) return;
    if (kind === 'L') {
      if (this.view.leaseEnds(at) && this.watch.sooner(at)) this.watch.watchLeases();
    } else if (kind === 'D') {
      this.claimState.lockedUntil = undefined;
      if (this.view.dueAt(at)) this.context?.wake();
    }
  }

  private notifyLost(id: string, token: string, reason: LostReason): void {
    // Claimed ahead, never started: nobody runs it, nobody is told.
    if (this.ahead.drop(token)) return;
    if (this.recentlyLost.has(token)) return;
    this.recentlyLost.add(token);
    if (this.recentlyLost.size > RECENTLY_LOST) this.recentlyLost.delete(this.recentlyLost.values().next().value as string);
    if (reason === 'lease') this.context?.warn(`Job ${id}: the lease of its running attempt lapsed and the job was recovered for another run; this attempt's outcome will be ignored`);
    this.context?.lost?.(id, token, reason);
  }

  private async renew(items: RenewItem[]): Promise<[string, LostReason][]> {
    const reply = await this.call<{ gone: [string, LostReason][] }>('renew', [items.map((i) => i.id), items.map((i) => i.token), items.map((i) => i.seq), this.options.leaseMs]);
    return reply.gone;
  }

  // ------------------------------------------------------------- Store: writes

  async insert(requests: readonly InsertRequest[], options: StoreWriteOptions = {}): Promise<InsertResult[]> {
    if (requests.length === 0) return [];
    this.database('insert');
    this.writable('insert');
    const db = transactionClient(options.db);
    // Encoded here, so a bad record fails this call alone, before anything is sent.
    const cols = new Columns(this.maxPayloadBytes);
    for (const request of requests) {
      checkInsert(request);
      if (request.dedupe !== undefined) checkText(request.dedupe.key, 'dedupe.key');
      cols.add(request.record);
    }
    const group: InsertGroup = { requests: [...requests], cols };
    await beforeWrite(this.core, requests.map((r) => r.record.id));
    if (db) {
      const [outcome] = await this.flushInserts([group], db);
      if (!outcome?.ok) throw outcome?.error;
      return outcome.value;
    }
    return this.inserts.add(group, cols.bytes);
  }

  private async flushInserts(groups: InsertGroup[], db?: Queryable): Promise<ItemOutcome<InsertResult[]>[]> {
    for (const { requests } of groups) for (const request of requests) this.knownNames.add(request.record.name);
    const params = insertParams(groups);
    let reply: InsertReply;
    for (let attempt = 1; ; attempt++) {
      try {
        reply = await this.call<InsertReply>('insert', params, { db });
        break;
      } catch (error) {
        // Another transaction inserted one of these ids between our read and our write, or two batches waited
        // on each other's dedupe windows (a deadlock the server broke): nothing was changed.
        const again = RETRY_CODES.has((error as { cause?: { code?: unknown } }).cause?.code);
        if (!again) throw error;
        if (db) {
          throw new StorePersistError(
            'Expected to insert the jobs in your transaction, got a concurrent transaction that inserted one of their ids first (or waited on the same dedupe windows); your transaction is aborted: roll it back and retry it',
            { cause: error },
          );
        }
        if (attempt >= 5) throw error;
      }
    }
    // A replaced job's attempt (if this process runs it) has lost it; inside a transaction, only at the commit's NOTIFY.
    return insertOutcomes(groups, reply, (id) => {
      if (!db) this.leases.release(id);
    });
  }

  async cancel(id: string, now: number, options: StoreWriteOptions = {}): Promise<JobRecord | undefined> {
    this.writable('cancel');
    const db = transactionClient(options.db);
    await beforeWrite(this.core, [id]);
    const reply = await this.call<{ job: JobRow | null }>('cancel', [id, now, this.keepCompleted, this.keepDead], { db });
    if (!reply.job) return undefined;
    // Inside a transaction the attempt keeps its lease until the commit's NOTIFY says otherwise.
    if (!db) this.leases.release(id);
    return decodeRow(reply.job);
  }

  async reschedule(id: string, runAt: number, options: StoreWriteOptions = {}): Promise<JobRecord> {
    this.writable('reschedule');
    await beforeWrite(this.core, [id]);
    const reply = await this.call<{ job?: JobRow; state?: string; missing?: true }>('reschedule', [id, runAt], { db: transactionClient(options.db) });
    return this.moved(id, reply, 'scheduled');
  }

  async revive(id: string, runAt: number): Promise<JobRecord> {
    this.writable('revive');
    await beforeWrite(this.core, [id]);
    const reply = await this.call<{ job?: JobRow; state?: string; missing?: true }>('revive', [id, runAt]);
    return this.moved(id, reply, 'dead or cancelled');
  }

  private moved(id: string, reply: { job?: JobRow; state?: string; missing?: true }, expected: string): JobRecord {
    if (reply.job) return decodeRow(reply.job);
    if (reply.state !== undefined) {
      const state = reply.state === 'ready' ? 'scheduled' : reply.state;
      throw new JobNotFoundError(id, `Expected job \`${id}\` to be ${expected}, got state '${state}'`);
    }
    throw new JobNotFoundError(id);
  }

  /**
   * Claims what is due at `request.now` (the database's clock when the
   * scheduler takes its times from `now()`); leases run on the database's
   * clock. Names this store has not seen are found in the ready jobs, their
   * capacity asked, and claimed in the next round. A claim whose reply comes
   * after its deadline gives its jobs back at once (as if never claimed).
   */
  async claim(request: ClaimRequest): Promise<ClaimResult> {
    this.writable('claim');
    return claim(this.core, request);
  }

  /** No job of `name` starts before `until` (the records' frame: the database's clock), in every process. */
  async pushBack(name: string, until: number): Promise<void> {
    this.writable('pushBack');
    checkText(name, 'name');
    await this.call('pushBack', [name, until]);
  }

  /**
   * The claim `token` of a job of `name` did not start it: one start leaves
   * the name's window and the store-wide one, in every process (see
   * Store.refundStart). Rows of `starts` carry no token: the newest start of
   * each goes, which a claim made just before (this one, or one as recent)
   * wrote. A plain statement, so no schema change.
   */
  async refundStart(name: string, _token: string): Promise<void> {
    this.writable('refundStart');
    checkText(name, 'name');
    const starts = `${ident(this.options.schema)}.starts`;
    await this.database('refundStart').query(
      'refundStart',
      `DELETE FROM ${starts} WHERE ctid IN (SELECT ctid FROM ${starts} WHERE scope = 'n:' || $1 ORDER BY at DESC LIMIT 1) OR ctid IN (SELECT ctid FROM ${starts} WHERE scope = '*' ORDER BY at DESC LIMIT 1)`,
      [name],
    );
  }

  async settle(id: string, token: string, next: JobRecord): Promise<boolean> {
    this.database('settle');
    this.writable('settle');
    const lease = this.leases.held.get(id);
    const claimed = lease?.token === token ? lease.claimed : undefined;
    // Encoded here: a result above the limit fails this call alone, before anything is sent.
    const row = encodeRow(next, this.maxPayloadBytes, claimed !== undefined && next.payload === claimed.payload);
    const item: SettleItem = { id, name: next.name, token, seq: lease?.token === token ? lease.seq : next.seq, again: this.uncertain.has(token), row };
    this.leases.settling(id, token);
    let ok: boolean;
    try {
      ok = await this.settles.add(item, row.bytes);
    } catch (error) {
      this.uncertain.add(token);
      if (this.uncertain.size > RECENTLY_LOST) this.uncertain.delete(this.uncertain.values().next().value as string);
      throw error;
    }
    this.uncertain.delete(token);
    this.leases.release(id, token);
    return ok;
  }

  /** Records what a running attempt reported (progress, logs: the record's `extra`) while it still owns the job. */
  async progress(id: string, token: string, next: JobRecord): Promise<boolean> {
    this.writable('progress');
    const reply = await this.call<{ ok: boolean }>('progress', [id, token, extraText(next)]);
    return reply.ok;
  }

  // ------------------------------------------------------------- many processes (control.ts)

  /**
   * Pauses (or resumes) claiming in every process sharing the schema: no
   * claim that starts after this resolves hands out a job while paused,
   * whether or not its process heard the notice.
   */
  async setPaused(paused: boolean): Promise<PauseState> {
    this.writable('setPaused');
    const reply = await this.call<{ pause: PauseReply }>('setPause', [paused, this.control.id]);
    const state: PauseState = { paused, version: Number(reply.pause[1]) };
    this.control.recorded(state);
    return state;
  }

  /** The store-wide pause as last known (notice, poll, or a claim's reply). */
  pauseState(): PauseState {
    return this.control.pause;
  }

  /** Whether another process listens for events (it said so within its last three poll intervals). */
  eventListeners(): boolean {
    return this.status === 'open' && this.control.listening();
  }

  /** Sends one encoded event to the processes that listen: at most once, never waited on. */
  publishEvent(message: string): void {
    if (this.status !== 'open' || this.options.readOnly) return;
    this.control.publish(message);
  }

  // ------------------------------------------------------------- Store: reads

  async get(id: string): Promise<JobRecord | undefined> {
    const db = this.database('get');
    const result = await db.query<{ job: JobRow }>(`get ${JSON.stringify(id)}`, { name: `godelayq_${this.options.schema}_get`, text: this.sql.get as string }, [id]);
    const row = result.rows[0];
    return row ? decodeRow(row.job) : undefined;
  }

  /** Jobs in runAt order; reads whole records only for the window it returns (list.ts). */
  async list(filter: StoreListFilter): Promise<JobRecord[]> {
    const db = this.database('list');
    const query = listQuery(this.options.schema, filter);
    if (!query) return [];
    const result = await db.query<{ job: JobRow }>('list', query.sql, query.params);
    return result.rows.map((row) => decodeRow(row.job));
  }

  /** Earliest runAt in the due index (or "now" while another process's ready jobs wait); see ServerView. */
  nextDueAt(): number | undefined {
    const at = this.view.nextDueAt();
    const locked = this.claimState.lockedUntil;
    return at !== undefined && locked !== undefined && at < locked ? locked : at;
  }

  counts(): StoreCounts {
    return this.view.counts();
  }

  /**
   * The database server's clock, epoch ms: an instant it has surely reached,
   * estimated from the server time in every reply and carried forward on
   * this process's monotonic clock. A scheduler takes every job time from it.
   */
  now(): number {
    return this.view.time.now();
  }
}
