/**
 * RedisStore: one job set shared by schedulers in many processes.
 *
 * HOW
 * - Redis holds every job (a hash per job) and the due index (a sorted set
 *   scored by runAt); no process keeps a copy of the job set. Each change is
 *   one Lua script (scripts.ts), atomic on the server, which checks every key
 *   it may write before its first write (lua.ts: no half-writes).
 * - `claim` runs one script that recovers expired leases, moves the jobs due
 *   at `now` into per-name ready sets (ordered by priority, then runAt, then
 *   insertion) and takes the best ones the caller has capacity for, each
 *   under a lease (a token in the job, an expiry in `P:leases`). Leases are
 *   renewed while their attempts live (leases.ts); `settle` applies only
 *   with the attempt's token and an unexpired lease. A process that dies
 *   stops renewing; once its lease expires, a live process (its lease-watch
 *   timer, its poll, or any claim) puts the job back to scheduled, attempt
 *   kept, marked `lost: 'lease'`, and the scheduler that next claims it
 *   charges that attempt to the retry policy.
 * - Calls made in the same turn are batched (batcher.ts): concurrent inserts
 *   into one INSERT script (each call all or none on its own), concurrent
 *   settles into one SETTLE script.
 * - Push: a script that makes some job due earlier than every other job in
 *   the due set publishes on `P:wake`; every store subscribed lowers its
 *   cached due time and wakes its scheduler. A poll (default every 2 s)
 *   refreshes the caches as a safety net, and right after a reconnect.
 * - `nextDueAt()` and `counts()` are synchronous: they answer from caches
 *   refreshed by the summary every script returns.
 * - Every call has a deadline (connection.ts): none stays pending when the
 *   client never settles a command.
 * - This file keeps the lifecycle, the script calls and the Store methods;
 *   claim.ts holds the claim rounds, insert.ts and settle.ts what the
 *   batches send and what their replies mean, watch.ts (shared with
 *   PostgresStore) the poll and the lease watch.
 *
 * TIME
 * - Leases run on the server's clock (`TIME` inside the scripts) only.
 * - Job times are in the records' frame. `now()` (Store.now) gives the
 *   server's clock, estimated from the replies and carried on the monotonic
 *   clock (time.ts), so a process whose clock is wrong neither runs a job
 *   early nor twice. The store's own timers (poll, lease watch, lease
 *   renewal) run on the scheduler's Clock; renewal also on real time, since
 *   the lease expires on the server's real clock (leases.ts).
 */
import { randomBytes } from 'node:crypto';
import { JobNotFoundError, StorePersistError, ValidationError } from '../../errors.js';
import type { ClaimRequest, ClaimResult, InsertRequest, InsertResult, JobRecord, LostReason, PauseState, Store, StoreContext, StoreCounts, StoreFeatures, StoreListFilter } from '../store.js';
import { Batcher } from './batcher.js';
import { changedFields, decodeRecord, encodeFields, type RawHash } from './codec.js';
import { Connection, scriptFailure } from './connection.js';
import { isWellFormed, KeyLayout, LAYOUT_VERSION } from './keys.js';
import { Leases, type RenewItem } from './leases.js';
import { listRecords } from './list.js';
import { PROGRESS } from './progress.js';
import { PauseView, SET_PAUSE, parsePauseNotice, pauseFromFields } from './pause.js';
import { EventPresence, WHO_LISTENS } from './remote-events.js';
import { resolveOptions, type ResolvedOptions, type RedisStoreOptions } from './options.js';
import { CANCEL, PUSH_BACK, REFUND_START, RELEASE, RENEW, RESCHEDULE, REVIVE, SCRIPTS, TICK, type Script } from './scripts.js';
import { ServerView, type Summary } from './view.js';
import { Watch } from './watch.js';
import { claim } from './claim.js';
import type { Reply, StoreCore } from './host.js';
import { fieldsSize, flushInserts, type InsertItem } from './insert.js';
import { LOST_REASONS, flushSettles, removalArg, type SettleItem } from './settle.js';

