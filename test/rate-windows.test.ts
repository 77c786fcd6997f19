// RateWindows and RateGate (src/store/rate-limits.ts), a local store's
// start-rate limits, driven directly: the claim's `retryAt` is the earliest
// instant any blocked name (or the store) may start again, a limit lowered
// below the starts in its window waits for enough of them to leave, long
// runs of starts keep their counts, a refund works for a name with no limit
// of its own, and names without a limit keep no log.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateWindows } from '../src/store/rate-limits.js';
import type { ClaimRequest, RateLimit } from '../src/store/store.js';

function request(now: number, limits: Record<string, RateLimit | undefined>, globalRateLimit?: RateLimit): ClaimRequest {
  const r: ClaimRequest = { now, limit: 100, capacity: () => 100, token: () => 't', rateLimit: (name) => limits[name] };
  if (globalRateLimit !== undefined) r.globalRateLimit = globalRateLimit;
  return r;
}

/** Starts as many jobs of `name` as the gate allows at `now`, up to `want`: how many started, and the gate. */
function start(windows: RateWindows, now: number, name: string, want: number, limits: Record<string, RateLimit | undefined>, global?: RateLimit) {
  const gate = windows.gate(request(now, limits, global));
  let started = 0;
  while (started < want && gate.allow(name)) {
    gate.took(name);
    started++;
  }
  return { started, gate };
}

test('retryAt is the earliest instant any blocked name may start again, whatever the order they were seen in', () => {
  for (const order of [
    ['slow', 'fast', 'pushed'],
    ['pushed', 'fast', 'slow'],
    ['fast', 'pushed', 'slow'],
  ]) {
    const windows = new RateWindows();
    const limits = { slow: { max: 1, durationMs: 10_000 }, fast: { max: 1, durationMs: 1_000 } };
    assert.equal(start(windows, 0, 'slow', 1, limits).started, 1);
    assert.equal(start(windows, 100, 'fast', 1, limits).started, 1);
    windows.pushBack('pushed', 5_000);
    const gate = windows.gate(request(200, limits));
    for (const name of order) assert.equal(gate.allow(name), false, `${name} is blocked`);
    assert.equal(gate.retryAt, 1_100, `seen in the order ${order.join(', ')}: fast frees first`);
  }
});

test('a limit lowered below the starts in its window waits until enough of them left', () => {
  const windows = new RateWindows();
  const three = { api: { max: 3, durationMs: 1_000 } };
  const one = { api: { max: 1, durationMs: 1_000 } };
  for (const at of [0, 100, 200]) assert.equal(start(windows, at, 'api', 1, three).started, 1);
  // Three starts in the window and room for one now: all three must leave, the last at 200 + 1000.
  const { started, gate } = start(windows, 300, 'api', 1, one);
  assert.equal(started, 0);
  assert.equal(gate.retryAt, 1_200);
  assert.equal(start(windows, 1_199, 'api', 1, one).started, 0);
  assert.equal(start(windows, 1_200, 'api', 1, one).started, 1);
});

test('a window counts right through long runs of starts (its log drops what left, now and then)', () => {
  const windows = new RateWindows();
  const limits = { api: { max: 10, durationMs: 100 } };
  // 10 starts every 100 ms for 50 windows: each window has room for exactly 10, never 11.
  for (let w = 0; w < 50; w++) {
    const now = w * 100;
    const { started, gate } = start(windows, now, 'api', 11, limits);
    assert.equal(started, 10, `window ${w}`);
    assert.equal(gate.retryAt, now + 100);
  }
  // Half a window later: still full.
  assert.equal(start(windows, 4_950, 'api', 1, limits).started, 0);
});

test('a refund frees the store-wide window for a name with no limit of its own', () => {
  const windows = new RateWindows();
  const global = { max: 1, durationMs: 1_000 };
  assert.equal(start(windows, 0, 'free', 1, {}, global).started, 1);
  assert.equal(start(windows, 1, 'free', 1, {}, global).started, 0, 'the store-wide limit is reached');
  windows.refund('free');
  assert.equal(start(windows, 2, 'free', 1, {}, global).started, 1, 'the refunded start left the window');
});

test('names without a limit, and a store without a store-wide one, keep no log of their starts', () => {
  const windows = new RateWindows();
  for (let k = 0; k < 1_000; k++) assert.equal(start(windows, k, 'free', 1, { other: { max: 1, durationMs: 10 } }).started, 1);
  assert.equal(windows.log('free').count(1_000, 1e12), 0, 'no start of an unlimited name is kept');
  assert.equal(windows.global.count(1_000, 1e12), 0, 'no start is kept for a store-wide limit that is not set');
});
