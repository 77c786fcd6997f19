/**
 * What simulated processes do: handlers whose behaviour comes from the seed
 * (succeed, throw, give up, hang, call back into the scheduler), and the
 * scheduler calls of a step, each recorded in the model with its outcome.
 * Shared by the local simulation (run.ts) and the RedisStore one.
 */
import { GodelayqError, JobTimeoutError, SchedulerStoppedError, StorePersistError, UnrecoverableError, ValidationError } from '../../src/errors.js';
import type { Scheduler } from '../../src/scheduler.js';
import type { JobContext, JobInfo } from '../../src/types.js';
import { iso, type InsertRec, type Model, type OpRec } from './model.js';
import { behavior, groupOf, WINDOW_JOB, type JobOpts, type Op } from './plan.js';
import type { Jobs } from './world.js';

/** The simulation around a process. */
export interface ActionContext {
  readonly model: Model;
  readonly seed: number;
  /** Handlers behave well in the final drain. */
  readonly final: boolean;
  now(): number;
  /** Something happened (quiescence detection). */
  bump(): void;
  log?: ((line: string) => void) | undefined;
  /** Multiplies handlers' delays and their callbacks' times (real-time simulations). @default 1 */
  readonly timeScale?: number;
  /** Whether handlers of `name` may push their name back (its handler has a rate limit). */
  mayPushBack?(name: string): boolean;
}

/** A simulated process, as its handlers and calls see it. */
export interface Actor {
  readonly pid: number;
  readonly alive: boolean;
  readonly scheduler: Scheduler<Jobs>;
  track<T>(promise: Promise<T>): Promise<T>;
  /** Resolves after `ms` on the process's clock (never, once it died). */
  sleep(ms: number): Promise<void>;
}

export function handle(cx: ActionContext, proc: Actor, ctx: JobContext<unknown, string>): unknown {
  if (!proc.alive) return new Promise(() => undefined);
  cx.bump();
  const now = cx.now();
  const a = cx.model.onStart(proc.pid, ctx as JobContext<unknown, string> & { payload: unknown }, now);
  cx.model.coverage.hit('handler.start');
  cx.log?.(`pid ${proc.pid} starts ${ctx.id} v${a.v} attempt ${ctx.attempt} slot ${iso(a.slot)}`);
  const b = cx.final ? { kind: 'ok' as const, ms: 0 } : behavior(cx.seed, a.v, a.slot, ctx.attempt, ctx.id, cx.timeScale, cx.model.pushesOf(a.v, a.slot, ctx.attempt), cx.mayPushBack?.(ctx.name) === true);
  cx.log?.(`  behaviour ${JSON.stringify(b)}`);
  cx.model.coverage.hit(`handler.${b.kind}`);
  ctx.signal.addEventListener(
    'abort',
    () => {
      const reason: unknown = ctx.signal.reason;
      const why = reason instanceof JobTimeoutError ? 'timeout' : reason instanceof SchedulerStoppedError ? 'stop' : 'other';
      cx.model.coverage.hit(`handler.aborted.${why}`);
      cx.log?.(`pid ${proc.pid}: ${ctx.id} attempt ${ctx.attempt} aborted (${why})`);
      if (proc.alive) cx.model.onAbort(a, why, cx.now());
    },
    { once: true },
  );
  if (b.kind === 'syncThrow') {
    cx.model.onEnd(a, 'fail', now);
    throw new Error('sync failure');
  }
  return (async () => {
    await proc.sleep(b.ms);
    if (!proc.alive) return new Promise(() => undefined);
    cx.bump();
    if (b.call) await execOp(cx, proc, b.call).catch(() => undefined);
    if (!proc.alive) return new Promise(() => undefined);
    const at = cx.now();
    switch (b.kind) {
      case 'ok':
      case 'callback':
        cx.model.onEnd(a, 'ok', at);
        return { v: a.v, attempt: ctx.attempt };
      case 'nonJson':
        cx.model.onEnd(a, 'ok', at);
        return () => a.v;
      case 'throw':
        cx.model.onEnd(a, 'fail', at);
        throw new Error(`failure of v${a.v} attempt ${ctx.attempt}`);
      case 'unrecoverable':
        cx.model.onEnd(a, 'unrecoverable', at);
        throw new UnrecoverableError('gives up');
      case 'rateLimit':
        cx.model.onEnd(a, 'rateLimited', at, b.pushMs);
        return ctx.rateLimit(b.pushMs ?? 1);
      case 'hang':
        return new Promise((_resolve, reject) => {
          if (ctx.signal.aborted) reject(ctx.signal.reason);
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
        });
      default:
        return new Promise(() => undefined);
    }
  })();
}