export type { RedisStoreOptions } from './options.js';

/** Batches: most calls and bytes per script call. */
const BATCH_ITEMS = 500;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Tokens of attempts already reported lost, so a late settle does not report them twice. */
const RECENTLY_LOST = 1024;

function checkKeyText(value: string, what: string): void {
  if (!isWellFormed(value)) throw new ValidationError(`Expected \`${what}\` to be well-formed Unicode (Redis stores UTF-8), got a string with a lone surrogate`);
}

/**
 * A Store in Redis (a single server or a Cluster), shared by schedulers in many processes and machines.
 * @example
 * import { Scheduler } from 'godelayq';
 * import { RedisStore } from 'godelayq/redis';
 * const scheduler = new Scheduler<Jobs>({ store: new RedisStore({ url: process.env.REDIS_URL }) });
 */
export class RedisStore implements Store {
  /** Many processes share it: downtime of one process is not downtime of the schedule. */
  readonly shared = true;
  /** Groups are claimed by the CLAIM script, across processes. */
  readonly features: StoreFeatures = { groups: true, rateLimits: true, pauseEverywhere: true, remoteEvents: true, dedupe: true, removal: true };
  /** Tells this store's own pause notices and event hellos from other processes'. */
  private readonly storeId = randomBytes(9).toString('base64url');
  private readonly pause = new PauseView();
  private readonly presence = new EventPresence(this.storeId);
  private readonly options: ResolvedOptions;
  private readonly keys: KeyLayout;
  private conn: Connection | undefined;
  private sub: Connection | undefined;
  private context: StoreContext | undefined;
  private keepCompleted = 1000;
  private keepDead = 10000;
  private maxPayloadBytes = 1 << 20;
  private readonly view = new ServerView();
  /** Job names seen in ready sets: their capacities go with every claim. */
  private readonly knownNames = new Set<string>();
  private readonly leases: Leases;
  private readonly recentlyLost = new Set<string>();
  /** Tokens whose settle failed with an unknown outcome: a retry asks Redis whether it got through. */
  private readonly uncertain = new Set<string>();
  private readonly warnedBroken = new Set<string>();
  /** The poll and the lease watch (watch.ts, shared with PostgresStore). */
  private readonly watch: Watch;
  private status: 'closed' | 'opening' | 'open' | 'closing' = 'closed';
  private readonly inserts = new Batcher<InsertItem[], InsertResult[]>((groups) => flushInserts(this.core, groups), BATCH_ITEMS, BATCH_BYTES);
  /** What claim.ts, insert.ts and settle.ts use of this store. */
  private readonly core: StoreCore;
  private readonly settles = new Batcher<SettleItem, boolean>((items) => flushSettles(this.core, items), BATCH_ITEMS, BATCH_BYTES);

  constructor(options: RedisStoreOptions = {}) {
    this.options = resolveOptions(options);
    this.keys = new KeyLayout(this.options.prefix, options.client?.options.keyPrefix ?? options.redisOptions?.keyPrefix ?? '');
    this.leases = new Leases({
      leaseMs: this.options.leaseMs,
      settleGraceMs: this.options.settleRetryMs,
      renew: (items) => this.renew(items),
      lost: (id, token, reason) => this.notifyLost(id, token, reason),
    });
    this.core = {
      view: this.view,
      leases: this.leases,
      keys: this.keys,
      knownNames: this.knownNames,
      isOpen: () => this.status === 'open',
      exec: (script, args, late) => this.exec(script, args, late),
      learnPause: (state) => this.learnPause(state),
      notifyLost: (id, token, reason) => this.notifyLost(id, token, reason),
    };
    this.watch = new Watch(this.view, this.options, {
      status: () => this.status,
      context: () => this.context,
      tick: async () => {
        const conn = this.connection('poll');
        const [reply] = await Promise.all([this.exec(TICK, [LAYOUT_VERSION]), this.readPause(conn)]);
        if (this.context?.remoteEvent) this.announce(this.presence.hello(3 * this.options.pollMs));
        return Number(reply[1]);
      },
      nextDueAt: () => this.nextDueAt(),
    });
  }

