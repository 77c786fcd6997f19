/**
 * godelayq/redis: the Redis store, on its own subpath so the main entry never
 * imports ioredis (an optional peer dependency). Every export is named.
 */
export { RedisStore } from './store/redis/redis-store.js';
export type { RedisStoreOptions } from './store/redis/redis-store.js';
