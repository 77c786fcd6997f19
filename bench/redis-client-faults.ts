/**
 * Evidence for RedisStore's connection design (issue 12 item 1): what Redis
 * clients do with a command whose connection drops, measured against a real
 * redis-server. For each client (ioredis 5.0.0, the dev 5.x, 6.0.0, each with
 * `autoResendUnfulfilledCommands` off and on; node-redis) and each fault, one
 * Lua script that counts its runs (`INCR`) is sent, and 4 s later we look at
 * the call (pending, resolved, rejected) and at how many times Redis ran it.
 *
 * Faults:
 * - drop while waiting (ioredis #2193): `CLIENT PAUSE 1500 WRITE`, send,
 *   `CLIENT KILL TYPE normal`; the client reconnects at once. The script
 *   never ran before the kill.
 * - reply lost: through a proxy that forwards the script to Redis, throws
 *   the reply away, then cuts the connection. The script ran once.
 *
 * Run: `node --import tsx bench/redis-client-faults.ts` (writes
 * bench/results/redis-client-faults.json).
 *
 * What it showed (2026-12, Redis 7.0.15): with re-sending off, every ioredis
 * version leaves both calls pending forever; with it on, the dropped call is
 * sent again and runs once, but the call whose reply was lost runs TWICE. So
 * re-sending is safe only for scripts that are idempotent by token, and
 * RedisStore's are not all (an insert sent twice reports its own job as a
 * duplicate; a claim sent twice claims twice): the store keeps re-sending
 * off and gives every call its own deadline. node-redis rejects both calls
 * at once ("Socket closed unexpectedly") and never re-sends: better, but the
 * outcome is just as unknown, and the peer stays ioredis.
 */
import { createRequire } from 'node:module';
import { createClient } from 'redis';
import type { Redis } from 'ioredis';
import { startRedis } from '../test/redis-server.js';
import { RedisProxy } from '../test/fixtures/redis-proxy.js';
import { writeResults } from './lib.js';

const require = createRequire(import.meta.url);
const SCRIPT = "return redis.call('INCR', KEYS[1])";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sender {
  name: string;
  send(key: string): Promise<unknown>;
  close(): Promise<void>;
}

type RedisCtor = new (url: string, options?: Record<string, unknown>) => Redis;

function ioredis(pkg: string, url: string, resend: boolean): Sender {
  const version = (require(`${pkg}/package.json`) as { version: string }).version;
  const Ctor = (require(pkg) as { default: RedisCtor }).default;
  const client = new Ctor(url, { autoResendUnfulfilledCommands: resend, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return {
    name: `ioredis ${version}, resend ${resend ? 'on ' : 'off'}`,
    send: (key) => client.eval(SCRIPT, 1, key),
    close: async () => {
      client.disconnect();
    },
  };
}

async function nodeRedis(url: string): Promise<Sender> {
  const client = createClient({ url, socket: { reconnectStrategy: () => 20 } });
  client.on('error', () => undefined);
  await client.connect();
  return {
    name: `node-redis ${(require('redis/package.json') as { version: string }).version}`,
    send: (key) => client.sendCommand(['EVAL', SCRIPT, '1', key]),
    close: async () => {
      client.destroy();
    },
  };
}

function watch(promise: Promise<unknown>): { state: string } {
  const t = { state: 'pending' };
  promise.then(
    (v) => (t.state = `resolved (${String(v)})`),
    (e: unknown) => (t.state = `rejected: ${String((e as Error).message).slice(0, 48)}`),
  );
  return t;
}

async function main(): Promise<void> {
  const server = await startRedis({ appendfsync: 'everysec' });
  const proxy = await new RedisProxy(server.port).listen();
  const admin = ioredis('ioredis', server.url, true);
  const probe = new (require('ioredis') as { default: RedisCtor }).default(server.url);
  const rows: Record<string, string>[] = [];
  let n = 0;
  const makers: ((url: string) => Promise<Sender>)[] = [];
  for (const pkg of ['ioredis-v5-0', 'ioredis', 'ioredis-v6']) {
    for (const resend of [false, true]) makers.push((url) => Promise.resolve(ioredis(pkg, url, resend)));
  }
  makers.push(nodeRedis);
  try {
    for (const make of makers) {
      const row: Record<string, string> = {};
      // Fault 1: dropped while waiting.
      {
        const sender = await make(server.url);
        await sleep(100);
        row.client = sender.name;
        const key = `faults:${++n}`;
        await probe.call('CLIENT', 'PAUSE', '1500', 'WRITE');
        const call = watch(sender.send(key));
        await sleep(100);
        await probe.call('CLIENT', 'KILL', 'TYPE', 'normal');
        await sleep(4000);
        row['drop while waiting (#2193): after 4 s'] = call.state;
        row['ran'] = String((await probe.get(key)) ?? 0);
        await sender.close();
      }
      // Fault 2: the reply is lost after Redis ran the script.
      {
        proxy.mode = 'pass';
        const sender = await make(proxy.url);
        await sleep(100);
        const key = `faults:${++n}`;
        proxy.mode = 'dropReplies';
        const before = proxy.dropped;
        const call = watch(sender.send(key));
        await proxy.droppedAtLeast(before + 1);
        proxy.mode = 'pass';
        proxy.cut();
        await sleep(4000);
        row['reply lost: after 4 s'] = call.state;
        row['ran '] = String((await probe.get(key)) ?? 0);
        await sender.close();
      }
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  } finally {
    await admin.close();
    probe.disconnect();
    await proxy.close();
    await server.destroy();
  }
  console.log('');
  console.table(rows);
  writeResults('redis-client-faults', { script: SCRIPT, rows });
}

await main();
process.exit(0);