  // ------------------------------------------------------------- lifecycle

  async open(context: StoreContext): Promise<void> {
    if (this.status !== 'closed') throw new StorePersistError(`Expected a closed RedisStore to open, got one ${this.status}`);
    this.status = 'opening';
    this.context = context;
    this.keepCompleted = context.keepCompleted;
    this.keepDead = context.keepDead;
    this.maxPayloadBytes = context.maxPayloadBytes;
    const o = this.options;
    const openMs = Math.max(o.commandTimeoutMs, 10_000);
    try {
      const conn = o.client ? new Connection(o.client, false, o.commandTimeoutMs) : Connection.fromUrl(o.url, o.redisOptions, o.commandTimeoutMs);
      this.conn = conn;
      await conn.ready(openMs);
      await conn.checkServer();
      if (o.readOnly) {
        await this.peek(conn);
        this.status = 'open';
        return;
      }
      const sub = conn.subscriber();
      this.sub = sub;
      const remoteEvent = context.remoteEvent;
      sub.client.on('message', (channel: string, message: string) => {
        if (channel === this.keys.wakeChannel) this.onWake(message);
        else if (channel === this.keys.lostChannel) this.onLost(message);
        else if (channel === this.keys.eventsChannel && remoteEvent && this.status === 'open') remoteEvent(message);
      });
      // After a reconnect (of either connection) messages may have been
      // missed: refresh and wake the scheduler once a poll gets through.
      sub.client.on('ready', this.watch.onReconnect);
      conn.client.on('ready', this.watch.onReconnect);
      await sub.ready(openMs);
      const channels = [this.keys.wakeChannel, this.keys.lostChannel, ...(remoteEvent ? [this.keys.eventsChannel] : [])];
      await sub.run('subscribe', () => sub.client.subscribe(...channels));
      await conn.loadScripts(SCRIPTS);
      const reply = await this.exec(TICK, [LAYOUT_VERSION]);
      if (reply[0] === 'VERSION') {
        throw new StorePersistError(
          `Expected the keys under '${this.keys.base}' to use layout version ${LAYOUT_VERSION}, got version ${String(reply[1])} (written by ${String(reply[1]) === '1' ? 'godelayq 0.1' : 'another godelayq version'}). Let the old version finish its jobs, or delete the keys matching '${this.keys.base}*' (SCAN + DEL), or use another prefix`,
        );
      }
      await this.readPause(conn);
    } catch (error) {
      const conn = this.conn;
      await this.disconnect();
      this.status = 'closed';
      throw conn ? conn.failure('open', error) : error;
    }
    this.status = 'open';
    this.leases.start(context.clock);
    this.watch.armPoll();
    // Listeners say so at once; a publisher asks who listens.
    this.announce(context.remoteEvent ? this.presence.hello(3 * this.options.pollMs) : WHO_LISTENS);
  }

  /**
   * Stops the timers, gives back the leases this process still holds (those
   * jobs become scheduled again, attempt kept, marked `lost: 'crash'`) and
   * closes the connections the store opened. Settles within a few deadlines.
   */
  async close(): Promise<void> {
    if (this.status !== 'open') return;
    this.status = 'closing';
    this.watch.stop();
    this.leases.stop();
    await Promise.all([this.inserts.idle(), this.settles.idle()]);
    if (this.leases.held.size > 0) {
      try {
        await this.exec(RELEASE, ['crash', ...this.leases.pairs()]);
      } catch {
        // Unreachable: the leases expire and the jobs are recovered then.
      }
      this.leases.held.clear();
    }
    await this.disconnect();
    this.status = 'closed';
  }

