/**
 * SystemClock, driven directly (issue 19 #4): it never fires before
 * Date.now() reaches the due time (Node's setTimeout may wake early), it
 * re-checks the wall clock after every capped slice, and it follows wall
 * jumps both ways. setTimeout is mocked; Date.now is a hand-driven wall.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_WAIT_SLICE, SystemClock } from '../src/clock.js';

const T = Date.UTC(2027, 0, 1);

/** A wall clock we move by hand, and mocked timers we tick by hand. */
function drive(t: TestContext): { wall: { offset: number }; tick(ms: number): void } {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let elapsed = 0;
  const wall = { offset: 0 };
  t.mock.method(Date, 'now', () => T + elapsed + wall.offset);
  return {
    wall,
    tick(ms: number): void {
      // One ms at a time past each timer boundary is not needed: mock.timers fires everything due within ms.
      elapsed += ms;
      t.mock.timers.tick(ms);
    },
  };
}

describe('SystemClock', () => {
  it('fires at its instant, not a millisecond before', (t) => {
    const { tick } = drive(t);
    const clock = new SystemClock();
    const fired: number[] = [];
    clock.setTimer(T + 1000, () => fired.push(Date.now()));
    tick(999);
    assert.deepEqual(fired, []);
    tick(1);
    assert.deepEqual(fired, [T + 1000]);
  });

  it('a wake-up that comes early (the wall reads 1 ms short) waits again instead of firing', (t) => {
    const { wall, tick } = drive(t);
    const clock = new SystemClock();
    const fired: number[] = [];
    clock.setTimer(T + 1000, () => fired.push(Date.now()));
    wall.offset = -1; // setTimeout woke up while Date.now() is still 1 ms before the due time
    tick(1000);
    assert.deepEqual(fired, [], 'not fired early');
    tick(1);
    assert.deepEqual(fired, [T + 1000]);
  });

  it(`waits in slices of at most ${MAX_WAIT_SLICE} ms and re-reads the wall after each one (a forward jump fires at the next slice)`, (t) => {
    const { wall, tick } = drive(t);
    const clock = new SystemClock();
    const fired: number[] = [];
    clock.setTimer(T + 10 * 60_000, () => fired.push(Date.now()));
    tick(MAX_WAIT_SLICE - 1);
    wall.offset = 10 * 60_000; // the wall jumps 10 min forward: the job is now overdue
    assert.deepEqual(fired, []);
    tick(1); // the first slice ends: the clock re-reads the wall and fires
    assert.deepEqual(fired, [T + 10 * 60_000 + MAX_WAIT_SLICE]);
  });

  it('a long wait is re-checked slice by slice and fires exactly at its instant', (t) => {
    const { tick } = drive(t);
    const clock = new SystemClock();
    const fired: number[] = [];
    const at = T + 3 * MAX_WAIT_SLICE + 1234;
    clock.setTimer(at, () => fired.push(Date.now()));
    for (let i = 0; i < 3; i++) {
      tick(MAX_WAIT_SLICE);
      assert.deepEqual(fired, [], `slice ${i + 1}`);
    }
    tick(1233);
    assert.deepEqual(fired, []);
    tick(1);
    assert.deepEqual(fired, [at]);
  });

  it('a backward jump of the wall delays the timer to the same wall instant (wall time)', (t) => {
    const { wall, tick } = drive(t);
    const clock = new SystemClock();
    const fired: number[] = [];
    clock.setTimer(T + 60_000, () => fired.push(Date.now()));
    tick(20_000);
    wall.offset = -3_600_000;
    tick(40_000 + MAX_WAIT_SLICE);
    assert.deepEqual(fired, [], 'the wall reads 1 h less: not due');
    tick(3_600_000);
    assert.equal(fired.length, 1);
    assert.ok(fired[0] !== undefined && fired[0] >= T + 60_000);
  });

  it('clear() before it fires cancels it, even mid-slice', (t) => {
    const { tick } = drive(t);
    const clock = new SystemClock();
    const fired: number[] = [];
    const timer = clock.setTimer(T + 2 * MAX_WAIT_SLICE, () => fired.push(Date.now()));
    tick(MAX_WAIT_SLICE + 10);
    timer.clear();
    tick(10 * MAX_WAIT_SLICE);
    assert.deepEqual(fired, []);
  });

  it('onStep: a wall jump of at least 1 s is reported with its size, both ways; drift below that and plain elapsed time are not', (t) => {
    const { wall, tick } = drive(t);
    let mono = 0;
    // The monotonic clock moves with elapsed time only, never with the wall.
    t.mock.method(performance, 'now', () => mono);
    const move = (ms: number): void => {
      mono += ms;
      tick(ms);
    };
    const clock = new SystemClock();
    const steps: number[] = [];
    const off = clock.onStep((delta) => steps.push(delta));
    move(5 * MAX_WAIT_SLICE);
    clock.checkStep();
    assert.deepEqual(steps, [], 'elapsed time is no step');
    wall.offset += 999;
    clock.checkStep();
    assert.deepEqual(steps, [], 'drift below 1 s is absorbed');
    wall.offset += 2;
    clock.checkStep();
    assert.deepEqual(steps, [], 'absorbed drift is the new normal: only the change since the last check counts');
    wall.offset += 1000;
    clock.checkStep();
    assert.deepEqual(steps, [1000]);
    wall.offset -= 3_600_000;
    clock.checkStep();
    assert.deepEqual(steps, [1000, -3_600_000]);
    // A timer's wake-up looks for steps itself.
    const fired: number[] = [];
    clock.setTimer(Date.now() + 10 * MAX_WAIT_SLICE, () => fired.push(Date.now()));
    move(MAX_WAIT_SLICE);
    wall.offset += 60_000;
    move(MAX_WAIT_SLICE);
    assert.deepEqual(steps, [1000, -3_600_000, 60_000], 'found at the next slice');
    off();
    wall.offset += 60_000;
    clock.checkStep();
    assert.equal(steps.length, 3, 'an unsubscribed listener hears nothing');
  });

  it('a step listener that clears the timer at its wake-up (re-basing it) stops it from firing', (t) => {
    const { wall, tick } = drive(t);
    let mono = 0;
    t.mock.method(performance, 'now', () => mono);
    const clock = new SystemClock();
    const fired: number[] = [];
    const timer = clock.setTimer(T + 2 * MAX_WAIT_SLICE, () => fired.push(Date.now()));
    const steps: number[] = [];
    clock.onStep((delta) => {
      steps.push(delta);
      timer.clear();
    });
    mono += MAX_WAIT_SLICE - 1;
    tick(MAX_WAIT_SLICE - 1);
    wall.offset += 3_600_000; // the wall jumps past the due time
    mono += 1;
    tick(1);
    assert.deepEqual(steps, [3_600_000], 'the wake-up found the step');
    tick(10 * MAX_WAIT_SLICE);
    assert.deepEqual(fired, [], 'cleared by the listener before the timer decided it was due');
  });

  it('a timer already due fires on the next turn of the loop (setImmediate), not a 1 ms setTimeout later', async () => {
    const clock = new SystemClock();
    const order: string[] = [];
    // From a timer callback, the loop's check phase (immediates) comes before its next timers phase:
    // a timer already due must fire there, ahead of an immediate queued after it.
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        clock.setTimer(Date.now(), () => order.push('due timer'));
        setImmediate(() => order.push('immediate queued after it'));
        setTimeout(resolve, 20);
      }, 0),
    );
    assert.deepEqual(order, ['due timer', 'immediate queued after it']);
  });

  it('at most one due timer a millisecond takes the next turn; the rest wait a 1 ms setTimeout (no spin)', async (t) => {
    const now = Date.now();
    t.mock.method(Date, 'now', () => now);
    const clock = new SystemClock();
    const order: string[] = [];
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        clock.setTimer(now, () => order.push('first'));
        clock.setTimer(now, () => order.push('second, same ms'));
        setImmediate(() => order.push('immediate'));
        setTimeout(resolve, 20);
      }, 0),
    );
    assert.deepEqual(order, ['first', 'immediate', 'second, same ms']);
  });

  it('clear() of a due timer before its turn cancels it', async () => {
    const clock = new SystemClock();
    let fired = false;
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;
    clock.setTimer(Date.now(), () => (fired = true)).clear();
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length, before, 'its immediate is cleared, not left to run');
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
    assert.equal(fired, false);
  });

  it('hold() waits with a valid delay: Node raises no TimeoutOverflowWarning', async () => {
    const warnings: string[] = [];
    // Only this kind: the mocked timers of the tests above raise an ExperimentalWarning.
    const onWarning = (w: Error): void => void (w.name === 'TimeoutOverflowWarning' && warnings.push(w.message));
    process.on('warning', onWarning);
    try {
      const release = new SystemClock().hold();
      await new Promise<void>((resolve) => setImmediate(resolve));
      release();
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  it('hold() keeps a ref\'d handle until released', () => {
    const clock = new SystemClock();
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const release = clock.hold();
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, before + 1);
    release();
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, before);
  });
});
