/**
 * Shared by the job-control conformance files: runs a case on an opened
 * store that has a feature, or skips it where the store does not.
 */
import type { Store, StoreContext, StoreFeatures } from '../src/store/store.js';
import { storeContext, type StoreFixture } from './store-conformance.js';

/** A fresh fixture whose store has `feature`; undefined (the case skipped, the fixture cleaned up) when it has not. */
export async function featureFixture(
  t: { skip(message?: string): void },
  name: string,
  makeStore: () => Promise<StoreFixture>,
  feature: keyof StoreFeatures,
): Promise<StoreFixture | undefined> {
  const fixture = await makeStore();
  if (fixture.store.features?.[feature] === true) return fixture;
  await fixture.cleanup();
  t.skip(`${name} does not support ${feature}`);
  return undefined;
}

/** Opens a fresh store, runs `fn`, closes and cleans up whatever happens; skips stores without `feature`. */
export async function withFeature(
  t: { skip(message?: string): void },
  name: string,
  makeStore: () => Promise<StoreFixture>,
  feature: keyof StoreFeatures,
  fn: (store: Store, fixture: StoreFixture) => Promise<void>,
  context: Partial<StoreContext> = {},
): Promise<void> {
  const fixture = await featureFixture(t, name, makeStore, feature);
  if (fixture === undefined) return;
  let closed = false;
  try {
    await fixture.store.open(storeContext(context));
    await fn(fixture.store, fixture);
    await fixture.store.close();
    closed = true;
  } finally {
    // A failed case must still close the store: an open Redis client would keep the file from exiting.
    if (!closed) await fixture.store.close().catch(() => undefined);
    await fixture.cleanup();
  }
}
