import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../src/store/memory.js';
import type { InsertRequest, JobRecord } from '../src/store/store.js';
import { CT0, claimAll, newRecord, storeConformance, storeContext } from './store-conformance.js';

storeConformance('MemoryStore', () => Promise.resolve({ store: new MemoryStore(), cleanup: () => Promise.resolve() }));
// Plain scheduled jobs held as bytes (packed-jobs.ts): every answer the same.
storeConformance('MemoryStore (packed)', () => Promise.resolve({ store: new MemoryStore({ packed: true }), cleanup: () => Promise.resolve() }));

describe('the local stores’ features', () => {
  test('MemoryStore (and every LocalStore) offers groups, rate limits, pause everywhere, dedupe and removal', () => {
    // The scheduler refuses an option whose feature the store lacks: a feature dropped here would refuse it.
    assert.deepEqual(new MemoryStore().features, { groups: true, rateLimits: true, pauseEverywhere: true, dedupe: true, removal: true });
  });
});

describe('MemoryStore: the synchronous forms', () => {
  test('insertSync and settleSync apply before they return, and mean what insert and settle mean', async () => {
    const store = new MemoryStore();
    await store.open(storeContext());
    const insertSync = store.insertSync;
    const settleSync = store.settleSync;
    assert.ok(insertSync && settleSync);
    const [inserted] = insertSync.call(store, [{ record: newRecord('a'), onDuplicate: 'reject' }]);
    assert.equal(inserted?.outcome, 'inserted');
    assert.equal((await store.get('a'))?.state, 'scheduled');
    const [running] = (await store.claim(claimAll(CT0, { token: () => 'tok' }))).jobs;
    assert.ok(running);
    const done: JobRecord = { ...running, state: 'completed', finishedAt: CT0 };
    assert.equal(settleSync.call(store, 'a', 'wrong', done), false);
    assert.equal(settleSync.call(store, 'a', 'tok', done), true);
    const after = await store.get('a');
    assert.equal(after?.state, 'completed');
    assert.equal(after?.token, undefined);
  });

  test('a subclass (or a test) that wraps insert or settle is obeyed: the synchronous form is not offered', () => {
    const calls: string[] = [];
    class Wrapped extends MemoryStore {
      override insert(requests: readonly InsertRequest[]): ReturnType<MemoryStore['insert']> {
        calls.push('insert');
        return super.insert(requests);
      }
    }
    class WrappedSettle extends MemoryStore {
      override settle(id: string, token: string, next: JobRecord): Promise<boolean> {
        calls.push('settle');
        return super.settle(id, token, next);
      }
    }
    assert.equal(new Wrapped().insertSync, undefined);
    assert.notEqual(new Wrapped().settleSync, undefined);
    assert.equal(new WrappedSettle().settleSync, undefined);
    assert.notEqual(new WrappedSettle().insertSync, undefined);
    const patched = new MemoryStore();
    patched.insert = (requests) => MemoryStore.prototype.insert.call(patched, requests);
    assert.equal(patched.insertSync, undefined);
    assert.deepEqual(calls, []);
  });
});
