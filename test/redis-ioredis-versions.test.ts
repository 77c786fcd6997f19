/**
 * RedisStore on every ioredis the peer range allows (`>=5.0.0`): the oldest
 * (5.0.0) and the newest (6.0.0), installed as npm aliases, beside the dev
 * version (5.11.1) every other test uses.
 *
 * 1. The store's own connections (from `url`): the RedisStore suite and the
 *    deadline suite run in a child process whose `import 'ioredis'` under
 *    src/store/redis/ loads the other version (fixtures/redis-ioredis-hook.mjs).
 * 2. A client the user made with that version (`client`): the ioredis #2193
 *    hang, a blackholed peer, and a round trip with push between two stores.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { RedisStore } from '../src/redis.js';
import { StorePersistError } from '../src/errors.js';
import { redisSkip, startRedis, type RedisServer } from './redis-server.js';
import { waitFor } from './fixtures/redis-workers.js';
import { admin, claimNow, job, liveContext, withPrefix } from './fixtures/redis-helpers.js';
import { RedisProxy } from './fixtures/redis-proxy.js';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOOK = fileURLToPath(new URL('./fixtures/redis-ioredis-hook.mjs', import.meta.url));

const VERSIONS = [
  { pkg: 'ioredis-v5-0', version: '5.0.0' },
  { pkg: 'ioredis', version: (require('ioredis/package.json') as { version: string }).version },
  { pkg: 'ioredis-v6', version: '6.0.0' },
];

type RedisCtor = new (url: string, options?: Record<string, unknown>) => import('ioredis').Redis;

function runChild(pkg: string): Promise<{ code: number | null; output: string }> {
  // Without NODE_TEST_CONTEXT: a test run of its own, not a subtest of ours (node:test skips nested runs).
  const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', HOOK, '--import', 'tsx', '--test', '--test-concurrency=1', 'test/redis-store.test.ts', 'test/redis-deadlines.test.ts'], {
      cwd: ROOT,
      env: { ...env, GODELAYQ_IOREDIS: pkg, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** Each failing test of a child run with what node:test printed under it (error, stack), for a flake seen once. */
function failures(output: string): string {
  const lines = output.split('\n');
  const shown: string[] = [];
  lines.forEach((line, i) => {
    if (/^\s*not ok/.test(line) && !/subtests? failed/.test(lines.slice(i, i + 8).join('\n'))) shown.push(...lines.slice(i, i + 40), '');
  });
  return shown.slice(0, 200).join('\n');
}

describe('RedisStore across the ioredis versions the peer range allows', { skip: redisSkip }, () => {
  it('the aliases are the versions they claim', () => {
    for (const { pkg, version } of VERSIONS) assert.equal((require(`${pkg}/package.json`) as { version: string }).version, version);
  });

  describe("the store's own connections: the RedisStore and deadline suites", () => {
    for (const { pkg, version } of VERSIONS.filter((v) => v.pkg !== 'ioredis')) {
      it(`pass on ioredis ${version}`, async () => {
        const { code, output } = await runChild(pkg);
        assert.match(output, new RegExp(`\\[ioredis-hook\\] src/store/redis imports ioredis from .*/node_modules/${pkg}/`), 'the store really ran on that version');
        const pass = Number(/^# pass (\d+)/m.exec(output)?.[1]);
        const fail = Number(/^# fail (\d+)/m.exec(output)?.[1]);
        assert.equal(fail, 0, failures(output));
        assert.ok(pass > 30, `${pass} tests passed`);
        assert.equal(code, 0);
      });
    }
  });

  describe('a client made with that version', () => {
    let server: RedisServer;
    let proxy: RedisProxy;
    before(async () => {
      server = await startRedis();
      proxy = await new RedisProxy(server.port).listen();
    });
    after(async () => {
      await proxy?.close();
      await server?.destroy();
    });

    for (const { pkg, version } of VERSIONS) {
      const Client = ((require(pkg) as { default: RedisCtor }).default ?? require(pkg)) as RedisCtor;
      const make = (url: string): import('ioredis').Redis => {
        const client = new Client(url, { enableOfflineQueue: false, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 1 });
        client.on('error', () => undefined);
        return client;
      };

      it(`ioredis ${version}: round trip and push between two stores`, async () => {
        await withPrefix(server.url, async (prefix) => {
          const c1 = make(server.url);
          const c2 = make(server.url);
          const ctx2 = liveContext();
          const a = new RedisStore({ client: c1, prefix, pollMs: 60_000 });
          const b = new RedisStore({ client: c2, prefix, pollMs: 60_000 });
          await a.open(liveContext());
          await b.open(ctx2);
          try {
            await a.insert([{ record: job('far', { runAt: Date.now() + 3_600_000 }), onDuplicate: 'reject' }]);
            await waitFor(() => b.nextDueAt() !== undefined, 10_000, 'b to learn of far');
            await a.insert([{ record: job('x', { runAt: Date.now() + 50 }), onDuplicate: 'reject' }]);
            await waitFor(() => ctx2.wakes > 0 && (b.nextDueAt() as number) < Date.now() + 1000, 10_000, 'the push to reach b');
            await waitFor(async () => (await b.claim(claimNow())).jobs.length === 1, 10_000, 'b to claim x');
            assert.equal((await a.get('x'))?.state, 'running');
            assert.deepEqual((await a.list({})).map((j) => j.id), ['x', 'far']);
          } finally {
            await a.close();
            await b.close();
            c1.disconnect();
            c2.disconnect();
          }
        });
      });

      it(`ioredis ${version}: the #2193 drop and a peer that never answers both end in "outcome unknown", never a hang`, async () => {
        await withPrefix(server.url, async (prefix) => {
          const client = make(server.url);
          const store = new RedisStore({ client, prefix, commandTimeoutMs: 300 });
          await store.open(liveContext());
          const redis = admin(server.url);
          try {
            await redis.call('CLIENT', 'PAUSE', '5000', 'WRITE');
            const pending = store.insert([{ record: job('p'), onDuplicate: 'reject' }]);
            const outcome = pending.then(
              () => 'resolved',
              (e: unknown) => (e instanceof StorePersistError && /outcome is unknown/.test(e.message) ? 'unknown' : String(e)),
            );
            await new Promise((r) => setTimeout(r, 100));
            await redis.call('CLIENT', 'KILL', 'TYPE', 'normal');
            assert.equal(await outcome, 'unknown');
          } finally {
            await redis.call('CLIENT', 'UNPAUSE').catch(() => undefined);
            redis.disconnect();
            await store.close();
            client.disconnect();
          }
        });
        await withPrefix(server.url, async (prefix) => {
          proxy.mode = 'pass';
          const client = make(proxy.url);
          const store = new RedisStore({ client, prefix, commandTimeoutMs: 300 });
          await store.open(liveContext());
          try {
            proxy.mode = 'blackhole';
            await assert.rejects(store.claim(claimNow()), /outcome is unknown/);
          } finally {
            proxy.mode = 'pass';
            await store.close();
            client.disconnect();
          }
        });
      });
    }
  });
});
