/**
 * RedisStore's lease bookkeeping (src/store/redis/leases.ts), on a
 * VirtualClock, without Redis: a lease is renewed while its attempt lives,
 * only `settleRetryMs` past the attempt's first settle (a settle that never
 * gets through cannot keep a job running forever), a lease past its local
 * deadline is reported lost at once, once, and a renewal that ran after the
 * attempt's settle landed reports nothing (the settle's reply decides). The
 * last case again on a real redis-server (PostgresStore shares this class).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../src/clock.js';
import { Leases, type RenewItem } from '../src/store/redis/leases.js';
import type { LostReason } from '../src/store/store.js';
import { redisSkip, useRedisServer } from './redis-server.js';
import { claimNow, job, withPrefix, withStore } from './fixtures/redis-helpers.js';

function setup(renew: (items: RenewItem[]) => Promise<[string, LostReason][]> = () => Promise.resolve([])) {
  const clock = new VirtualClock(0);
  const renewals: { at: number; ids: string[] }[] = [];
  const lost: { at: number; id: string; token: string; reason: LostReason }[] = [];
  const leases = new Leases({
    leaseMs: 3000,
    settleGraceMs: 1500,
    mono: () => clock.now(),
    realTime: false,
    renew: (items) => {
      renewals.push({ at: clock.now(), ids: items.map((i) => i.id) });
      return renew(items);
    },
    lost: (id, token, reason) => lost.push({ at: clock.now(), id, token, reason }),
  });
  leases.start(clock);
  return { clock, leases, renewals, lost };
}

describe('RedisStore leases', () => {
  it('renews every leaseMs / 3 while the attempt runs', async () => {
    const { clock, leases, renewals, lost } = setup();
    leases.add('a', 'tok', 1, 0);
    await clock.advance(10_000);
    assert.deepEqual(renewals.map((r) => r.at), [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
    assert.deepEqual(lost, []);
    leases.release('a', 'tok');
    await clock.advance(10_000);
    assert.equal(renewals.length, 10, 'no renewal once the outcome is recorded');
    assert.equal(clock.pendingTimers, 0, 'an idle store keeps no timer');
  });

  it('stops renewing settleRetryMs after the first settle, then reports the lease lost at its local deadline, once', async () => {
    const { clock, leases, renewals, lost } = setup();
    leases.add('a', 'tok', 1, 0);
    await clock.advance(1200);
    leases.settling('a', 'tok'); // the handler returned; its settle does not get through
    await clock.advance(10_000);
    assert.deepEqual(renewals.map((r) => r.at), [1000, 2000], 'renewed only within 1500 ms of the first settle');
    assert.deepEqual(lost, [{ at: 5000, id: 'a', token: 'tok', reason: 'lease' }], 'lost when the last renewal (sent at 2000) ran out');
    assert.equal(leases.held.size, 0);
  });

  it('reports a lease lost when renewals fail (Redis away), at the deadline of the last one that got through', async () => {
    let fail = false;
    const { clock, leases, lost } = setup(() => (fail ? Promise.reject(new Error('unreachable')) : Promise.resolve([])));
    leases.add('a', 'tok', 1, 0);
    await clock.advance(1000);
    fail = true;
    await clock.advance(10_000);
    assert.deepEqual(lost, [{ at: 4000, id: 'a', token: 'tok', reason: 'lease' }]);
  });

  it('an attempt Redis says is no longer ours is reported with its reason, once, and not renewed again', async () => {
    const { clock, leases, renewals, lost } = setup((items) => Promise.resolve(items.filter((i) => i.id === 'b').map((i) => [i.id, 'cancelled'] as [string, LostReason])));
    leases.add('a', 'ta', 1, 0);
    leases.add('b', 'tb', 2, 0);
    await clock.advance(3000);
    assert.deepEqual(lost, [{ at: 1000, id: 'b', token: 'tb', reason: 'cancelled' }]);
    assert.deepEqual(renewals.map((r) => r.ids), [['a', 'b'], ['a'], ['a']]);
    leases.lose('b', 'tb', 'lease');
    assert.equal(lost.length, 1, 'a second notice for the same attempt is dropped');
  });

  // A renewal tick that fires while an attempt's settle is in flight still
  // renews it (for settleGraceMs). When that RENEW runs after the SETTLE landed
  // (sent after it on the same connection), Redis finds the job moved on and
  // answers with a reason although the outcome was recorded; the RENEW's reply
  // can be handled before the settle's reply releases the lease. Seen in CI on
  // 4 December (test/redis-multiprocess.test.ts under load): "Job shared-tick:
  // the lease of its running attempt lapsed", for an occurrence that completed.
  it('a renewal that finds the job moved on while its settle is in flight reports nothing: the settle decides', async () => {
    let settled = false;
    const { clock, leases, renewals, lost } = setup((items) => Promise.resolve(settled ? items.map((i) => [i.id, 'lease'] as [string, LostReason]) : []));
    leases.add('a', 'tok', 1, 0);
    await clock.advance(1200);
    leases.settling('a', 'tok');
    settled = true; // the SETTLE landed; its reply is not handled yet
    await clock.advance(800);
    assert.deepEqual(renewals.map((r) => r.at), [1000, 2000]);
    assert.deepEqual(lost, [], 'the RENEW after the landed SETTLE reports no loss');
    leases.release('a', 'tok'); // the settle's reply: OK
    await clock.advance(10_000);
    assert.deepEqual(lost, []);
    assert.deepEqual(renewals.map((r) => r.at), [1000, 2000], 'not renewed again');
    assert.equal(clock.pendingTimers, 0);
  });

  it('a lease Redis gave away while its settle was in flight, whose settle never answers, is reported at its local deadline with the reason Redis gave, once', async () => {
    let settled = false;
    const { clock, leases, lost } = setup((items) => Promise.resolve(settled ? items.map((i) => [i.id, 'cancelled'] as [string, LostReason]) : []));
    leases.add('a', 'tok', 1, 0);
    await clock.advance(1200);
    leases.settling('a', 'tok');
    settled = true;
    await clock.advance(10_000);
    // The last renewal that got through was sent at 1000: its deadline is 4000.
    assert.deepEqual(lost, [{ at: 4000, id: 'a', token: 'tok', reason: 'cancelled' }]);
    assert.equal(leases.held.size, 0);
  });
});

describe('RedisStore leases on a real redis-server', { skip: redisSkip }, () => {
  const server = useRedisServer();

  it('a RENEW that runs after the attempt\'s SETTLE landed, with the lease still held, reports no lost attempt and no warning', async () => {
    await withPrefix(server.url, async (prefix) => {
      await withStore({ url: server.url, prefix }, async (store, ctx) => {
        await store.insert([{ record: job('r'), onDuplicate: 'reject' }]);
        const [claimed] = (await store.claim(claimNow())).jobs;
        const { token, lost: _lost, relative: _relative, ...rest } = claimed!;
        const leases = (store as unknown as { leases: Leases }).leases;
        // The interleaving, forced: the settle's reply is handled (OK) but its
        // release of the lease has not run yet when the renewal tick runs.
        const release = leases.release.bind(leases);
        leases.release = () => undefined;
        try {
          assert.equal(await store.settle('r', token!, { ...rest, state: 'completed', finishedAt: Date.now() }), true);
          assert.equal(leases.held.get('r')?.token, token, 'the lease is still held, settling');
          await leases.tick(); // RENEW: Redis answers that the attempt no longer owns the job ('lease': it is completed)
        } finally {
          leases.release = release;
        }
        assert.deepEqual(ctx.lostAttempts, [], 'no attempt reported lost');
        assert.deepEqual(ctx.warnings, [], 'no "lease lapsed" warning');
        leases.release('r', token);
        assert.equal(leases.held.size, 0);
        assert.equal((await store.get('r'))?.state, 'completed');
      });
    });
  });
});
