/**
 * RedisStore on Redis Cluster (issue 12 item 7), against a real 3-master
 * cluster started here: an ioredis `Cluster` is a first-class `client`, the
 * prefix must hold a hash tag (clear error otherwise; `{godelayq}` by
 * default), the whole Store conformance suite passes, and stores on
 * different connections push to each other and share the jobs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from 'ioredis';
import { Redis } from 'ioredis';
import { RedisStore } from '../src/redis.js';
import { Scheduler } from '../src/scheduler.js';
import { StorePersistError, ValidationError } from '../src/errors.js';
import { storeConformance } from './store-conformance.js';
import { clusterSkip, deletePrefixOnCluster, startCluster, type RedisCluster } from './redis-server.js';
import { waitFor } from './fixtures/redis-workers.js';
import { liveContext } from './fixtures/redis-helpers.js';

describe('RedisStore on Redis Cluster', { skip: clusterSkip }, () => {
  let cluster: RedisCluster;
  let admin: Cluster;
  let n = 0;
  before(async () => {
    cluster = await startCluster();
    admin = cluster.client();
  });
  after(async () => {
    admin?.disconnect();
    await cluster?.destroy();
  });

  storeConformance('RedisStore on a 3-master Redis Cluster', () => {
    const prefix = `{conf${++n}}`;
    const client = cluster.client();
    const make = (): RedisStore => new RedisStore({ client, prefix });
    return Promise.resolve({
      store: make(),
      reopen: () => Promise.resolve(make()),
      cleanup: async () => {
        assert.deepEqual(await deletePrefixOnCluster(admin, prefix), []);
        client.disconnect();
      },
    });
  });

  it('wants a hash tag in the prefix, and says which', () => {
    const client = cluster.client({ lazyConnect: true });
    try {
      assert.throws(() => new RedisStore({ client, prefix: 'billing' }), (e: unknown) => e instanceof ValidationError && /hash tag on Redis Cluster, such as "\{billing\}"/.test(e.message));
      assert.throws(() => new RedisStore({ client, prefix: 'a{b' }), ValidationError);
      assert.doesNotThrow(() => new RedisStore({ client }), 'the default prefix is {godelayq}');
      assert.doesNotThrow(() => new RedisStore({ client, prefix: 'app:{billing}' }));
    } finally {
      client.disconnect();
    }
  });

  it('a plain Redis client on a cluster node: the error says to pass a Cluster', async () => {
    const node = cluster.nodes[0]!;
    const probe = new Redis(node.port, node.host);
    // A prefix whose slot lives on another node.
    const owned = ((await probe.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]).filter((s) => s[2][1] === node.port);
    let prefix = '';
    for (let i = 0; ; i++) {
      const slot = Number(await probe.call('CLUSTER', 'KEYSLOT', `p${i}:due`));
      if (!owned.some(([lo, hi]) => slot >= lo && slot <= hi)) {
        prefix = `p${i}`;
        break;
      }
    }
    probe.disconnect();
    const store = new RedisStore({ url: `redis://${node.host}:${node.port}`, prefix });
    await assert.rejects(store.open(liveContext()), (e: unknown) => e instanceof StorePersistError && /MOVED.*pass an ioredis `Cluster` as `client`/.test(e.message));
  });

  it('two processes on the cluster: a job scheduled by one is pushed to and run by the other, once', async () => {
    const prefix = '{billing}';
    const c1 = cluster.client();
    const c2 = cluster.client();
    const a = new Scheduler({ store: new RedisStore({ client: c1, prefix, pollMs: 60_000 }) });
    const b = new Scheduler({ store: new RedisStore({ client: c2, prefix, pollMs: 60_000 }) });
    const runs: string[] = [];
    b.register('invoice', (job) => {
      runs.push(job.id);
    });
    await a.start();
    await b.start();
    try {
      await a.scheduleIn('invoice', 3_600_000, {}, { id: 'far' });
      const soon = await a.scheduleIn('invoice', 200, { n: 1 }, { id: 'soon' });
      await waitFor(async () => (await a.get('soon'))?.state === 'completed', 20_000, 'soon completed by b');
      assert.deepEqual(runs, ['soon']);
      assert.ok(soon.runAt.getTime() > 0);
      assert.deepEqual((await a.list({})).map((j) => [j.id, j.state]), [
        ['soon', 'completed'],
        ['far', 'scheduled'],
      ]);
    } finally {
      await a.stop();
      await b.stop();
      assert.deepEqual(await deletePrefixOnCluster(admin, prefix), []);
      c1.disconnect();
      c2.disconnect();
    }
  });
});
