/**
 * What a RedisStore Lua script is (name, text, SHA-1 for EVALSHA) and how one
 * is built: shebang (lua.ts, SHEBANG), prelude, body. The scripts themselves
 * are in scripts.ts (and, for the two largest, insert-script.ts and
 * claim-script.ts); their key layout is described at the top of scripts.ts.
 */
import { createHash } from 'node:crypto';
import { PRELUDE } from './lua.js';

/** A script and its SHA-1 for EVALSHA. */
export interface Script {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

/** Builds a script: its shebang, prelude and body, and the SHA-1 of that text. */
export function script(name: string, shebang: string, body: string, prelude = PRELUDE): Script {
  const lua = `${shebang}\n${prelude}\n${body}`;
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}
