/** A simulation Model for the model's own tests (sim-model-*.test.ts): concurrency 10, maxRetries 0, MAIN's expectations. */
import { MAIN } from './sim/known.js';
import { Model } from './sim/model.js';

/** `shared`: a store several processes share (no single view of time or call order). */
export function testModel(shared = false): Model {
  return new Model({
    concurrency: 10,
    handlerConcurrency: () => Infinity,
    policy: () => ({ maxRetries: 0, backoff: { type: 'fixed', delay: 0 } }),
    timeout: () => undefined,
    keepSmall: false,
    expect: MAIN,
    ...(shared ? { timeChecks: false, callOrder: false } : {}),
  });
}
