/**
 * A restart after a downtime in which most jobs came due. Found 5 December
 * 2026: the first claim moved every due job into the ready queues (to pick
 * them in priority order) in one synchronous step, parsing each job the open
 * had left as bytes: 2e5 overdue jobs blocked the event loop ~1 s
 * (.tmp/promote-block.ts, untracked). Now the open moves them, a turn of the
 * event loop at a time, before anything is claimed.
 *
 * No timing: the test counts JSON.parse calls per turn of the event loop
 * during the open and the first claim. Before the fix all of them came in the
 * claim's one turn.
 */
import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, it } from 'node:test';
import { setStepTurnForTests } from '../src/store/local.js';
import type { JobRecord } from '../src/store/store.js';
import { countPerTurn } from './helpers.js';
import { CT0, newRecord, openStore, removeTempDirs, tempDir } from './json-file-helpers.js';
import { claimAll } from './store-conformance.js';

after(removeTempDirs);

const TURN = 500;
let restoreTurn: () => void = () => undefined;
beforeEach(() => {
  restoreTurn = setStepTurnForTests(TURN);
});
afterEach(() => restoreTurn());

const options = { snapshotEvery: { changes: 1e9, bytes: 2 ** 40 }, fsync: false } as const;

it('JsonFileStore reopened with 3,000 jobs overdue: they are readied over many turns at the open, and the first claim still takes them in priority, then due-time order', async () => {
  const n = 3000;
  const dir = await tempDir('godelayq-backlog-', true);
  let { store } = await openStore(dir, options);
  const requests = [];
  // Overdue when the store reopens (the storeContext's clock reads CT0): plain jobs, left as bytes by the open.
  for (let k = 0; k < n; k++) requests.push({ record: newRecord(`due-${k}`, { runAt: CT0 - 60_000 + k }), onDuplicate: 'reject' as const });
  for (let k = 0; k < n; k++) requests.push({ record: newRecord(`later-${k}`, { runAt: CT0 + 60_000 + k }), onDuplicate: 'reject' as const });
  // Due last of all, but first by priority: a claim must see the whole backlog before it picks.
  requests.push({ record: newRecord('urgent', { runAt: CT0 - 1, priority: 5 }), onDuplicate: 'reject' as const });
  await store.insert(requests);
  await store.snapshot();
  await store.close();

  const parse = JSON.parse;
  let claimed: JobRecord[] = [];
  const { most, total } = await countPerTurn(async (count) => {
    JSON.parse = (...args: Parameters<typeof JSON.parse>): unknown => {
      count();
      return parse(...args) as unknown;
    };
    try {
      ({ store } = await openStore(dir, options));
      claimed = (await store.claim(claimAll(CT0, { limit: 4 }))).jobs;
    } finally {
      JSON.parse = parse;
    }
  });
  assert.ok(total >= n, `expected each overdue job parsed once (${n}), got ${total} parses`);
  assert.ok(most <= TURN + 50, `expected the ${n} overdue jobs readied over many turns, got ${most} parses in one turn`);
  assert.deepEqual(
    claimed.map((j) => j.id),
    ['urgent', 'due-0', 'due-1', 'due-2'],
  );
  await store.close();
});
