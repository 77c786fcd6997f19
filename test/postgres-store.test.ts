/**
 * PostgresStore against a real PostgreSQL server (started here on a free
 * port): the shared Store conformance suite, then what only this store has.
 */
import { describe } from 'node:test';
import { PostgresStore } from '../src/postgres.js';
import { storeConformance } from './store-conformance.js';
import { dropSchema, postgresSkip, usePostgresServer } from './postgres-server.js';
import { newSchema } from './fixtures/postgres-helpers.js';

describe('PostgresStore', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  storeConformance('PostgresStore', () => {
    const schema = newSchema('conf');
    const make = (): PostgresStore => new PostgresStore({ connectionString: server.url, schema });
    return Promise.resolve({
      store: make(),
      reopen: () => Promise.resolve(make()),
      cleanup: () => dropSchema(server.url, schema),
    });
  });
});
