/**
 * PostgresStore's claims: the claim loop (rounds of `<schema>.claim` until
 * the request is filled, capacity asked for names seen for the first time,
 * jobs claimed ahead handed out first), the claim a batch of outcomes makes
 * ahead for the slots it frees (ahead.ts), and giving claimed jobs back
 * unstarted. The store's state they use comes in through ClaimHost.
 */
import type { ClaimRequest, ClaimResult, JobRecord } from '../store.js';
import type { Leases } from '../redis/leases.js';
import type { ServerView } from '../redis/view.js';
import type { AheadBuffer, AheadEntry } from './ahead.js';
import { decodeRow, type JobRow } from './codec.js';
import type { Queryable } from './connection.js';
import type { Control, PauseReply } from './control.js';
import type { ResolvedOptions } from './options.js';

/** Due jobs read per claim (bounds one statement's work). */
export const PROMOTE_MAX = 1000;
export const TOKENS_PER_CLAIM = 256;
const MAX_CLAIM_ROUNDS = 64;
const MAX_KNOWN_NAMES = 200;
/** Due jobs another transaction holds locked: look again after this long (or at the next wake). */
const LOCKED_BACKOFF_MS = 50;
/** After a claim round trip failed with jobs already in hand: when to look for the rest (the scheduler waits as long after a failed claim). */
const CLAIM_RETRY_MS = 1000;

/** The options of PostgresStore's one way to call a function: in the caller's transaction (`db`); what to do with a reply that came too late. */
export interface CallOptions<R> {
  db?: Queryable | undefined;
  late?: (reply: R) => void;
}

/** What claiming may change in its store besides the caches. */
export interface ClaimState {
  /** Due jobs were left locked by another transaction at this claim bound: nextDueAt waits a little. */
  lockedUntil: number | undefined;
  /** The last claim's capacity and tokens, when it asked for claiming ahead (ClaimRequest.ahead). */
  aheadRequest: Pick<ClaimRequest, 'capacity' | 'token'> | undefined;
}

/** What claiming needs from its PostgresStore. */
export interface ClaimHost {
  readonly options: ResolvedOptions;
  readonly view: ServerView;
  readonly leases: Leases;
  readonly control: Control;
  readonly ahead: AheadBuffer;
  /** Names this store has seen: their capacity is asked on every claim (while there are few). */
  readonly knownNames: Set<string>;
  readonly state: ClaimState;
  /** Whether the store is open (not opening or closing). */
  isOpen(): boolean;
  /** Calls SQL function `fn` (PostgresStore.call). */
  call<R>(fn: string, params: unknown[], options?: CallOptions<R>): Promise<R>;
  /** Whether the store has its connections (open, or still closing). */
  connected(): boolean;
}

/** The reply of `<schema>.claim`: the jobs, due rows read, the pause, and what groups and rate limits held back. */
interface ClaimReply {
  jobs: JobRow[];
  due: number;
  pause?: PauseReply;
  /** Names a group's head could not start for want of capacity. */
  w?: string[] | null;
  /** Names of group heads the claim had no capacity for: asked, then claimed in the next round. */
  u?: string[] | null;
  /** Names over their rate limit (or pushed back). */
  l?: string[] | null;
  retry?: number | null;
  busy?: boolean;
}

/** The rate-limit parameters of a claim: the limits of `names` that have one (NULL when none), and the store-wide one. */
function rateParams(request: ClaimRequest, names: readonly string[]): unknown[] {
  const limitNames: string[] = [];
  const max: number[] = [];
  const dur: number[] = [];
  if (request.rateLimit) {
    for (const name of names) {
      const limit = request.rateLimit(name);
      if (limit === undefined) continue;
      limitNames.push(name);
      max.push(Math.min(limit.max, 0x7fffffff));
      dur.push(limit.durationMs);
    }
  }
  const g = request.globalRateLimit;
  return [limitNames.length > 0 ? limitNames : null, limitNames.length > 0 ? max : null, limitNames.length > 0 ? dur : null, g ? Math.min(g.max, 0x7fffffff) : null, g ? g.durationMs : null];
}

/**
 * Claims what is due at `request.now` (the database's clock when the
 * scheduler takes its times from `now()`); leases run on the database's
 * clock. Names this store has not seen are found in the ready jobs, their
 * capacity asked, and claimed in the next round. A claim whose reply comes
 * after its deadline gives its jobs back at once (as if never claimed).
 */
