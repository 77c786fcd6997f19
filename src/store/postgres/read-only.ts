/**
 * PostgresStore opened `readOnly`: the checks and the one statement it runs
 * at open. Nothing here writes: no migration (a missing or older schema is
 * refused, not created), no NOTIFY, no lease recovery; the summary the
 * synchronous caches need is read with plain SELECTs.
 */
import { StorePersistError } from '../../errors.js';
import type { Database } from './connection.js';
import { appliedVersion, ident, latestVersion } from './schema.js';

/** The summary every function returns (see functions.ts `finish`), read without writing. */
export function summarySql(schema: string): string {
  const S = ident(schema);
  return `SELECT json_build_array(${S}.now_ms(), ${S}.due_min(), ${S}.lease_min(), ${S}.ready_names(), c.s, c.r, c.c, c.d, c.x, c.rc) AS s
FROM (SELECT coalesce(sum(scheduled), 0) AS s, coalesce(sum(running), 0) AS r, coalesce(sum(completed), 0) AS c,
  coalesce(sum(dead), 0) AS d, coalesce(sum(cancelled), 0) AS x, coalesce(sum(recurring), 0) AS rc FROM ${S}.counts) c`;
}

/** Refuses a schema this code cannot read as it is: missing, older (not migrated) or newer. */
export async function checkReadable(db: Database, schema: string): Promise<void> {
  const version = await db.run('open (check the schema)', (client) => appliedVersion(client, schema));
  const latest = latestVersion(schema);
  if (version === latest) return;
  if (version === 0) throw new StorePersistError(`Expected a godelayq schema "${schema}" at ${db.address}, got none (no "${schema}".migrations table); a read-only store creates nothing`);
  if (version < latest) {
    throw new StorePersistError(`Expected schema "${schema}" at version ${latest}, got version ${version}: open it once for writing (an app on this godelayq version) to migrate it; a read-only store changes nothing`);
  }
  throw new StorePersistError(`Expected schema "${schema}" at version ${latest} or older, got version ${version} (written by a newer godelayq): upgrade godelayq, or use another schema`);
}