/** Issues one scheduler call and records it in the model. Never rejects. */
export function execOp(cx: ActionContext, proc: Actor, planned: Op): Promise<unknown> {
  const s = proc.scheduler;
  const m = cx.model;
  const now = cx.now();
  const op = 'id' in planned && planned.id === WINDOW_JOB ? { ...planned, id: m.windowJob(planned.op) } : planned;
  m.coverage.hit(`op.${op.op}`);
  const watch = <T>(rec: OpRec, call: () => Promise<T>, onAck: (value: T) => void): Promise<unknown> => {
    let promise: Promise<T>;
    try {
      promise = call();
    } catch (error) {
      promise = Promise.reject(error);
    }
    return proc.track(promise).then(
      (value) => {
        if (!proc.alive) return;
        cx.bump();
        m.settle(rec, 'acked');
        m.coverage.hit(`op.${op.op}.ok`);
        onAck(value);
      },
      (error: unknown) => {
        if (!proc.alive) return;
        cx.bump();
        // outcomeUnknown: the change may have reached the files (a write that failed after landing,
        // then fail-stop), so what the call set stays possible (seed 212004434: a reschedule's earlier
        // time was undone as if refused, and the job that ran at it looked early).
        const unknown = error instanceof StorePersistError && error.outcomeUnknown === true;
        m.settle(rec, unknown ? 'unknown' : 'rejected', (error as Error)?.name);
        if (unknown) m.coverage.hit('op.outcomeUnknown');
        m.coverage.hit(`op.${op.op}.rejected.${(error as Error)?.name ?? 'unknown'}`);
        if (op.op === 'invalid') {
          m.coverage.check('rejected');
          if (!(error instanceof ValidationError)) m.fail('rejected', `invalid call (${op.what}) rejected with ${(error as Error)?.name}, expected ValidationError`);
        } else if (!(error instanceof GodelayqError)) {
          m.fail('rejected', `${op.op} rejected with an untyped error: ${String(error)}`);
        }
      },
    );
  };
  const insert = (kind: InsertRec['kind'], name: string, opts: JobOpts | undefined, extra: Partial<InsertRec>, many?: OpRec): { v: number; ins: InsertRec; rec: OpRec } => {
    const v = m.newV();
    const rec = many ?? m.beginOp('insert', opts?.id, proc.pid, { vs: [v] });
    const ins: InsertRec = {
      v,
      op: rec,
      id: opts?.id,
      name,
      kind,
      // A dedupe call may leave the window's job as it is ('keep', for the scheduleMany all-or-none check).
      mode: opts?.dedupe ? 'keep' : opts?.onDuplicate,
      ...(opts?.dedupe ? { dedupe: { key: opts.dedupe.key, mode: opts.dedupe.mode ?? 'throttle', ttlMs: opts.dedupe.ttlMs } } : {}),
      ...(opts?.retry ? { retry: opts.retry } : {}),
      ...(opts?.timeout ? { timeout: opts.timeout } : {}),
      ...(opts?.group ? { group: groupOf(opts.group) } : {}),
      ...extra,
    };
    m.addInsert(ins);
    m.dedupeCall(ins, now);
    return { v, ins, rec };
  };
  const acked = (ins: InsertRec, info: JobInfo): void => {
    m.dedupeAcked(ins, info.id, info.name, (info.payload as { v: number }).v, info.dedupe);
    m.insertAcked(ins, info.id, (info.payload as { v: number }).v);
  };
  switch (op.op) {
    case 'in': {
      const { v, ins, rec } = insert('in', op.name, op.opts, { due: { wall: now + op.delay, elapsed: true, why: `scheduleIn(${op.delay}) at ${iso(now)}` } });
      return watch(rec, () => s.scheduleIn(op.name, op.delay, { v }, op.opts), (info) => acked(ins, info));
    }
    case 'at': {
      const at = now + op.offset;
      const { v, ins, rec } = insert('at', op.name, op.opts, { due: { wall: at, elapsed: false, why: `scheduleAt(${iso(at)})` } });
      return watch(rec, () => s.scheduleAt(op.name, at, { v }, op.opts), (info) => acked(ins, info));
    }
    case 'cron': {
      const { v, ins, rec } = insert('cron', op.name, op.opts, { expr: op.expr, ...(op.tz ? { tz: op.tz } : {}), misfire: op.misfire ?? 'once', created: now });
      const opts = { ...op.opts, ...(op.tz ? { tz: op.tz } : {}), ...(op.misfire ? { misfire: op.misfire } : {}), ...(op.limit ? { limit: op.limit } : {}) };
      return watch(rec, () => s.scheduleCron(op.name, op.expr, { v }, opts), (info) => acked(ins, info));
    }
    case 'every': {
      const { v, ins, rec } = insert('every', op.name, op.opts, { interval: op.interval, anchor: now + op.interval, misfire: op.misfire ?? 'once', created: now });
      const opts = { ...op.opts, ...(op.misfire ? { misfire: op.misfire } : {}), ...(op.limit ? { limit: op.limit } : {}) };
      return watch(rec, () => s.scheduleEvery(op.name, op.interval, { v }, opts), (info) => acked(ins, info));
    }
    case 'many': {
      const rec = m.beginOp('many', undefined, proc.pid, { vs: [] });
      const made = op.items.map((item) => {
        const due =
          item.delay !== undefined
            ? { wall: now + item.delay, elapsed: true, why: `scheduleMany delay ${item.delay} at ${iso(now)}` }
            : { wall: now + (item.offset ?? 0), elapsed: false, why: `scheduleMany at ${iso(now + (item.offset ?? 0))}` };
        const made = insert(item.delay !== undefined ? 'in' : 'at', item.name, item.opts, { due }, rec);
        rec.vs?.push(made.v);
        return { item, ...made };
      });
      for (const { ins } of made) if (ins.id !== undefined) m.linkOp(ins.id, rec);
      const items = made.map(({ item, v }) => ({
        name: item.name,
        payload: { v },
        ...(item.delay !== undefined ? { delay: item.delay } : { at: now + (item.offset ?? 0) }),
        ...(item.opts ? { options: item.opts } : {}),
      }));
      return watch(rec, () => s.scheduleMany(items as never), (infos) => {
        infos.forEach((info, i) => acked((made[i] as { ins: InsertRec }).ins, info as JobInfo));
      });
    }
    case 'cancel': {
      const rec = m.beginOp('cancel', op.id, proc.pid);
      return watch(rec, () => s.cancel(op.id), (cancelled) => {
        if (cancelled) m.cancelAcked(rec);
      });
    }
    case 'reschedule': {
      const when = now + op.offset;
      const rec = m.beginOp('reschedule', op.id, proc.pid, { when });
      for (const v of [...m.possibleVs(op.id, rec.seq), ...m.debouncesOn(op.id, rec.seq)]) m.reschedulePending(v, when, rec);
      return watch(rec, () => s.reschedule(op.id, when), (info) => m.rescheduleAcked(rec, (info.payload as { v: number }).v, when));
    }
    case 'retry': {
      const at = now + (op.offset ?? 0);
      const rec = m.beginOp('retry', op.id, proc.pid, { when: at });
      for (const v of [...m.possibleVs(op.id, rec.seq), ...m.debouncesOn(op.id, rec.seq)]) m.revivePending(v, at, rec);
      return watch(rec, () => s.retry(op.id, op.offset === undefined ? {} : { at }), (info) => m.reviveAcked((info.payload as { v: number }).v, at, rec));
    }
    case 'get': {
      const rec = m.beginOp('get', undefined, proc.pid);
      return watch(rec, () => s.get(op.id), () => undefined);
    }
    case 'list': {
      const rec = m.beginOp('list', undefined, proc.pid);
      return watch(rec, () => s.list({}), () => undefined);
    }
    case 'invalid': {
      const v = m.newV();
      const rec = m.beginOp('invalid', undefined, proc.pid, { vs: [v] });
      m.addInsert({ v, op: rec, id: undefined, name: 'a', kind: 'in', mode: undefined, due: { wall: now, elapsed: false, why: 'invalid' } });
      const call = (): Promise<unknown> => {
        switch (op.what) {
          case 'delay':
            return s.scheduleIn('a', -5, { v });
          case 'cron':
            return s.scheduleCron('a', '61 * * * *', { v });
          case 'payload':
            return s.scheduleIn('a', 10, { v, bad: () => 1 } as never);
          case 'tz':
            return s.scheduleCron('a', '0 * * * *', { v }, { tz: 'Mars/Olympus' });
          case 'at':
            return s.scheduleAt('a', new Date(Number.NaN), { v });
          case 'retry':
            return s.scheduleIn('a', 10, { v }, { retry: { maxRetries: -1, backoff: { type: 'fixed', delay: 1 } } });
        }
      };
      return watch(rec, call, () => m.fail('rejected', `invalid call (${op.what}) was accepted`));
    }
  }
}
