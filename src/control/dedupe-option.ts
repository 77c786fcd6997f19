/**
 * `options.dedupe` at the public boundary: validates it into the store's
 * DedupeRequest. The window rules live in the stores (store/dedupe.ts for
 * the local stores, the INSERT script for Redis).
 */
import { ValidationError } from '../errors.js';
import type { DedupeRequest } from '../store/store.js';
import { checkOptionsObject, checkPositiveInt, show } from '../validate.js';

/** Longest window: beyond a thousand years a window is not a window (and Redis's PX stays far from overflow). */
const MAX_TTL_MS = 1000 * 365 * 86_400_000;
const KEYS = new Set(['key', 'ttlMs', 'mode']);

/** `{ key, ttlMs, mode? }` → the store's request (mode defaults to 'throttle'). */
export function dedupeRequest(value: unknown, where: string): DedupeRequest {
  const what = `${where}options.dedupe`;
  const o = checkOptionsObject(value, what);
  if (!o) throw new ValidationError(`Expected \`${what}\` to be { key, ttlMs, mode? }, got undefined`);
  for (const key of Object.keys(o)) {
    if (!KEYS.has(key)) throw new ValidationError(`Unknown option \`${what}.${key}\` (expected one of key, ttlMs, mode)`);
  }
  if (typeof o.key !== 'string' || o.key.length === 0 || o.key.length > 256) {
    throw new ValidationError(`Expected \`${what}.key\` to be a non-empty string of at most 256 characters, got ${show(o.key)}`);
  }
  const ttlMs = checkPositiveInt(o.ttlMs, `${what}.ttlMs`);
  if (ttlMs > MAX_TTL_MS) throw new ValidationError(`Expected \`${what}.ttlMs\` to be an integer from 1 to ${MAX_TTL_MS}, got ${show(ttlMs)}`);
  const mode = o.mode ?? 'throttle';
  if (mode !== 'throttle' && mode !== 'debounce') {
    throw new ValidationError(`Expected \`${what}.mode\` to be 'throttle' or 'debounce', got ${show(o.mode)}`);
  }
  return { key: o.key, ttlMs, mode };
}

/** scheduleMany: two items may not share a window (their order inside one write would decide silently). */
export function checkDistinctWindows(items: readonly { record: { name: string }; dedupe?: DedupeRequest }[]): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    if (item.dedupe === undefined) return;
    const scope = JSON.stringify([item.record.name, item.dedupe.key]);
    const first = seen.get(scope);
    if (first !== undefined) {
      throw new ValidationError(
        `Expected \`items[${i}].options.dedupe.key\` to differ from that of items[${first}] with the same name (one window per call), got ${show(item.dedupe.key)} twice`,
      );
    }
    seen.set(scope, i);
  });
}
