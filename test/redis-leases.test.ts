/**
 * RedisStore's lease bookkeeping (src/store/redis/leases.ts), on a
 * VirtualClock, without Redis: a lease is renewed while its attempt lives,
 * only `settleRetryMs` past the attempt's first settle (a settle that never
 * gets through cannot keep a job running forever), and a lease past its
 * local deadline is reported lost at once, once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../src/clock.js';
import { Leases, type RenewItem } from '../src/store/redis/leases.js';
import type { LostReason } from '../src/store/store.js';

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
});
