/**
 * PostgresStore across processes: the store-wide pause
 * (`pause({ everywhere: true })`) and remote events (`remoteEvents: true`),
 * on the tables and functions of schema 3 (functions-v3.ts).
 *
 * PAUSE. `S.pause` holds the state and a version; `set_pause` changes it and
 * NOTIFYs `P<version>,<0|1>,<store id>` on the wake channel. Every claim
 * reads it under a shared advisory lock (set_pause holds it exclusive), so a
 * process that missed the notice still cannot claim; the claim's reply, and
 * every poll's, carry the state. Versions order what arrives by different
 * paths (PauseView, shared with RedisStore).
 *
 * EVENTS. A listening store LISTENs on `<schema>.events` too, and says so on
 * the wake channel (`E<ttl ms>,<store id>` at open and at every poll, sent by
 * the poll's own statement; a store that opens asks `Q`, and listeners
 * answer): a store publishes only while
 * someone listened lately (EventPresence, shared with RedisStore). A message
 * goes inline in the NOTIFY (`E<message>`) when it fits in NOTIFY's 8000
 * bytes, else into `S.events` with `R<row id>` as the notice; the listener
 * reads the row. At most once, as on Redis: a process that is disconnected
 * when an event is sent never sees it.
 */
import { randomBytes } from 'node:crypto';
import type { PauseState, StoreContext } from '../store.js';
import { PauseView, parsePauseNotice } from '../redis/pause.js';
import { EventPresence, WHO_LISTENS } from '../redis/remote-events.js';
import { ident } from './schema.js';

/** What Control needs of its store. */
export interface ControlHost {
  schema: string;
  /** How long a hello holds: 3 poll intervals. */
  helloTtlMs: number;
  /** The store's context while it is open. */
  context(): StoreContext | undefined;
  /** Runs one statement on the store's pool (never waited on by the caller's hot path). */
  query(what: string, text: string, params: unknown[]): Promise<{ rows: unknown[] }>;
}

/** The pause as the functions reply it: [paused, version]. */
export type PauseReply = [boolean, number | string];

export class Control {
  /** Tells this store's own pause notices and hellos from other processes'. */
  readonly id = randomBytes(9).toString('base64url');
  private readonly view = new PauseView();
  private readonly presence = new EventPresence(this.id);
  private readonly wakeChannel: string;
  readonly eventsChannel: string;

  constructor(private readonly host: ControlHost) {
    this.wakeChannel = `${host.schema}.wake`;
    this.eventsChannel = `${host.schema}.events`;
  }

  /** The store-wide pause as last known (notice, poll, claim reply). */
  get pause(): PauseState {
    return this.view.state;
  }

  /** A state read from a reply; tells the scheduler when it changed what is known. */
  learn(reply: PauseReply | undefined): void {
    if (reply === undefined) return;
    const version = Number(reply[1]);
    if (!Number.isSafeInteger(version)) return;
    if (this.view.offer({ paused: reply[0] === true, version })) this.host.context()?.pauseChanged?.(this.view.state);
  }

  /** A state this store itself just recorded. */
  recorded(state: PauseState): void {
    this.view.offer(state);
  }

  /** `P…` (a pause changed), `E…` (a process listens for events), `Q` (who listens?) on the wake channel; false: not one of them. */
  onWake(message: string): boolean {
    const kind = message[0];
    if (kind === 'P') {
      const notice = parsePauseNotice(message);
      if (notice && notice.from !== this.id) this.learn([notice.state.paused, notice.state.version]);
    } else if (kind === 'E') this.presence.heard(message, this.host.context()?.clock.now() ?? 0);
    else if (kind === 'Q') {
      if (this.host.context()?.remoteEvent) this.announce(this.hello());
    } else return false;
    return true;
  }

  /**
   * The notice the poll sends on the wake channel (in its own statement: no
   * round trip of its own): a listener says so at open and at every poll,
   * another store asks who listens at open; null: none.
   */
  greeting(opening: boolean): string | null {
    if (this.host.context()?.remoteEvent) return this.hello();
    return opening ? WHO_LISTENS : null;
  }

  /** Whether another process listens for events (it said so within its last three poll intervals). */
  listening(): boolean {
    return this.presence.listening(this.host.context()?.clock.now() ?? 0);
  }

  /** Sends one event (at most once, never waited on). */
  publish(message: string): void {
    void this.host.query('publish event', `SELECT ${ident(this.host.schema)}.publish($1)`, [message]).catch(() => undefined);
  }

  /** A notice on the events channel: `E<message>` inline, or `R<row id>` to read. */
  onEvent(notice: string): void {
    const deliver = this.host.context()?.remoteEvent;
    if (!deliver) return;
    if (notice[0] === 'E') deliver(notice.slice(1));
    else if (notice[0] === 'R' && /^R\d+$/.test(notice)) {
      void this.host
        .query('read event', `SELECT body FROM ${ident(this.host.schema)}.events WHERE id = $1`, [notice.slice(1)])
        .then((result) => {
          const row = result.rows[0] as { body?: unknown } | undefined;
          if (typeof row?.body === 'string' && this.host.context()?.remoteEvent === deliver) deliver(row.body);
        })
        .catch(() => undefined);
    }
  }

  private hello(): string {
    return this.presence.hello(this.host.helloTtlMs);
  }

  private announce(message: string): void {
    void this.host.query('announce', 'SELECT pg_notify($1, $2)', [this.wakeChannel, message]).catch(() => undefined);
  }
}
