/**
 * RedisStore: one job set shared by schedulers in many processes.
 *
 * HOW
 * - Redis holds every job (a hash per job) and the due index (a sorted set
 *   scored by runAt); no process keeps a copy of the job set. Each change is
 *   one Lua script (scripts.ts), atomic on the server.
 * - `claim` runs one script that recovers expired leases, moves the jobs due
 *   at `now` into per-name ready sets (ordered by priority, then runAt, then
 *   insertion) and takes the best ones the caller has capacity for, each
 *   under a lease (a token in the job, an expiry in `P:leases`). The lease is
 *   renewed by a timer here while the attempt runs; `settle` applies only
 *   with the attempt's token. A process that dies stops renewing; once its
 *   lease expires, a live process (its lease-watch timer, its poll, or any
 *   claim) puts the job back to scheduled, attempt kept, and it runs again
 *   elsewhere (at-least-once).
 * - Push: a script that makes some job due earlier than every other job in
 *   the due set publishes on `P:wake`; every store subscribed lowers its
 *   cached due time and wakes its scheduler. A poll (default every 2 s)
 *   refreshes the caches as a safety net, and right after a reconnect.
 * - `nextDueAt()` and `counts()` are synchronous: they answer from caches
 *   refreshed by the summary every script returns.
 *
 * TIME
 * - Leases run on the server's clock (`TIME` inside the scripts) only.
 * - Job times (runAt, claim's `now`) are in the records' frame, as for every
 *   store. `now()` (Store.now) gives the server's clock, estimated from the
 *   replies and carried on the monotonic clock (time.ts); a scheduler that
 *   takes its job times from it stamps runAt, slots and retries and claims
 *   in the server's frame, so a process whose clock is wrong neither runs a
 *   job early nor twice, and the records' frame is the server's clock.
 *
 * WHY
 * - Ready sets per name: a name nobody here can run (no handler, or busy)
 *   never hides the due jobs of other names behind it.
 * - Connections the store opens itself have ioredis's offline queue and
 *   re-sending of unanswered commands turned off: while Redis is unreachable
 *   a call rejects at once with StorePersistError instead of piling up, and
 *   a script is never sent twice behind the caller's back.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { DuplicateJobError, JobNotFoundError, StorePersistError, ValidationError, toError } from '../../errors.js';
import { checkKeys, checkOptionsObject, checkPositive, show } from '../../validate.js';
import type {
  ClaimRequest,
  ClaimResult,
  InsertRequest,
  InsertResult,
  JobRecord,
  LostReason,
  Store,
  StoreContext,
  StoreCounts,
  StoreListFilter,
} from '../store.js';
import { decodeRecord, encodeFields, type RawHash } from './codec.js';
import { CANCEL, CLAIM, INSERT, LAYOUT_VERSION, LIST, RELEASE, RENEW, RESCHEDULE, REVIVE, SETTLE, TICK, type Script } from './scripts.js';
import { ServerTime } from './time.js';

/** Options of `new RedisStore()`. */
export interface RedisStoreOptions {
  /**
   * An ioredis client to send commands on. The store does not close it, and
   * opens one more connection (`client.duplicate()`) for pub/sub. Prefer
   * `enableOfflineQueue: false` and `autoResendUnfulfilledCommands: false`
   * on it (see the README).
   */
  client?: Redis;
  /** Connection URL, when no `client` is given. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** More ioredis options for the connections the store opens from `url`. */
  redisOptions?: RedisOptions;
  /**
   * Every key is `<prefix>:…`. On Redis Cluster use a hash tag, e.g. `'{godelayq}'`,
   * so every key lives in one slot.
   * @default 'godelayq'
   */
  prefix?: string;
  /**
   * How long a claimed attempt stays leased without renewal, ms. The lease is
   * renewed every `leaseMs / 3` while the handler runs; after a crash the job
   * runs again elsewhere about `leaseMs` later.
   * @default 30000
   */
  leaseMs?: number;
  /** Safety-net refresh interval, ms (pub/sub is the prompt path). @default 2000 */
  pollMs?: number;
  /**
   * How long `settle` keeps retrying while Redis is unreachable, ms, so a
   * finished attempt is not run again just because of a short outage.
   * @default 5000
   */
  settleRetryMs?: number;
}