  /**
   * Read-only open: checks the layout version and fills the caches (counts,
   * earliest due time, server time) with plain reads, writing nothing.
   */
  private async peek(conn: Connection): Promise<void> {
    const client = conn.client;
    const t0 = this.view.time.mono();
    const [version, counts, due, time] = await conn.run('open (read-only)', () =>
      Promise.all([
        client.get(this.keys.version),
        client.hmget(this.keys.fixed('counts'), 'scheduled', 'running', 'completed', 'dead', 'cancelled', 'recurring'),
        client.zrange(this.keys.due, 0, 0, 'WITHSCORES'),
        client.time(),
      ]),
    );
    if (version !== null && version !== LAYOUT_VERSION) {
      throw new StorePersistError(`Expected the keys under '${this.keys.base}' to use layout version ${LAYOUT_VERSION}, got version ${version}`);
    }
    const [sec, usec] = time as [number | string, number | string];
    const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
    const n = counts.map((c) => Number(c ?? 0)) as [number, number, number, number, number, number];
    this.view.absorb([String(now), due[1] ?? '', '-', '-', ...n, []], t0, this.view.time.mono());
  }

  private async disconnect(): Promise<void> {
    this.conn?.client.off('ready', this.watch.onReconnect);
    const sub = this.sub;
    const conn = this.conn;
    this.sub = undefined;
    this.conn = undefined;
    if (sub) {
      sub.client.removeAllListeners('message');
      sub.client.off('ready', this.watch.onReconnect);
      sub.client.disconnect();
      await sub.close().catch(() => undefined);
    }
    await conn?.close().catch(() => undefined);
  }

  // ------------------------------------------------------------- plumbing

  private connection(what: string): Connection {
    const conn = this.conn;
    if (!conn) throw new StorePersistError(`Expected an open RedisStore to run \`${what}\`, got a closed one`);
    return conn;
  }

  /** Runs a writing script (keep limits and lease length first); absorbs the summary it ends with. */
  private async exec(script: Script, args: readonly (string | number)[], late?: (reply: Reply) => void): Promise<Reply> {
    const conn = this.connection(script.name);
    if (this.options.readOnly) throw new StorePersistError(`Expected a RedisStore opened for writing to run \`${script.name}\`, got one opened with \`readOnly: true\`; nothing was changed`);
    const t0 = this.view.time.mono();
    let reply: Reply;
    try {
      reply = (await conn.evalScript(script, this.keys.due, [this.keepCompleted, this.keepDead, this.options.leaseMs, ...args], late ? { late: (r) => late(r as Reply) } : {})) as Reply;
    } catch (error) {
      throw this.scriptError(conn, script.name, error);
    }
    this.absorb(reply[reply.length - 1] as Summary, t0, this.view.time.mono());
    return reply;
  }

  /** A clear error for a script refusal of ours (a key of the wrong type), else the connection's. */
  private scriptError(conn: Connection, what: string, error: unknown): StorePersistError {
    const failure = scriptFailure(error);
    if (!failure) return conn.failure(what, error);
    const field = failure.field ? ` field \`${failure.field}\`` : '';
    return new StorePersistError(
      `Expected key ${JSON.stringify(failure.key)}${field} to hold ${failure.code === 'WRONGTYPE' ? `a ${failure.want}` : failure.want} for \`${what}\`, got ${failure.code === 'WRONGTYPE' ? `a ${failure.got}` : JSON.stringify(failure.got)} (written by another program?); nothing was changed`,
      { cause: error },
    );
  }

  private absorb(s: Summary, t0: number, t1: number): void {
    const { broken, leaseKnown } = this.view.absorb(s, t0, t1);
    const leaseMin = this.view.leaseMin;
    if (leaseKnown && leaseMin !== undefined && this.watch.sooner(leaseMin)) this.watch.watchLeases();
    for (const id of broken) {
      if (this.warnedBroken.has(id)) continue;
      this.warnedBroken.add(id);
      this.context?.warn(`Key ${JSON.stringify(this.keys.job(id))} is not a job hash (another program wrote it): its index entry was dropped and the key left alone`);
    }
  }