export async function claim(host: ClaimHost, request: ClaimRequest): Promise<ClaimResult> {
  // Jobs claimed ahead (with a batch of outcomes) would start outside the rate windows: no claiming ahead under a rate limit.
  const rated = request.rateLimit !== undefined || request.globalRateLimit !== undefined;
  host.state.aheadRequest = request.ahead === true && !rated ? { capacity: request.capacity, token: request.token } : undefined;
  const jobs: JobRecord[] = [];
  const caps = new Map<string, number>();
  const taken = new Map<string, number>();
  if (host.ahead.size > 0) {
    if (host.ahead.stale) await returnAhead(host);
    else jobs.push(...host.ahead.take(request, taken));
    // The held jobs fill the request, or nothing else it could take was due when they were claimed: no round trip.
    const due = host.view.dueMin;
    const more = (due !== undefined && due <= request.now) || host.view.readyNames.some((name) => request.capacity(name) - (taken.get(name) ?? 0) > 0);
    if (jobs.length > 0 && (jobs.length >= request.limit || !more)) {
      host.view.lastClaimNow = request.now;
      host.state.lockedUntil = undefined;
      const waiting = host.view.readyNames.filter((name) => request.capacity(name) - (taken.get(name) ?? 0) <= 0);
      host.view.blocked = new Set(host.view.readyNames);
      return { jobs, waiting };
    }
  }
  for (const name of host.view.readyNames) host.knownNames.add(name);
  for (const name of host.knownNames.size <= MAX_KNOWN_NAMES ? host.knownNames : host.view.readyNames) caps.set(name, request.capacity(name));
  host.view.lastClaimNow = request.now;
  host.state.lockedUntil = undefined;
  let dueRead = PROMOTE_MAX;
  const waitingHere = new Set<string>();
  const limited = new Set<string>();
  let retryAt: number | undefined;
  let busy = false;
  for (let round = 0; round < MAX_CLAIM_ROUNDS && jobs.length < request.limit; round++) {
    const k = Math.min(request.limit - jobs.length, TOKENS_PER_CLAIM);
    const tokens: string[] = [];
    for (let i = 0; i < k; i++) tokens.push(request.token());
    const names: string[] = [];
    const free: number[] = [];
    for (const [name, cap] of caps) {
      names.push(name);
      free.push(Math.min(0x7fffffff, Math.max(0, cap - (taken.get(name) ?? 0))));
    }
    const sentAt = host.leases.now();
    let reply: ClaimReply;
    try {
      reply = await host.call<ClaimReply>('claim', [request.now, tokens, names, free, host.options.leaseMs, PROMOTE_MAX, ...rateParams(request, names)], {
        late: (late) => giveBack(host, late.jobs),
      });
    } catch (error) {
      if (jobs.length === 0) throw error;
      // The jobs already taken run under leases this process renews: hand
      // them out, or nobody would start them. The rest waits for a claim
      // after the usual pause (the scheduler's after a failed claim).
      host.state.lockedUntil = request.now + CLAIM_RETRY_MS;
      return { jobs, waiting: [] };
    }
    dueRead = reply.due;
    for (const name of reply.w ?? []) waitingHere.add(name);
    for (const name of reply.l ?? []) limited.add(name);
    if (reply.retry != null) retryAt = Math.min(retryAt ?? Infinity, reply.retry);
    if (reply.busy === true) busy = true;
    host.control.learn(reply.pause);
    for (const row of reply.jobs) {
      const record = decodeRow(row);
      if (record.token === undefined) continue;
      jobs.push(record);
      host.leases.add(record.id, record.token, record.seq, sentAt, { fields: {}, payload: record.payload });
      taken.set(record.name, (taken.get(record.name) ?? 0) + 1);
    }
    // Paused everywhere (a notice this process missed, or one on its way): the claim took nothing; ask no more.
    if (host.control.pause.paused) break;
    const unknown = [...new Set([...host.view.readyNames, ...(reply.u ?? [])])].filter((name) => !caps.has(name));
    for (const name of unknown) {
      caps.set(name, request.capacity(name));
      host.knownNames.add(name);
    }
    if (unknown.length === 0 && reply.jobs.length < k) break;
  }
  const waiting = host.view.readyNames.filter((name) => (caps.get(name) ?? 0) - (taken.get(name) ?? 0) <= 0);
  for (const name of waitingHere) if (!waiting.includes(name)) waiting.push(name);
  const full = jobs.length >= request.limit;
  // Ready names with no capacity here matter again when capacity frees up
  // (the scheduler claims then). A ready name this claim had room for but
  // did not take was held by another transaction (a claim in flight, an
  // application's transaction on the job) or became ready after the claim
  // read it: look again shortly, as for locked due jobs, since no signal
  // may come when that transaction ends.
  // Names over a rate wait for retryAt (the scheduler's timer), not for a nearby look.
  host.view.blocked = new Set(full ? host.view.readyNames : [...waiting, ...limited]);
  const skipped = !full && host.view.readyNames.some((name) => !host.view.blocked.has(name));
  // Due jobs left behind although this claim read fewer than a page: another transaction holds them locked.
  const due = host.view.dueMin;
  if (skipped || (!full && dueRead < PROMOTE_MAX && due !== undefined && due <= request.now)) host.state.lockedUntil = request.now + LOCKED_BACKOFF_MS;
  // A group another claim held was skipped: that claim may not take its job (no capacity there), so look again shortly.
  if (busy && !full) host.view.dueAt(request.now + LOCKED_BACKOFF_MS);
  return retryAt === undefined ? { jobs, waiting } : { jobs, waiting, retryAt };
}

