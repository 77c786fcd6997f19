/**
 * The LISTEN connection of a PostgresStore: one dedicated client (a pooled
 * one cannot keep a LISTEN), reconnected with backoff whenever it drops.
 * Notifications missed while it was down are made up for by `onReconnect`
 * (the store polls at once); the poll is the safety net for a connection
 * that goes silent without an error.
 */
import pg from 'pg';
import { toError } from '../../errors.js';

export interface ListenerOptions {
  config: pg.ClientConfig;
  /** The channels to LISTEN on. */
  channels: readonly string[];
  onMessage(channel: string, payload: string): void;
  /** The connection came back after a drop: notifications may have been missed. */
  onReconnect(): void;
  /** Deadline of a connection attempt, ms. */
  timeoutMs: number;
}

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5000;

export class Listener {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private wait = RETRY_FIRST_MS;
  lastError: Error | undefined;

  constructor(private readonly options: ListenerOptions) {}

  /** Connects and listens; rejects when that fails within the deadline. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.options.config, connectionTimeoutMillis: this.options.timeoutMs });
    client.on('error', (error) => {
      this.lastError = toError(error);
    });
    client.on('notification', (message) => {
      if (this.options.channels.includes(message.channel) && message.payload !== undefined) this.options.onMessage(message.channel, message.payload);
    });
    client.on('end', () => {
      if (this.client === client) this.client = undefined;
      if (!this.stopped) this.retryLater();
    });
    const deadline = new Promise<never>((_, reject) => {
      const t = setTimeout(() => reject(new Error(`LISTEN connection not ready after ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      t.unref();
    });
    try {
      await Promise.race([
        (async () => {
          await client.connect();
          for (const channel of this.options.channels) await client.query(`LISTEN "${channel}"`);
        })(),
        deadline,
      ]);
    } catch (error) {
      this.lastError = toError(error);
      void client.end().catch(() => undefined);
      throw error;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.wait = RETRY_FIRST_MS;
  }

  private retryLater(): void {
    if (this.stopped || this.retryTimer) return;
    const wait = this.wait;
    this.wait = Math.min(RETRY_MAX_MS, this.wait * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopped) return;
      this.connect().then(
        () => {
          if (!this.stopped) this.options.onReconnect();
        },
        () => this.retryLater(),
      );
    }, wait);
    this.retryTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    const ended = client.end().catch(() => undefined);
    const t = new Promise<void>((resolve) => setTimeout(resolve, this.options.timeoutMs).unref());
    await Promise.race([ended, t]);
  }
}
