/**
 * PostgresStore against the plain model of what was acknowledged (the
 * harness and the model: store-model.ts), on a real PostgreSQL.
 */
import { describe, it } from 'node:test';
import { PostgresStore } from '../src/postgres.js';
import { dropSchema, postgresSkip, usePostgresServer } from './postgres-server.js';
import { newSchema } from './fixtures/postgres-helpers.js';
import { runModel } from './store-model.js';

describe('Store model: PostgresStore', { skip: postgresSkip }, () => {
  const server = usePostgresServer();
  it('agrees with the model over random command sequences', async () => {
    await runModel(
      () => {
        const schema = newSchema('model');
        return Promise.resolve({
          store: new PostgresStore({ connectionString: server.url, schema }),
          claimed: new Map(),
          cleanup: () => dropSchema(server.url, schema),
        });
      },
      false,
      15,
      // The database judges due-ness by its own clock: the due band must be in the real past.
      () => Date.now(),
    );
  });
});
