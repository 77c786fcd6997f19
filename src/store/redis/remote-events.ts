/**
 * RedisStore's side of `new Scheduler({ remoteEvents: true })`: events
 * travel on the channel `P:events` (Redis pub/sub: at most once; a process
 * that is disconnected when one is published never sees it).
 *
 * WHY publishers ask first: a store publishes an event only while some
 * process listens, so schedulers that nobody listens to pay nothing. A
 * listening store says so on `P:wake` (which every store already hears):
 * `E<ttl ms>,<store id>` when it subscribes and again at every poll; a store
 * that just opened asks with `Q`, and listeners answer at once. A publisher
 * believes in listeners for the `ttl` of the last hello (3 poll intervals of
 * the listener), so one that stopped listening costs at most that long.
 */

/** Who listens for events, as heard on `P:wake`. */
export class EventPresence {
  private until = -Infinity;

  constructor(
    /** This store's id: its own hellos do not count. */
    private readonly self: string,
  ) {}

  /** The hello a listening store sends; `ttlMs` = how long it holds without another. */
  hello(ttlMs: number): string {
    return `E${Math.ceil(ttlMs)},${this.self}`;
  }

  /** A `E…` message heard at `now` (ms on the store's clock). */
  heard(message: string, now: number): void {
    const comma = message.indexOf(',');
    if (comma < 0 || message.slice(comma + 1) === this.self) return;
    const ttl = Number(message.slice(1, comma));
    if (Number.isFinite(ttl) && ttl > 0) this.until = Math.max(this.until, now + ttl);
  }

  /** Whether another process listened lately. */
  listening(now: number): boolean {
    return now < this.until;
  }
}

/** The question a store that just opened asks on `P:wake`: listeners answer with a hello. */
export const WHO_LISTENS = 'Q';
