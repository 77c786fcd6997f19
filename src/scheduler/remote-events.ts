/**
 * Events from other processes (`new Scheduler({ store, remoteEvents: true })`):
 * how a `completed`, `failed`, `dead` or `progress` event travels between
 * schedulers that share a store (RedisStore: `publishEvent` and
 * StoreContext.remoteEvent) and how it is rebuilt on the other side.
 *
 * HOW
 * - The process that ran the attempt publishes the event right after it
 *   emitted it locally (so after the store recorded the outcome), but only
 *   while some process listens (`Store.eventListeners`): nobody pays for
 *   events nobody asked for.
 * - A message names the scheduler that sent it; a scheduler drops its own,
 *   so no event is emitted twice in the process that ran the job.
 * - The receiver emits it as the same event type with `origin: 'remote'`.
 *   Dates travel as epoch ms, an error as its name and message (a plain
 *   Error carrying both), `completed`'s `result` as the stored result (the
 *   JSON the job keeps), not the handler's raw return value.
 *
 * Delivery is at most once (Redis pub/sub): a listener that is disconnected
 * when an event is published, or a publisher that dies between recording the
 * outcome and publishing, loses that event. Use `get()`/`waitFor()` for
 * what must not be missed.
 */
import type { JobInfo, JsonValue } from '../types.js';

/** The event types that travel between processes. */
export const REMOTE_TYPES: ReadonlySet<string> = new Set(['completed', 'failed', 'dead', 'progress']);

/** Wire version of a message: a receiver ignores versions it does not know. */
const WIRE = 1;

/** A JobInfo with its dates as epoch ms (null: no next run). */
type WireJob = Omit<JobInfo, 'runAt' | 'createdAt' | 'cron' | 'every'> & {
  runAt: number;
  createdAt: number;
  cron?: { expression: string; tz?: string; nextRunAt: number | null };
  every?: { interval: number; nextRunAt: number | null };
};

interface WireEvent {
  v: number;
  /** The scheduler that published it. */
  from: string;
  type: string;
  job: WireJob;
  error?: { name: string; message: string };
  willRetry?: boolean;
  nextRunAt?: number;
  durationMs?: number;
  progress?: JsonValue;
}

/** An event payload as the scheduler emits it (the fields the remote types use). */
export interface LocalPayload {
  job: JobInfo;
  error?: Error;
  willRetry?: boolean;
  nextRunAt?: Date;
  durationMs?: number;
  progress?: JsonValue;
}

/** The payload a remote event is emitted with. */
export interface RemotePayload {
  job: JobInfo;
  origin: 'remote';
  name?: string;
  result?: JsonValue | undefined;
  error?: Error;
  willRetry?: boolean;
  nextRunAt?: Date;
  durationMs?: number;
  progress?: JsonValue;
}

function wireJob(job: JobInfo): WireJob {
  const { runAt, createdAt, cron, every, ...rest } = job;
  const out: WireJob = { ...rest, runAt: runAt.getTime(), createdAt: createdAt.getTime() };
  if (cron) out.cron = { ...cron, nextRunAt: cron.nextRunAt?.getTime() ?? null };
  if (every) out.every = { ...every, nextRunAt: every.nextRunAt?.getTime() ?? null };
  return out;
}

function liveJob(wire: WireJob): JobInfo {
  const { runAt, createdAt, cron, every, ...rest } = wire;
  const job: JobInfo = { ...rest, runAt: new Date(runAt), createdAt: new Date(createdAt) };
  if (cron) job.cron = { ...cron, nextRunAt: cron.nextRunAt === null ? undefined : new Date(cron.nextRunAt) };
  if (every) job.every = { ...every, nextRunAt: every.nextRunAt === null ? undefined : new Date(every.nextRunAt) };
  return job;
}

/** The message for a local event of a REMOTE_TYPES type sent by scheduler `from`. */
export function encodeRemote(from: string, type: string, payload: LocalPayload): string {
  const wire: WireEvent = { v: WIRE, from, type, job: wireJob(payload.job) };
  if (payload.error) wire.error = { name: payload.error.name, message: payload.error.message };
  if (payload.willRetry !== undefined) wire.willRetry = payload.willRetry;
  if (payload.nextRunAt) wire.nextRunAt = payload.nextRunAt.getTime();
  if (payload.durationMs !== undefined) wire.durationMs = payload.durationMs;
  if (payload.progress !== undefined) wire.progress = payload.progress;
  return JSON.stringify(wire);
}

/**
 * The event a message stands for, or undefined when it is this scheduler's
 * own (`self`), of an unknown version or type, or not a message at all.
 */
export function decodeRemote(self: string, message: string): { type: string; payload: RemotePayload } | undefined {
  let wire: WireEvent;
  try {
    wire = JSON.parse(message) as WireEvent;
  } catch {
    return undefined;
  }
  if (typeof wire !== 'object' || wire === null || wire.v !== WIRE || wire.from === self || !REMOTE_TYPES.has(wire.type)) return undefined;
  if (typeof wire.job !== 'object' || wire.job === null || typeof wire.job.id !== 'string') return undefined;
  const job = liveJob(wire.job);
  const payload: RemotePayload = { job, origin: 'remote' };
  if (wire.type === 'completed') {
    payload.name = job.name;
    payload.result = job.result;
    payload.durationMs = wire.durationMs ?? 0;
  }
  if (wire.error) {
    const error = new Error(wire.error.message);
    error.name = wire.error.name;
    payload.error = error;
  }
  if (wire.willRetry !== undefined) payload.willRetry = wire.willRetry;
  if (wire.nextRunAt !== undefined) payload.nextRunAt = new Date(wire.nextRunAt);
  if (wire.type === 'progress') payload.progress = wire.progress ?? null;
  return { type: wire.type, payload };
}
