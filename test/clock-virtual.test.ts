/**
 * VirtualClock, driven directly (issue 19): the clock every scheduler test
 * stands on. Timers fire in time order, each at its own instant, ties in the
 * order they were set; promise chains a timer starts settle before the next
 * one fires; `runAll` follows pending work only; `set` steps the wall both
 * ways, telling step listeners first; bad input is a ValidationError.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../src/clock.js';
import { ValidationError } from '../src/errors.js';

const T = Date.UTC(2027, 0, 1);

describe('VirtualClock', () => {
  it('starts at epoch 0, at a number, or at a Date', () => {
    assert.equal(new VirtualClock().now(), 0);
    assert.equal(new VirtualClock(T).now(), T);
    assert.equal(new VirtualClock(new Date(T)).now(), T);
    assert.equal(new VirtualClock(-8.64e15).now(), -8.64e15, 'the earliest Date is a valid start');
    assert.equal(new VirtualClock(8.64e15).now(), 8.64e15, 'the latest Date is a valid start');
  });

  it('refuses a start or a set time that is not a Date or epoch ms, with the value in the message', async () => {
    for (const bad of [Number.NaN, Infinity, -Infinity, 8.64e15 + 1, -8.64e15 - 1, '5' as unknown as number, new Date(Number.NaN)]) {
      assert.throws(
        () => new VirtualClock(bad),
        (e: unknown) => e instanceof ValidationError && e.message === `Expected \`start\` to be a valid Date or epoch ms, got ${String(bad)}`,
      );
    }
    const clock = new VirtualClock(T);
    await assert.rejects(clock.set(Number.NaN), (e: unknown) => e instanceof ValidationError && e.message === 'Expected `time` to be a valid Date or epoch ms, got NaN');
    assert.equal(clock.now(), T, 'a refused set changes nothing');
  });

  it('fires timers in time order, each at its own instant; equal instants in the order they were set', async () => {
    const clock = new VirtualClock(T);
    const fired: [string, number][] = [];
    const at = (name: string, time: number): void => void clock.setTimer(time, () => fired.push([name, clock.now()]));
    at('c', T + 300);
    at('a1', T + 100);
    at('b', T + 200);
    at('a2', T + 100);
    at('late', T + 1001);
    await clock.advance(1000);
    assert.deepEqual(fired, [
      ['a1', T + 100],
      ['a2', T + 100],
      ['b', T + 200],
      ['c', T + 300],
    ]);
    assert.equal(clock.now(), T + 1000, 'advance ends at now + ms');
    assert.equal(clock.pendingTimers, 1);
    await clock.advance(1);
    assert.deepEqual(fired.at(-1), ['late', T + 1001]);
    assert.equal(clock.pendingTimers, 0);
  });

  it('a timer set for the past fires at the next advance without moving time back', async () => {
    const clock = new VirtualClock(T);
    const fired: number[] = [];
    clock.setTimer(T - 5000, () => fired.push(clock.now()));
    assert.deepEqual(fired, [], 'setTimer never fires synchronously');
    await clock.advance(0);
    assert.deepEqual(fired, [T]);
    assert.equal(clock.now(), T);
  });

  it('a cleared timer never fires and is not pending; clearing twice is harmless', async () => {
    const clock = new VirtualClock(T);
    const fired: string[] = [];
    const keep = clock.setTimer(T + 10, () => fired.push('keep'));
    const drop = clock.setTimer(T + 5, () => fired.push('drop'));
    assert.equal(clock.pendingTimers, 2);
    drop.clear();
    drop.clear();
    assert.equal(clock.pendingTimers, 1);
    await clock.advance(10);
    assert.deepEqual(fired, ['keep']);
    keep.clear();
    assert.equal(clock.pendingTimers, 0);
  });

  it('a timer set by a firing timer fires in the same advance if it falls inside it, at its own instant', async () => {
    const clock = new VirtualClock(T);
    const fired: [string, number][] = [];
    clock.setTimer(T + 100, () => {
      fired.push(['first', clock.now()]);
      clock.setTimer(T + 150, () => fired.push(['chained', clock.now()]));
      clock.setTimer(T + 250, () => fired.push(['outside', clock.now()]));
    });
    clock.setTimer(T + 200, () => fired.push(['second', clock.now()]));
    await clock.advance(200);
    assert.deepEqual(fired, [
      ['first', T + 100],
      ['chained', T + 150],
      ['second', T + 200],
    ]);
  });

  it('the promise chain a timer starts settles before the next timer fires and before advance resolves', async () => {
    const clock = new VirtualClock(T);
    const log: string[] = [];
    clock.setTimer(T + 1, () => {
      void (async () => {
        await Promise.resolve();
        await new Promise<void>((resolve) => setImmediate(resolve));
        log.push(`one done at ${clock.now() - T}`);
      })();
    });
    clock.setTimer(T + 2, () => log.push(`two at ${clock.now() - T}`));
    await clock.advance(2);
    assert.deepEqual(log, ['one done at 1', 'two at 2']);
    clock.setTimer(T + 3, () => {
      void Promise.resolve().then(() => log.push('three settled'));
    });
    await clock.advance(1);
    assert.deepEqual(log.at(-1), 'three settled');
  });

  it('refuses to advance by a negative, infinite or non-number amount, and stays put', async () => {
    const clock = new VirtualClock(T);
    for (const bad of [-1, Number.NaN, Infinity, '5' as unknown as number]) {
      await assert.rejects(clock.advance(bad), (e: unknown) => e instanceof ValidationError && e.message === `Expected \`ms\` to be a finite number >= 0, got ${String(bad)}`);
    }
    assert.equal(clock.now(), T);
  });

  it('runAll follows timers while a probe reports pending work, and stops when none does', async () => {
    const clock = new VirtualClock(T);
    let left = 3;
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.now() - T);
      left--;
      clock.setTimer(clock.now() + 1000, tick);
    };
    clock.setTimer(T + 1000, tick);
    await clock.runAll();
    assert.deepEqual(fired, [], 'no probe: nothing is pending, nothing fires');
    const remove = clock.addPendingProbe(() => left > 0);
    await clock.runAll();
    assert.deepEqual(fired, [1000, 2000, 3000], 'stops once the probe reports no work, though a timer is still set');
    assert.equal(clock.now(), T + 3000);
    assert.equal(clock.pendingTimers, 1);
    left = 5;
    remove();
    await clock.runAll();
    assert.equal(clock.now(), T + 3000, 'a removed probe no longer counts');
  });

  it('runAll with pending work but no timer returns; maxSteps bounds it', async () => {
    const clock = new VirtualClock(T);
    clock.addPendingProbe(() => true);
    await clock.runAll();
    assert.equal(clock.now(), T);
    let fired = 0;
    const again = (): void => {
      fired++;
      clock.setTimer(clock.now() + 10, again);
    };
    clock.setTimer(T + 10, again);
    await clock.runAll(5);
    assert.equal(fired, 5);
    assert.equal(clock.now(), T + 50);
  });

  it('runAll fires a timer already due without moving time back', async () => {
    const clock = new VirtualClock(T);
    const fired: number[] = [];
    let pending = true;
    clock.addPendingProbe(() => pending);
    clock.setTimer(T - 100, () => {
      fired.push(clock.now());
      pending = false;
    });
    await clock.runAll();
    assert.deepEqual(fired, [T]);
  });

  it('set steps the wall both ways: step listeners hear the signed size first, then timers now due fire at the new time', async () => {
    const clock = new VirtualClock(T);
    const log: string[] = [];
    const off = clock.onStep((delta) => log.push(`step ${delta} at ${clock.now() - T}`));
    clock.setTimer(T + 5000, () => log.push(`timer at ${clock.now() - T}`));
    clock.setTimer(T + 9000, () => log.push(`later at ${clock.now() - T}`));
    await clock.set(T + 6000);
    assert.deepEqual(log, ['step 6000 at 6000', 'timer at 6000'], 'a timer passed over fires at the time set, not its own');
    await clock.set(new Date(T + 1000));
    assert.deepEqual(log.slice(2), ['step -5000 at 1000']);
    assert.equal(clock.now(), T + 1000);
    await clock.set(T + 1000);
    assert.equal(log.length, 3, 'setting the same time is no step');
    off();
    await clock.set(T + 9000);
    assert.deepEqual(log.slice(3), ['later at 9000'], 'an unsubscribed listener hears nothing');
  });
});
