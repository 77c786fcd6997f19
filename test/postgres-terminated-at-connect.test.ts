/**
 * A backend terminated the moment its connection became ready must not crash
 * the process (found by the PostgreSQL simulation: one run died on an
 * unhandled 'error' event, 57P01, with the load of a CI run beside it).
 *
 * How it happens: node-postgres parses a whole TCP chunk at once. When the
 * server's "ready for query" and its "terminating connection" error arrive in
 * one chunk — a server restart or `pg_terminate_backend` right after a
 * connect, on a busy machine — the pool hands the new client over on the
 * first message and the client emits 'error' on the second, in the same
 * synchronous pass. A store that takes the client from `pool.connect()`'s
 * promise adds its listener one microtask too late; the 'error' has no
 * listener and Node throws it. The proxy below makes that chunk happen every
 * time: it holds the server's bytes of a new connection until the server
 * closes it, then delivers them in one write.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pg from 'pg';
import { PostgresStore } from '../src/postgres.js';
import { StorePersistError } from '../src/errors.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { job, liveContext, track, waitFor, withSchema } from './fixtures/postgres-helpers.js';

/**
 * A TCP proxy in front of PostgreSQL. In `coalesce` mode it keeps every byte
 * the server sends on a new connection; once the startup reply is complete
 * (a ReadyForQuery message), it reports the backend's pid (from
 * BackendKeyData) and keeps holding until the server closes the connection,
 * then writes everything in one chunk and closes.
 */
class CoalescingProxy {
  mode: 'pass' | 'coalesce' = 'pass';
  /** Called with the pid of each held backend once its startup reply is complete. */
  onReady: (pid: number) => void = () => undefined;
  /** Connections delivered as one chunk (startup reply + what followed). */
  coalesced = 0;
  port = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(targetPort: number) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      const hold = this.mode === 'coalesce';
      let held: Buffer[] = [];
      let reported = false;
      const end = (): void => {
        this.sockets.delete(client);
        this.sockets.delete(upstream);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
      client.on('close', end);
      client.on('data', (chunk: Buffer) => upstream.write(chunk));
      upstream.on('data', (chunk: Buffer) => {
        if (!hold) {
          client.write(chunk);
          return;
        }
        held.push(chunk);
        if (reported) return;
        const ready = readyPid(Buffer.concat(held));
        if (ready !== undefined) {
          reported = true;
          this.onReady(ready);
        }
      });
      upstream.on('close', () => {
        if (hold && held.length > 0) {
          this.coalesced++;
          client.end(Buffer.concat(held));
          held = [];
          return;
        }
        end();
      });
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The backend pid once `bytes` (server → client) hold a complete startup reply, else undefined. */
function readyPid(bytes: Buffer): number | undefined {
  let pid: number | undefined;
  let at = 0;
  while (at + 5 <= bytes.length) {
    const type = String.fromCharCode(bytes[at]!);
    const length = bytes.readInt32BE(at + 1);
    if (at + 1 + length > bytes.length) return undefined;
    if (type === 'K') pid = bytes.readInt32BE(at + 5);
    if (type === 'Z') return pid;
    at += 1 + length;
  }
  return undefined;
}

describe('PostgresStore: a backend terminated as its connection becomes ready', { skip: postgresSkip, timeout: 300_000 }, () => {
  const server = usePostgresServer();
  let proxy: CoalescingProxy;
  let admin: pg.Client;
  before(async () => {
    proxy = await new CoalescingProxy(server.port).listen();
    admin = new pg.Client({ connectionString: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    await proxy?.close();
  });

  it('the call fails with StorePersistError, nothing is thrown out of the socket, the store goes on', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.on('uncaughtException', onUncaught);
    try {
      await withSchema(server.url, async (schema) => {
        // The user's own pool, so the test can see it empty; idle clients close at once.
        const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`, idleTimeoutMillis: 20, max: 4 });
        const store = new PostgresStore({ pool, schema, commandTimeoutMs: 5000 });
        await store.open(liveContext());
        try {
          await store.insert([{ record: job('kept', { runAt: Date.now() + 3_600_000 }), onDuplicate: 'reject' }]);
          await waitFor(() => pool.totalCount === 0, 10_000, 'the pool to close its idle clients');
          // Every backend that connects now is terminated the moment its startup completes.
          proxy.onReady = (pid) => void admin.query('SELECT pg_terminate_backend($1)', [pid]).catch(() => undefined);
          proxy.mode = 'coalesce';
          const calls = [track(store.get('kept')), track(store.list({ limit: 5 })), track(store.cancel('nothing-here', Date.now()))];
          await waitFor(() => calls.every((c) => c.state !== 'pending'), 30_000, 'every call to settle');
          proxy.mode = 'pass';
          assert.ok(proxy.coalesced >= 1, `connections delivered in one chunk: ${proxy.coalesced}`);
          for (const call of calls) {
            assert.equal(call.state, 'rejected', String(call.value));
            assert.ok(call.error instanceof StorePersistError, String(call.error));
          }
          assert.deepEqual(uncaught.map(String), [], 'nothing thrown out of a socket handler');
          // The store still answers, and the acknowledged job is there.
          const kept = await store.get('kept');
          assert.equal(kept?.id, 'kept');
        } finally {
          proxy.mode = 'pass';
          await store.close();
          await pool.end();
        }
      });
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
