/**
 * Where a Scheduler's events go: its EventEmitter listeners, the streams
 * `events()` opened, and (the store permitting, while some process listens)
 * other processes sharing the store (remote-events.ts). An event's payload
 * is built only when someone will receive it; a throwing listener never
 * breaks the caller.
 */
import { randomBytes } from 'node:crypto';
import { ValidationError, toError } from '../errors.js';
import { EventStream, type EventStreamOptions, type SchedulerEvent, type SchedulerEventType, type SchedulerEvents } from '../events.js';
import type { Store } from '../store/store.js';
import type { JobMap } from '../types.js';
import { checkKeys, checkOptionsObject, checkPositiveInt, show } from '../validate.js';
import { EVENTS_KEYS } from './options.js';
import { REMOTE_TYPES, decodeRemote, encodeRemote, type LocalPayload } from './remote-events.js';
import { NO_OPTIONS } from './requests.js';

/** What the hub needs of the Scheduler's EventEmitter. */
export interface Emitter<Events> {
  listenerCount(type: keyof Events): number;
  emit<K extends keyof Events>(type: K, payload: Events[K]): boolean;
}

/** Sends each event to listeners, streams and (when asked and heard) other processes. */
export class EventHub<Jobs extends JobMap, Results> {
  /** Names this scheduler's published events, so it never emits its own twice. */
  private readonly senderId = randomBytes(9).toString('base64url');

  /**
   * @param streams the open `events()` streams (owned by the Scheduler).
   * @param remoteOut the store can carry events to other processes: publish ours while some process listens.
   */
  constructor(
    private readonly emitter: Emitter<SchedulerEvents<Jobs, Results>>,
    private readonly streams: Set<EventStream<SchedulerEvent<Jobs, Results>>>,
    private readonly store: Store,
    private readonly remoteOut: boolean,
  ) {}

  /** Whether anyone listens for `type` (to skip building event payloads). */
  wants(type: keyof SchedulerEvents<Jobs, Results>): boolean {
    return this.streams.size > 0 || this.emitter.listenerCount(type) > 0 || this.relays(type);
  }

  /** Whether an event of `type` goes to other processes too: some process listens (remote-events.ts). */
  private relays(type: keyof SchedulerEvents<Jobs, Results>): boolean {
    return this.remoteOut && REMOTE_TYPES.has(type) && (this.store.eventListeners as () => boolean).call(this.store);
  }

  /** Emits `type` to listeners and streams; `relay`: and to other processes, when one listens. */
  publish<K extends keyof SchedulerEvents<Jobs, Results>>(type: K, make: () => SchedulerEvents<Jobs, Results>[K], relay = true): void {
    const listeners = this.emitter.listenerCount(type);
    const remote = relay && this.relays(type);
    if (listeners === 0 && this.streams.size === 0 && !remote) return;
    const payload = make();
    if (remote) {
      try {
        (this.store.publishEvent as (message: string) => void).call(this.store, encodeRemote(this.senderId, type, payload as unknown as LocalPayload));
      } catch (error) {
        this.publish('error', () => ({ error: toError(error) }), false);
      }
    }
    if (listeners > 0) {
      try {
        this.emitter.emit(type, payload);
      } catch (error) {
        // A throwing listener must not break dispatch; report it unless it was the error listener.
        if (type !== 'error') this.publish('error', () => ({ error: toError(error) }));
      }
    }
    if (this.streams.size > 0) {
      const event = { type, ...payload } as unknown as SchedulerEvent<Jobs, Results>;
      for (const stream of this.streams) stream.push(event);
    }
  }

  /** An event another process published (remoteEvents: true): emitted here with `origin: 'remote'`. */
  receiveRemote(message: string): void {
    const event = decodeRemote(this.senderId, message);
    if (!event) return;
    const type = event.type as keyof SchedulerEvents<Jobs, Results>;
    this.publish(type, () => event.payload as unknown as SchedulerEvents<Jobs, Results>[typeof type], false);
  }

  /** A new `events()` stream (options checked first); `hold`: keeps the process alive while a reader waits. */
  open<T extends SchedulerEventType>(
    options: EventStreamOptions & { types?: readonly T[] },
    hold: (() => () => void) | undefined,
  ): AsyncIterableIterator<Extract<SchedulerEvent<Jobs, Results>, { type: T }>> {
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, EVENTS_KEYS, 'options');
    if (options.bufferSize !== undefined) checkPositiveInt(options.bufferSize, 'options.bufferSize');
    if (options.overflow !== undefined && !['dropOldest', 'dropNewest', 'error'].includes(options.overflow)) {
      throw new ValidationError(`Expected \`options.overflow\` to be 'dropOldest', 'dropNewest' or 'error', got ${show(options.overflow)}`);
    }
    for (const key of ['types', 'names', 'ids'] as const) {
      const list: unknown = options[key];
      if (list !== undefined && (!Array.isArray(list) || list.some((x) => typeof x !== 'string'))) {
        throw new ValidationError(`Expected \`options.${key}\` to be an array of strings, got ${show(list)}`);
      }
    }
    const stream = new EventStream<SchedulerEvent<Jobs, Results>>(options, (s) => this.streams.delete(s), hold);
    this.streams.add(stream);
    // The stream only lets through events whose type is in `types`.
    return stream as unknown as AsyncIterableIterator<Extract<SchedulerEvent<Jobs, Results>, { type: T }>>;
  }

  /** Ends every open stream (the scheduler stopped). */
  endStreams(): void {
    for (const stream of [...this.streams]) stream.end();
  }
}