const OPTION_KEYS = new Set(['client', 'url', 'redisOptions', 'prefix', 'leaseMs', 'pollMs', 'settleRetryMs']);
/** Jobs moved from the due set to ready sets per claim (bounds one script's run time). */
const PROMOTE_MAX = 1000;
/** Members read per list page. */
const LIST_PAGE = 1000;
/** Tokens (so jobs) per claim script; a claim with a bigger limit runs several. */
const TOKENS_PER_CLAIM = 256;
const MAX_CLAIM_ROUNDS = 64;
/** Up to this many known job names, every claim carries all their capacities. */
const MAX_KNOWN_NAMES = 200;
/** Slack after a lease's end before the watch timer checks it. */
const LEASE_GRACE_MS = 5;
const ZERO_COUNTS: StoreCounts = { scheduled: 0, running: 0, completed: 0, dead: 0, cancelled: 0, recurring: 0, indexed: 0 };

type Reply = unknown[];
const SCRIPTS = [INSERT, CLAIM, SETTLE, CANCEL, RESCHEDULE, REVIVE, RENEW, RELEASE, TICK, LIST];

function isReplyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ReplyError';
}

function persistError(what: string, error: unknown): StorePersistError {
  if (error instanceof StorePersistError) return error;
  return new StorePersistError(`Expected Redis to run \`${what}\`, got ${toError(error).message}`, { cause: error });
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/**
 * A Store in Redis, shared by schedulers in many processes and machines.
 * @example
 * import { Scheduler } from 'godelayq';
 * import { RedisStore } from 'godelayq/redis';
 * const scheduler = new Scheduler<Jobs>({ store: new RedisStore({ url: process.env.REDIS_URL }) });
 */
export class RedisStore implements Store {
  /** Many processes share it: downtime of one process is not downtime of the schedule. */
  readonly shared = true;
  private readonly givenClient: Redis | undefined;
  private readonly url: string;
  private readonly redisOptions: RedisOptions;
  private readonly prefix: string;
  private readonly dueKey: string;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly settleRetryMs: number;
  private client: Redis | undefined;
  private sub: Redis | undefined;
  private context: StoreContext | undefined;
  private keepCompleted = 1000;
  private keepDead = 10000;
  private readonly time = new ServerTime();
  private dueMin: number | undefined;
  private leaseMin: number | undefined;
  private readyNames: string[] = [];
  private blocked = new Set<string>();
  /** Job names seen in ready sets: their capacities go with every claim. */
  private readonly knownNames = new Set<string>();
  private cachedCounts: StoreCounts = { ...ZERO_COUNTS };
  /** Leases this process holds: id → token. */
  private readonly held = new Map<string, string>();
  private pollTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private leaseWatch: NodeJS.Timeout | undefined;
  private leaseWatchAt: number | undefined;
  private lastClaimNow: number | undefined;
  private polling = false;
  /** Set by a reconnect; the next poll that gets through wakes the scheduler. */
  private reconnected = false;
  private renewing = false;
  private status: 'closed' | 'opening' | 'open' | 'closing' = 'closed';

  constructor(options: RedisStoreOptions = {}) {
    const o = checkOptionsObject(options, 'options') ?? {};
    checkKeys(o, OPTION_KEYS, 'options');
    if (options.client !== undefined && options.url !== undefined) {
      throw new ValidationError('Expected one of `options.client` or `options.url`, got both');
    }
    if (options.client !== undefined && (typeof options.client !== 'object' || options.client === null || typeof options.client.evalsha !== 'function')) {
      throw new ValidationError(`Expected \`options.client\` to be an ioredis client, got ${show(options.client)}`);
    }
    if (options.url !== undefined && typeof options.url !== 'string') {
      throw new ValidationError(`Expected \`options.url\` to be a redis:// URL string, got ${show(options.url)}`);
    }
    const prefix = options.prefix ?? 'godelayq';
    if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 200) {
      throw new ValidationError(`Expected \`options.prefix\` to be a non-empty string of at most 200 characters, got ${show(prefix)}`);
    }
    this.givenClient = options.client;
    this.url = options.url ?? 'redis://127.0.0.1:6379';
    this.redisOptions = options.redisOptions ?? {};
    this.prefix = `${prefix}:`;
    this.dueKey = `${this.prefix}due`;
    this.leaseMs = options.leaseMs === undefined ? 30_000 : checkPositive(options.leaseMs, 'options.leaseMs');
    if (this.leaseMs < 100) throw new ValidationError(`Expected \`options.leaseMs\` to be at least 100, got ${show(this.leaseMs)}`);
    this.pollMs = options.pollMs === undefined ? 2000 : checkPositive(options.pollMs, 'options.pollMs');
    this.settleRetryMs = options.settleRetryMs === undefined ? 5000 : checkPositive(options.settleRetryMs, 'options.settleRetryMs');
  }

  // ------------------------------------------------------------- lifecycle

  async open(context: StoreContext): Promise<void> {
    if (this.status !== 'closed') throw new StorePersistError(`Expected a closed RedisStore to open, got one ${this.status}`);
    this.status = 'opening';
    this.context = context;
    this.keepCompleted = context.keepCompleted;
    this.keepDead = context.keepDead;
    try {
      const client =
        this.givenClient ??
        new Redis(this.url, {
          lazyConnect: true,
          enableOfflineQueue: false,
          autoResendUnfulfilledCommands: false,
          maxRetriesPerRequest: 1,
          ...this.redisOptions,
        });
      this.client = client;
      if (!this.givenClient) client.on('error', () => undefined);
      if (client.status === 'wait') await client.connect();
      else if (client.status !== 'ready') await this.waitReady(client, 10_000);
      const sub = client.duplicate({ lazyConnect: true, enableOfflineQueue: true, autoResubscribe: true });
      this.sub = sub;
      sub.on('error', () => undefined);
      // ioredis prefixes keys with its `keyPrefix` option (so KEYS[1], from
      // which the scripts derive every key) but not channel names.
      const channelPrefix = `${client.options.keyPrefix ?? ''}${this.prefix}`;
      const wakeChannel = `${channelPrefix}wake`;
      const lostChannel = `${channelPrefix}lost`;
      sub.on('message', (channel: string, message: string) => {
        if (channel === wakeChannel) this.onWake(message);
        else if (channel === lostChannel) this.onLost(message);
      });
      // After a reconnect (of either connection) messages may have been
      // missed: refresh and wake the scheduler once a poll gets through.
      sub.on('ready', this.onReconnect);
      client.on('ready', this.onReconnect);
      await sub.connect();
      await sub.subscribe(wakeChannel, lostChannel);
      // Load every script once, so a burst of first calls does not all miss the cache.
      await Promise.all(SCRIPTS.map((script) => client.script('LOAD', script.lua)));
      const reply = await this.exec(TICK, [...this.common(), LAYOUT_VERSION]);
      if (reply[0] === 'VERSION') {
        throw new StorePersistError(`Expected the keys under '${this.prefix}' to use layout version ${LAYOUT_VERSION}, got version ${String(reply[1])} (written by another godelayq version)`);
      }
    } catch (error) {
      await this.disconnect();
      this.status = 'closed';
      throw persistError('open', error);
    }
    this.status = 'open';
    this.pollTimer = setInterval(() => void this.poll(), this.pollMs);
    this.pollTimer.unref();
    this.renewTimer = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.renewTimer.unref();
  }

  /**
   * Stops the timers, gives back the leases this process still holds (those
   * jobs become scheduled again, attempt kept, and run elsewhere at once) and
   * closes the connections the store opened.
   */
  async close(): Promise<void> {
    if (this.status !== 'open') return;
    this.status = 'closing';
    clearInterval(this.pollTimer);
    clearInterval(this.renewTimer);
    clearTimeout(this.leaseWatch);
    this.leaseWatch = undefined;
    this.leaseWatchAt = undefined;
    this.pollTimer = undefined;
    this.renewTimer = undefined;
    if (this.held.size > 0) {
      try {
        await this.exec(RELEASE, [...this.common(), ...this.heldPairs()]);
      } catch {
        // Unreachable: the leases expire and the jobs are recovered then.
      }
      this.held.clear();
    }
    await this.disconnect();
    this.status = 'closed';
  }

  private readonly onReconnect = (): void => {
    if (this.status !== 'open') return;
    this.reconnected = true;
    void this.poll();
  };

  private async disconnect(): Promise<void> {
    this.client?.off('ready', this.onReconnect);
    const sub = this.sub;
    this.sub = undefined;
    sub?.disconnect();
    const client = this.client;
    this.client = undefined;
    if (client && !this.givenClient) {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    }
  }

  private waitReady(client: Redis, ms: number): Promise<void> {
    if (client.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(() => {
        client.off('ready', done);
        reject(new Error(`connection not ready after ${ms} ms (status ${client.status})`));
      }, ms);
      client.on('ready', done);
    });
  }

  // ------------------------------------------------------------- plumbing

  private common(): (string | number)[] {
    return [this.keepCompleted, this.keepDead, this.leaseMs];
  }

  private heldPairs(): string[] {
    const out: string[] = [];
    for (const [id, token] of this.held) out.push(id, token);
    return out;
  }

  /** Runs a script (EVALSHA, loading it after a server restart); absorbs the summary it ends with. */
  private async exec(script: Script, args: readonly (string | number)[], summary = true): Promise<Reply> {
    const client = this.client;
    if (!client) throw new StorePersistError(`Expected an open RedisStore to run \`${script.name}\`, got a closed one`);
    const t0 = this.time.mono();
    let reply: unknown;
    try {
      try {
        reply = await client.evalsha(script.sha, 1, this.dueKey, ...args);
      } catch (error) {
        if (!isReplyError(error) || !String((error as Error).message).startsWith('NOSCRIPT')) throw error;
        reply = await client.eval(script.lua, 1, this.dueKey, ...args);
      }
    } catch (error) {
      throw persistError(script.name, error);
    }
    const t1 = this.time.mono();
    const out = reply as Reply;
    if (summary) this.absorb(out[out.length - 1] as Reply, t0, t1);
    return out;
  }

  private absorb(s: Reply, t0: number, t1: number): void {
    const [now, due, lease, names, scheduled, running, completed, dead, cancelled, recurring] = s as [
      string,
      string,
      string,
      string[] | '-',
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    this.time.sample(Number(now), t0, t1);
    this.dueMin = due === '' ? undefined : Number(due);
    if (lease !== '-') {
      this.leaseMin = lease === '' ? undefined : Number(lease);
      if (this.leaseMin !== undefined && (this.leaseWatchAt === undefined || this.leaseMin < this.leaseWatchAt)) this.watchLeases();
    }
    if (names !== '-') this.readyNames = names;
    this.cachedCounts = { scheduled, running, completed, dead, cancelled, recurring, indexed: scheduled };
  }

  private onWake(message: string): void {
    if (this.status !== 'open') return;
    if (message.startsWith('L')) {
      // A lease that ends before every other one: arm the lease watch for it.
      const end = Number(message.slice(1));
      if (Number.isFinite(end) && (this.leaseMin === undefined || end < this.leaseMin)) {
        this.leaseMin = end;
        if (this.leaseWatchAt === undefined || end < this.leaseWatchAt) this.watchLeases();
      }
      return;
    }
    const at = Number(message);
    if (!Number.isFinite(at)) return;
    if (this.dueMin === undefined || at < this.dueMin) {
      this.dueMin = at;
      this.context?.wake();
    }
  }

  /** A running attempt was cancelled or replaced by some process: if it is ours, stop renewing it. */
  private onLost(message: string): void {
    const nl = message.indexOf('\n');
    if (nl < 0) return;
    const token = message.slice(0, nl);
    const id = message.slice(nl + 1);
    if (this.held.get(id) !== token) return;
    this.held.delete(id);
    this.notifyLost(id, token);
  }

  /**
   * Tells the scheduler an attempt it runs no longer owns its job. Uses the
   * optional `StoreContext.lost` hook when the scheduler provides one (to
   * abort the attempt); its outcome is ignored either way (token check).
   */
  private notifyLost(id: string, token: string, reason: LostReason = 'lease'): void {
    this.context?.lost?.(id, token, reason);
  }

  /** Safety net: refresh the caches (recovering expired leases); wake the scheduler if something moved earlier. */
  private async poll(): Promise<boolean> {
    if (this.polling || this.status !== 'open') return false;
    this.polling = true;
    try {
      const force = this.reconnected;
      const before = this.nextDueAt();
      const reply = await this.exec(TICK, [...this.common(), LAYOUT_VERSION]);
      const after = this.nextDueAt();
      if (force) this.reconnected = false;
      if (force || Number(reply[1]) > 0 || (after !== undefined && (before === undefined || after < before))) this.context?.wake();
      return true;
    } catch {
      // Redis unreachable: the next poll (or the reconnect) tries again.
      return false;
    } finally {
      this.polling = false;
    }
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.held.size === 0 || this.status !== 'open') return;
    this.renewing = true;
    const sent = new Map(this.held);
    try {
      const reply = await this.exec(RENEW, [...this.common(), ...this.heldPairs()]);
      for (const [id, state] of reply[1] as [string, string][]) {
        const token = sent.get(id);
        if (token === undefined || this.held.get(id) !== token) continue;
        this.held.delete(id);
        this.notifyLost(id, token);
        // Cancelled or replaced is normal; a lapsed lease is not (the process stalled or lost Redis for a lease).
        if (state === 'running' || state === 'scheduled') {
          this.context?.warn(`Job ${id}: the lease of its running attempt lapsed and the job was recovered for another run; this attempt's outcome will be ignored`);
        }
      }
    } catch {
      // Redis unreachable: try again next round; a lease may lapse meanwhile (the job then runs again).
    } finally {
      this.renewing = false;
    }
  }

  // ------------------------------------------------------------- Store

  async insert(requests: readonly InsertRequest[]): Promise<InsertResult[]> {
    if (requests.length === 0) return [];
    const args: (string | number)[] = [...this.common(), requests.length];
    for (const { record, onDuplicate } of requests) args.push(record.id, onDuplicate, ...encodeFields(record));
    const reply = await this.exec(INSERT, args);
    if (reply[0] === 'DUP') throw new DuplicateJobError(String(reply[1]));
    const outcomes = reply[1] as [string, RawHash | number, RawHash | null][];
    return outcomes.map((o, i): InsertResult => {
      const request = requests[i] as InsertRequest;
      if (o[0] === 'kept') return { record: decodeRecord(o[1] as RawHash) as JobRecord, outcome: 'kept' };
      const { token: _token, ...rest } = request.record as JobRecord;
      const record: JobRecord = { ...rest, seq: Number(o[1]) };
      if (o[0] === 'inserted') return { record, outcome: 'inserted' };
      this.held.delete(record.id);
      const previous = o[2] ? decodeRecord(o[2]) : undefined;
      return previous ? { record, outcome: 'replaced', previous } : { record, outcome: 'replaced' };
    });
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const client = this.client;
    if (!client) throw new StorePersistError('Expected an open RedisStore to run `get`, got a closed one');
    try {
      return decodeRecord(await client.hgetall(`${this.prefix}job:${id}`), id);
    } catch (error) {
      throw persistError('get', error);
    }
  }

  /**
   * Pages through the runAt-ordered index of every job, filtering by name
   * and state on the server (a name or state that few jobs have costs a scan
   * of the whole index, 1000 entries per round trip). Not a snapshot: a job moved while the
   * pages are read may be missed or seen once more (duplicates are dropped).
   */
  async list(filter: StoreListFilter): Promise<JobRecord[]> {
    const offset = filter.offset ?? 0;
    const need = filter.limit === undefined ? Infinity : offset + filter.limit;
    if (need === 0 || (filter.states !== undefined && filter.states.length === 0)) return [];
    const states = filter.states ?? [];
    const out: JobRecord[] = [];
    const seen = new Set<string>();
    for (let start = 0; out.length < need; start += LIST_PAGE) {
      const reply = await this.exec(LIST, [start, start + LIST_PAGE - 1, filter.name ?? '', ...states], false);
      for (const raw of reply[1] as RawHash[]) {
        const record = decodeRecord(raw);
        if (!record || seen.has(record.id)) continue;
        seen.add(record.id);
        out.push(record);
      }
      if (Number(reply[0]) < LIST_PAGE) break;
    }
    return out.slice(offset, filter.limit === undefined ? undefined : offset + filter.limit);
  }

  async cancel(id: string, now: number): Promise<JobRecord | undefined> {
    const reply = await this.exec(CANCEL, [...this.common(), id, String(now)]);
    if (reply[0] !== 'OK') return undefined;
    this.held.delete(id);
    return decodeRecord(reply[1] as RawHash);
  }

  async reschedule(id: string, runAt: number): Promise<JobRecord> {
    const reply = await this.exec(RESCHEDULE, [...this.common(), id, String(runAt)]);
    return this.moved(id, reply, 'scheduled');
  }

  async revive(id: string, runAt: number): Promise<JobRecord> {
    const reply = await this.exec(REVIVE, [...this.common(), id, String(runAt)]);
    return this.moved(id, reply, 'dead or cancelled');
  }

  private moved(id: string, reply: Reply, expected: string): JobRecord {
    if (reply[0] === 'NOTFOUND') throw new JobNotFoundError(id);
    if (reply[0] === 'STATE') throw new JobNotFoundError(id, `Expected job \`${id}\` to be ${expected}, got state '${String(reply[1])}'`);
    return decodeRecord(reply[1] as RawHash) as JobRecord;
  }

  /**
   * Claims what is due at `request.now`, in the records' time frame. A
   * scheduler that takes its job times from `now()` (the server's clock)
   * passes server time here, so no process claims early whatever its own
   * clock says; leases always run on the server's clock. Names this store
   * has not seen yet are reported by the script, their capacity asked, and
   * claimed in the next round.
   */
  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const jobs: JobRecord[] = [];
    const waiting = new Set<string>();
    const caps = new Map<string, number>();
    const taken = new Map<string, number>();
    // Capacities for every name seen so far (so a name that another process
    // just moved to its ready set costs no second round), or, for apps with
    // very many names, only for the names that have ready jobs now.
    for (const name of this.readyNames) this.knownNames.add(name);
    for (const name of this.knownNames.size <= MAX_KNOWN_NAMES ? this.knownNames : this.readyNames) caps.set(name, request.capacity(name));
    const bound = String(request.now);
    this.lastClaimNow = request.now;
    for (let round = 0; round < MAX_CLAIM_ROUNDS && jobs.length < request.limit; round++) {
      const k = Math.min(request.limit - jobs.length, TOKENS_PER_CLAIM);
      const args: (string | number)[] = [...this.common(), bound, PROMOTE_MAX, k];
      for (let i = 0; i < k; i++) args.push(request.token());
      for (const [name, cap] of caps) args.push(name, Math.max(0, cap - (taken.get(name) ?? 0)));
      const reply = await this.exec(CLAIM, args);
      const claimed = reply[1] as RawHash[];
      for (const raw of claimed) {
        const record = decodeRecord(raw);
        if (!record || record.token === undefined) continue;
        jobs.push(record);
        this.held.set(record.id, record.token);
        taken.set(record.name, (taken.get(record.name) ?? 0) + 1);
      }
      for (const name of reply[2] as string[]) waiting.add(name);
      const unknown = reply[3] as string[];
      for (const name of unknown) {
        caps.set(name, request.capacity(name));
        this.knownNames.add(name);
      }
      // Another round only for names just seen, or when the tokens ran out.
      if (unknown.length === 0 && claimed.length < k) break;
    }
    // Whatever is still ready could not be taken now (no capacity here, per
    // name or in total); it matters again only when capacity frees up, and
    // the scheduler claims then. Until that, it must not make nextDueAt "now".
    this.blocked = new Set(this.readyNames);
    return { jobs, waiting: [...waiting] };
  }

  async settle(id: string, token: string, next: JobRecord): Promise<boolean> {
    const args = [...this.common(), id, token, ...encodeFields(next)];
    const deadline = Date.now() + this.settleRetryMs;
    try {
      for (;;) {
        try {
          const reply = await this.exec(SETTLE, args);
          return reply[0] === 'OK';
        } catch (error) {
          // Only a lost connection is worth waiting for; the token check makes a retry safe.
          const cause = error instanceof StorePersistError ? error.cause : error;
          if (isReplyError(cause) || this.status !== 'open' || Date.now() >= deadline) throw error;
          await sleep(100);
        }
      }
    } finally {
      if (this.held.get(id) === token) this.held.delete(id);
    }
  }

  /**
   * Earliest runAt in the due index (records' frame), or the time of the
   * last claim when a ready job of a name not tried here since waits (another
   * process moved it from the due index to its ready set).
   */
  nextDueAt(): number | undefined {
    let at = this.dueMin;
    if (this.readyNames.some((n) => !this.blocked.has(n))) {
      const now = this.lastClaimNow ?? this.time.now();
      if (at === undefined || now < at) at = now;
    }
    return at;
  }

  counts(): StoreCounts {
    return { ...this.cachedCounts };
  }

  /**
   * The Redis server's clock, epoch ms: an instant it has surely reached,
   * estimated from the server time in every reply and carried forward on
   * this process's monotonic clock, so a wrong or jumping local clock does
   * not change it. A scheduler takes every job time from it (Store.now).
   */
  now(): number {
    return this.time.now();
  }

  /** Arms the one timer that recovers expired leases (of dead processes) when the earliest one ends. */
  private watchLeases(minWait = 0): void {
    if (this.status !== 'open' && this.status !== 'opening') return;
    const at = this.leaseMin;
    clearTimeout(this.leaseWatch);
    this.leaseWatch = undefined;
    this.leaseWatchAt = at;
    if (at === undefined) return;
    const wait = Math.min(Math.max(minWait, Math.ceil(this.time.until(at)) + LEASE_GRACE_MS), 2 ** 31 - 1);
    this.leaseWatch = setTimeout(() => {
      this.leaseWatch = undefined;
      this.leaseWatchAt = undefined;
      // After a failed or skipped poll, wait a little: the lease may look expired only because Redis is away.
      void this.poll().then((ok) => this.watchLeases(ok ? 0 : 250));
    }, wait);
    this.leaseWatch.unref();
  }
}
