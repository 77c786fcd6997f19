/**
 * A Scheduler's lifecycle: idle → starting → started → stopping → idle.
 * `start()` opens the store and starts dispatching; `stop()` stops
 * dispatching, hands back what runs, and closes the store within its
 * timeout; `stopOnSignals()` wires stop to SIGTERM/SIGINT. Every other call
 * asks `assertStarted()` first.
 */
import { constants as osConstants } from 'node:os';
import type { Clock } from '../clock.js';
import { GodelayqError, SchedulerStoppedError, ValidationError, toError } from '../errors.js';
import type { Store } from '../store/store.js';
import { checkDelay, checkKeys, checkOptionsObject, show } from '../validate.js';
import { withDeadline } from './calls.js';
import type { Dispatcher } from './dispatcher.js';
import { SIGNAL_KEYS, STOP_KEYS, type SignalOptions, type StopOptions } from './options.js';
import { NO_OPTIONS } from './requests.js';

/** What the lifecycle needs from its Scheduler. */
export interface LifecycleHost {
  readonly store: Store;
  /** Job times (its pending probe tells a VirtualClock that work is due). */
  readonly times: Clock;
  readonly dispatcher: Dispatcher;
  /** Opens the store with the scheduler's context and takes up a store-wide pause already in force. */
  open(): Promise<void>;
  /** The store is closed (or left closing): end the event streams and `waitFor` calls. */
  stopped(): void;
  /** Emits the error `make` builds as an `error` event. */
  error(make: () => Error): void;
}

/** Starts and stops one Scheduler; `start()` and `stop()` are idempotent. */
export class Lifecycle {
  private status: 'idle' | 'starting' | 'started' | 'stopping' = 'idle';
  /** Once stopped, say so (not "not started") when called. */
  private stoppedOnce = false;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /** A store close that outlived its stop() deadline; the next start waits for it. */
  private closing: Promise<unknown> | undefined;
  private removeProbe: (() => void) | undefined;

  constructor(private readonly host: LifecycleHost) {}

  /** Opens the store, recovers jobs, starts dispatching. */
  start(): Promise<void> {
    if (this.status === 'started') return Promise.resolve();
    if (this.starting) return this.starting;
    if (this.status === 'stopping') return Promise.reject(new SchedulerStoppedError('Expected a stopped scheduler to start, got one still stopping'));
    this.status = 'starting';
    this.starting = (async () => {
      try {
        if (this.closing) await this.closing;
        await this.host.open();
      } catch (error) {
        this.status = 'idle';
        throw error;
      }
      this.status = 'started';
      this.removeProbe = this.host.times.addPendingProbe?.(() => this.host.dispatcher.hasPendingOneOff());
      this.host.dispatcher.start();
    })().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Stops dispatching, hands back what runs, closes the store, all within `options.timeout`. */
  stop(options: StopOptions): Promise<void> {
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, STOP_KEYS, 'options');
    const timeout = o.timeout === undefined ? 30_000 : checkDelay(o.timeout, 'options.timeout');
    if (this.stopping) return this.stopping;
    if (this.status === 'idle') return Promise.resolve();
    const deadline = Date.now() + timeout;
    const { store, dispatcher } = this.host;
    this.stopping = (async () => {
      if (this.starting) await withDeadline(this.starting.catch(() => undefined), deadline);
      if (this.status !== 'started') return;
      this.status = 'stopping';
      this.stoppedOnce = true;
      // A fifth of the time (at most 2 s) is kept for handing back and closing.
      await dispatcher.stop(timeout - Math.min(timeout / 5, 2000), deadline);
      this.removeProbe?.();
      this.removeProbe = undefined;
      const close = store.close();
      let closeError: unknown;
      const closed = await withDeadline(
        close.catch((error: unknown) => {
          closeError = error;
        }),
        deadline,
      );
      this.status = 'idle';
      this.host.stopped();
      if (!closed) {
        this.closing = close.catch(() => undefined).finally(() => {
          this.closing = undefined;
        });
        this.host.error(() => new GodelayqError(`The store did not close within stop()'s timeout (${timeout} ms); it goes on closing`));
      } else if (closeError !== undefined) throw closeError;
    })().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  /**
   * On the first of `options.signals`, `stop` (the Scheduler's own), then
   * re-raises the signal; returns a function that removes the listeners.
   */
  stopOnSignals(options: SignalOptions, stop: (options: StopOptions) => Promise<void>): () => void {
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, SIGNAL_KEYS, 'options');
    const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
    if (!Array.isArray(signals) || signals.length === 0 || signals.some((x) => typeof x !== 'string' || !Object.hasOwn(osConstants.signals, x))) {
      throw new ValidationError(`Expected \`options.signals\` to be a non-empty array of signal names, got ${show(signals)}`);
    }
    const stopOptions: StopOptions = options.timeout === undefined ? {} : { timeout: checkDelay(options.timeout, 'options.timeout') };
    const remove = (): void => {
      for (const s of signals) process.removeListener(s, onSignal);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      remove();
      stop(stopOptions)
        .catch((error: unknown) => this.host.error(() => toError(error)))
        .finally(() => process.kill(process.pid, signal));
    };
    for (const s of signals) process.once(s, onSignal);
    return remove;
  }

  /** Throws SchedulerStoppedError unless started. */
  assertStarted(): void {
    if (this.status !== 'started') {
      throw new SchedulerStoppedError(
        this.status === 'stopping'
          ? 'Expected a running scheduler, got one that is stopping'
          : this.stoppedOnce
            ? 'Expected a started scheduler, got one that was stopped (call start() again to reuse it)'
            : 'Expected a started scheduler, got one not started (await scheduler.start() first)',
      );
    }
  }
}
