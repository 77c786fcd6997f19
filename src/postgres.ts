/**
 * godelayq/postgres: the PostgreSQL store, on its own subpath so the main
 * entry never imports `pg` (an optional peer dependency). Every export is named.
 */
export { PostgresStore } from './store/postgres/postgres-store.js';
export type { PostgresStoreOptions } from './store/postgres/postgres-store.js';