  private onWake(message: string): void {
    if (this.status !== 'open') return;
    const kind = message[0];
    if (kind === 'P' || kind === 'E' || kind === 'Q') {
      this.onControl(message);
      return;
    }
    if (message.startsWith('L')) {
      // A lease that ends before every other one: arm the lease watch for it.
      const end = Number(message.slice(1));
      if (Number.isFinite(end) && this.view.leaseEnds(end) && this.watch.sooner(end)) this.watch.watchLeases();
      return;
    }
    const at = Number(message);
    if (Number.isFinite(at) && this.view.dueAt(at)) this.context?.wake();
  }

  /** `<reason>\n<token>\n<id>`: an attempt lost its job; if it is ours, stop renewing it and tell the scheduler. */
  private onLost(message: string): void {
    const a = message.indexOf('\n');
    const b = message.indexOf('\n', a + 1);
    if (a < 0 || b < 0) return;
    const reason = message.slice(0, a);
    if (!LOST_REASONS.has(reason)) return;
    this.leases.lose(message.slice(b + 1), message.slice(a + 1, b), reason as LostReason);
  }

  /** Tells the scheduler (once per attempt) that an attempt it runs no longer owns its job. */
  private notifyLost(id: string, token: string, reason: LostReason): void {
    if (this.recentlyLost.has(token)) return;
    this.recentlyLost.add(token);
    if (this.recentlyLost.size > RECENTLY_LOST) this.recentlyLost.delete(this.recentlyLost.values().next().value as string);
    if (reason === 'lease') this.context?.warn(`Job ${id}: the lease of its running attempt lapsed and the job was recovered for another run; this attempt's outcome will be ignored`);
    this.context?.lost?.(id, token, reason);
  }

  /** One poll now, outside the timer (watch.ts): what the tests of lease recovery call. */
  private poll(): Promise<boolean> {
    return this.watch.poll();
  }

  private async renew(items: RenewItem[]): Promise<[string, LostReason][]> {
    const args: (string | number)[] = [];
    for (const item of items) args.push(item.id, item.token, item.seq);
    const reply = await this.exec(RENEW, args);
    return reply[1] as [string, LostReason][];
  }

  // ------------------------------------------------------------- many processes (pause.ts, remote-events.ts)

  /** `P…` (a pause changed), `E…` (a process listens for events), `Q` (who listens?), from `P:wake`. */
  private onControl(message: string): void {
    if (message[0] === 'P') {
      const notice = parsePauseNotice(message);
      if (notice && notice.from !== this.storeId) this.learnPause(notice.state);
    } else if (message[0] === 'E') this.presence.heard(message, this.context?.clock.now() ?? 0);
    else if (this.context?.remoteEvent) this.announce(this.presence.hello(3 * this.options.pollMs));
  }

  private learnPause(state: PauseState, reset = false): void {
    if (this.pause.offer(state, reset)) this.context?.pauseChanged?.(this.pause.state);
  }

  private async readPause(conn: Connection): Promise<void> {
    const known = this.pause.state.version;
    const [on, version] = await conn.run('read pause', () => conn.client.hmget(this.keys.fixed('pause'), 'on', 'v'));
    // No key: deleted (versions start over), unless a newer state arrived while this read was out.
    this.learnPause(pauseFromFields(on, version), version === null && this.pause.state.version === known);
  }

  /** Publishes on `P:wake`, never waited on (a lost hello or question is made up by the next poll). */
  private announce(message: string): void {
    const conn = this.conn;
    if (!conn || this.options.readOnly) return;
    void conn.run('publish', () => conn.client.publish(this.keys.wakeChannel, message)).catch(() => undefined);
  }

  /**
   * Pauses (or resumes) claiming in every process sharing the store: no
   * claim hands out a job while paused, whether or not its process heard.
   */
  async setPaused(paused: boolean): Promise<PauseState> {
    const reply = await this.exec(SET_PAUSE, [paused ? '1' : '', this.storeId]);
    const state: PauseState = { paused, version: Number(reply[1]) };
    this.pause.offer(state);
    return state;
  }