/**
 * Tokens, names and capacities of a claim for the slots the outcomes in
 * `items` free (the last claim asked for claiming ahead), or undefined.
 */
export function aheadClaim(host: ClaimHost, items: readonly { name: string }[]): { tokens: string[]; names: string[]; caps: number[] } | undefined {
  const request = host.state.aheadRequest;
  if (!request || !host.isOpen() || host.control.pause.paused) return undefined;
  const k = Math.min(TOKENS_PER_CLAIM, items.length - host.ahead.size);
  if (k <= 0) return undefined;
  // A settling attempt still holds its slot in the scheduler's count; jobs already held here will take one.
  const freed = new Map<string, number>();
  for (const item of items) freed.set(item.name, (freed.get(item.name) ?? 0) + 1);
  const held = host.ahead.countByName();
  const names: string[] = [];
  const caps: number[] = [];
  const candidates = new Set([...freed.keys(), ...host.view.readyNames, ...(host.knownNames.size <= MAX_KNOWN_NAMES ? host.knownNames : [])]);
  for (const name of candidates) {
    const cap = Math.max(0, request.capacity(name)) + (freed.get(name) ?? 0) - (held.get(name) ?? 0);
    if (cap <= 0) continue;
    names.push(name);
    caps.push(Math.min(0x7fffffff, cap));
  }
  if (names.length === 0) return undefined;
  const tokens: string[] = [];
  for (let i = 0; i < k; i++) tokens.push(request.token());
  return { tokens, names, caps };
}

/** A claim reply that came after its deadline: nobody runs those jobs, give them back unstarted. */
export function giveBack(host: ClaimHost, rows: JobRow[] | undefined): void {
  const ids: string[] = [];
  const tokens: string[] = [];
  for (const row of rows ?? []) {
    if (row.token == null) continue;
    ids.push(row.id);
    tokens.push(row.token);
  }
  if (ids.length > 0 && host.isOpen()) void host.call('release', ['unstarted', ids, tokens]).catch(() => undefined);
}

/** Gives back jobs claimed ahead (all held, or `entries`), unstarted and uncharged. */
export async function returnAhead(host: ClaimHost, entries: AheadEntry[] = host.ahead.drain()): Promise<void> {
  if (entries.length === 0) return;
  const ids: string[] = [];
  const tokens: string[] = [];
  for (const { record } of entries) {
    ids.push(record.id);
    tokens.push(record.token as string);
    host.leases.release(record.id, record.token);
  }
  if (host.connected()) await host.call('release', ['unstarted', ids, tokens]).catch(() => undefined);
}

/** A change to jobs `ids` by this process: jobs claimed ahead that it touches go back first; others may be outranked. */
export async function beforeWrite(host: ClaimHost, ids: readonly string[]): Promise<void> {
  if (host.ahead.size === 0) return;
  if (ids.some((id) => host.ahead.holds(id))) await returnAhead(host);
  else host.ahead.stale = true;
}
