/**
 * RedisStore's side of `job.progress()` / `job.log()`: one script that
 * writes a running job's `x` field (where progress and logs live, beside
 * the other JSON options, see codec.ts) while the attempt still owns the
 * job and its lease has not lapsed. Any process reading the job then sees
 * them (`get`, `list`).
 */
import { createHash } from 'node:crypto';
import { PRELUDE, SHEBANG } from './lua.js';
import type { Script } from './scripts.js';

const LUA = `${SHEBANG.mayGrow}
${PRELUDE}
guard()
local id, tk, x = ARGV[4], ARGV[5], ARGV[6]
local h = head(id, 8) -- through tk (HEAD in lua.ts)
if h == false then return finish({'BROKEN', typeOf(jk(id))}, true) end
if h and h.st == 'running' and h.tk == tk then
  local e = redis.call('ZSCORE', LEASES, id)
  if e and tonumber(e) > NOW then
    if x == '' then redis.call('HDEL', jk(id), 'x') else redis.call('HSET', jk(id), 'x', x) end
    return finish({'OK'}, true)
  end
end
return finish({'STALE'}, true)
`;

/** ARGV[4] = id, ARGV[5] = token, ARGV[6] = the new `x` ('' = none). Reply: {'OK'} | {'STALE'} | {'BROKEN', type}, summary. */
export const PROGRESS: Script = { name: 'progress', lua: LUA, sha: createHash('sha1').update(LUA).digest('hex') };