  /** The store-wide pause as last heard (notice, poll, or a refused claim). */
  pauseState(): PauseState {
    return this.pause.state;
  }

  /** Whether another process listens for events (it said so within its last three poll intervals). */
  eventListeners(): boolean {
    return this.status === 'open' && this.presence.listening(this.context?.clock.now() ?? 0);
  }

  /** Publishes one encoded event on `P:events`: at most once, never waited on. */
  publishEvent(message: string): void {
    const conn = this.conn;
    if (!conn || this.status !== 'open') return;
    void conn.run('publish event', () => conn.client.publish(this.keys.eventsChannel, message)).catch(() => undefined);
  }

  // ------------------------------------------------------------- Store

  async insert(requests: readonly InsertRequest[]): Promise<InsertResult[]> {
    if (requests.length === 0) return [];
    this.connection('insert');
    let size = 0;
    const items: InsertItem[] = [];
    for (const request of requests) {
      checkKeyText(request.record.id, 'id');
      checkKeyText(request.record.name, 'name');
      const fields = encodeFields(request.record, this.maxPayloadBytes);
      size += request.record.id.length + fieldsSize(fields);
      items.push({ request, fields });
    }
    return this.inserts.add(items, size);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const conn = this.connection('get');
    const key = this.keys.job(id);
    return decodeRecord(await conn.run(`get ${JSON.stringify(key)}`, () => conn.client.hgetall(key)), id);
  }

  /** Jobs in runAt order; reads only the records it returns (list.ts). */
  async list(filter: StoreListFilter): Promise<JobRecord[]> {
    const conn = this.connection('list');
    return listRecords(
      {
        read: async (script, args) => {
          try {
            return await conn.evalScript(script, this.keys.due, args);
          } catch (error) {
            throw conn.failure('list', error);
          }
        },
        readyNames: () => conn.run('list', () => conn.client.smembers(this.keys.fixed('readyn'))),
        readyGroups: () => conn.run('list', () => conn.client.smembers(this.keys.fixed('readyg'))),
      },
      filter,
    );
  }

  async cancel(id: string, now: number): Promise<JobRecord | undefined> {
    const reply = await this.exec(CANCEL, [id, String(now)]);
    if (reply[0] !== 'OK') return undefined;
    this.leases.release(id);
    return decodeRecord(reply[1] as RawHash);
  }

  async reschedule(id: string, runAt: number): Promise<JobRecord> {
    let reply = await this.exec(RESCHEDULE, [id, String(runAt), '0']);
    // A schedule's slot moves with it: read its options, write them back changed (compare-and-set on the stored text).
    for (let round = 0; round < 10 && (reply[0] === 'RECUR' || reply[0] === 'RETRY'); round++) {
      const conn = this.connection('reschedule');
      const raw = await conn.run('reschedule', () => conn.client.hgetall(this.keys.job(id)));
      const record = decodeRecord(raw, id);
      if (!record?.recur) {
        reply = await this.exec(RESCHEDULE, [id, String(runAt), '0']);
        continue;
      }
      const x = encodeFields({ ...record, recur: { ...record.recur, slot: runAt } }, Infinity)[2] as string;
      reply = await this.exec(RESCHEDULE, [id, String(runAt), '1', raw.x ?? '', x]);
    }
    return this.moved(id, reply, 'scheduled');
  }

  async revive(id: string, runAt: number): Promise<JobRecord> {
    const reply = await this.exec(REVIVE, [id, String(runAt)]);
    return this.moved(id, reply, 'dead or cancelled');
  }

  private moved(id: string, reply: Reply, expected: string): JobRecord {
    if (reply[0] === 'NOTFOUND') throw new JobNotFoundError(id);
    if (reply[0] === 'STATE') throw new JobNotFoundError(id, `Expected job \`${id}\` to be ${expected}, got state '${String(reply[1])}'`);
    if (reply[0] !== 'OK') throw new StorePersistError(`Expected job \`${id}\` to keep still while rescheduled, got it changed by others 10 times in a row`);
    return decodeRecord(reply[1] as RawHash) as JobRecord;
  }

  /**
   * Claims what is due at `request.now`, in the records' time frame. A
   * scheduler that takes its job times from `now()` (the server's clock)
   * passes server time here, so no process claims early whatever its own
   * clock says; leases always run on the server's clock. Names this store
   * has not seen yet are reported by the script, their capacity asked, and
   * claimed in the next round. A claim whose reply comes after its deadline
   * gives its jobs back at once (as if never claimed).
   */
  async claim(request: ClaimRequest): Promise<ClaimResult> {
    return claim(this.core, request);
  }

  /** No job of `name` starts before `until` (records' frame), in every process. */
  async pushBack(name: string, until: number): Promise<void> {
    this.connection('pushBack');
    checkKeyText(name, 'name');
    await this.exec(PUSH_BACK, [name, until]);
  }

  /** The claim `token` of a job of `name` did not start it: its start leaves the windows, in every process (see Store.refundStart). */
  async refundStart(name: string, token: string): Promise<void> {
    this.connection('refundStart');
    checkKeyText(name, 'name');
    await this.exec(REFUND_START, [name, token]);
  }

  async settle(id: string, token: string, next: JobRecord): Promise<boolean> {
    this.connection('settle');
    const lease = this.leases.held.get(id);
    const claimed = lease?.token === token ? lease.claimed : undefined;
    // The payload an attempt was claimed with needs no second JSON.stringify, nor a second trip to Redis.
    const fields = encodeFields(next, this.maxPayloadBytes, claimed && next.payload === claimed.payload ? claimed.fields.pl : undefined);
    const removal = removalArg(next);
    const item: SettleItem = claimed
      ? { id, token, seq: lease?.seq ?? next.seq, retry: this.uncertain.has(token), mode: 'D', values: changedFields(fields, claimed.fields), removal }
      : { id, token, seq: next.seq, retry: this.uncertain.has(token), mode: 'F', values: fields, removal };
    this.leases.settling(id, token);
    let ok: boolean;
    try {
      ok = await this.settles.add(item, fieldsSize(item.values));
    } catch (error) {
      this.uncertain.add(token);
      if (this.uncertain.size > RECENTLY_LOST) this.uncertain.delete(this.uncertain.values().next().value as string);
      throw error;
    }
    this.uncertain.delete(token);
    this.leases.release(id, token);
    return ok;
  }

  /** A running attempt's progress and logs, in the job's `x` field while it owns the job (progress.ts). */
  async progress(id: string, token: string, next: JobRecord): Promise<boolean> {
    const lease = this.leases.held.get(id);
    // Only `x` is sent: the payload text is not needed, so the one claimed (or none) stands in.
    const x = encodeFields(next, this.maxPayloadBytes, lease?.token === token ? (lease.claimed?.fields.pl ?? '') : '')[2] as string;
    const reply = await this.exec(PROGRESS, [id, token, x]);
    if (reply[0] === 'BROKEN') {
      throw new StorePersistError(`Expected key ${JSON.stringify(this.keys.job(id))} to hold a hash for \`progress\`, got a ${String(reply[1])} (written by another program?); nothing was changed`);
    }
    return reply[0] === 'OK';
  }

  /** Earliest runAt in the due index (or "now" while another process's ready jobs wait); see ServerView. */
  nextDueAt(): number | undefined {
    return this.view.nextDueAt();
  }

  counts(): StoreCounts {
    return this.view.counts();
  }

  /**
   * The Redis server's clock, epoch ms: an instant it has surely reached,
   * estimated from the server time in every reply and carried forward on
   * this process's monotonic clock, so a wrong or jumping local clock does
   * not change it. A scheduler takes every job time from it (Store.now).
   */
  now(): number {
    return this.view.time.now();
  }
}
