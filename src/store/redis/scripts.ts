/**
 * The Lua scripts RedisStore runs (the two largest, INSERT and CLAIM, have
 * their own files, insert-script.ts and claim-script.ts; Script and its
 * builder are in script.ts). Every state change is one script, so it is
 * atomic on the server and sees one consistent job set. Leases start and end
 * on the server's clock (`TIME` inside the script); what is due is decided by
 * the caller's `now` (a scheduler passes the server's time, see Store.now).
 * Every reply carries the server's time, from which clients estimate it.
 *
 * Keys (layout 2, see keys.ts; P = `<prefix>:`; `<sc>` = 8-symbol sortable
 * code of the job's seq, so members of equal score keep insertion order):
 * - `P:j=<id>`       hash: the record. JSON the client wrote is never decoded
 *                    here (Lua's cjson would round numbers and turn `[]` into
 *                    `{}`): pl (payload), x (retry, timeout, lastError, recur;
 *                    absent when none), res (result). Beside them the fields
 *                    scripts read or change: nm (name), st (state; absent =
 *                    scheduled), at (runAt), att (attempt; absent = 0), pr
 *                    (priority; absent = 0), seq, ca (createdAt), fin
 *                    (finishedAt), tk (token of the running attempt), lo
 *                    (lost: 'lease' | 'crash'), rl ('1' = relative), sig and rec
 *                    (schedules), lt (token of the last settled attempt, so a
 *                    settle sent twice is answered OK twice).
 * - `P:due`          zset runAt → `<sc><id>`: scheduled jobs not yet promoted.
 * - `P:r=<name>`     zset −priority → `<16-digit floor(runAt)><sc><id>`: due jobs
 *                    of one name, best first (priority, then runAt, then seq).
 * - `P:readyn`       set of names whose ready zset is not empty.
 * - `P:g=<group>`    zset like `P:r=<name>`: due jobs of one group (lua.ts
 *                    names the group keys `readyg`, `gfree`, `grun`, `gturn`, `glive`).
 * - `P:h=<name>`     zset −priority → `<sc(turn)><16-digit floor(runAt)><sc><group>`:
 *                    the head of each free group whose next job is of that
 *                    name, best first; `P:ghm` maps each group to its entry,
 *                    `P:ghn` holds the names with entries. CLAIM reads the
 *                    first entry of each name, not every group (lua.ts gindex).
 * - `P:leases`       zset lease expiry (server ms) → id: running jobs.
 * - `P:done`         zset finish order → id: completed + cancelled (retention).
 * - `P:dead`         zset finish order → id: dead (retention).
 * - `P:counts`       hash: jobs per state, `recurring`, and the counters `seq`, `fseq`.
 * - `P:version`      the layout version (LAYOUT_VERSION).
 * - channel `P:wake` the new earliest runAt when a script makes a job due
 *                    earlier than every job in `P:due`, and `L<expiry>` when a
 *                    claim creates the earliest lease.
 * - channel `P:lost` `<reason>\n<token>\n<id>` when a running attempt is
 *                    cancelled, replaced or loses its lease, for its process.
 * - `P:pause`        hash: `v` (version) and `on` ('1' while paused everywhere);
 *                    CLAIM claims nothing while `on` is set (pause.ts). Its
 *                    changes go out on `P:wake` as `P<v>,<0|1>,<store id>`.
 * - channel `P:events` events for other processes (remote-events.ts); `P:wake`
 *                    also carries `E…` (a process listens) and `Q` (who listens?).
 *
 * Every writing script takes KEYS[1] = `P:due` (P is derived from it, and a
 * hash-tagged prefix keeps every key in one cluster slot) and ARGV[1..3] =
 * keepCompleted, keepDead, leaseMs; its own arguments follow. Its reply ends
 * with a summary (server time, earliest due, earliest lease expiry, ready
 * names, counts, broken job keys) from which the client refreshes its
 * synchronous caches. Numbers go back as `%.17g` strings: Lua's tostring keeps
 * only 14 digits. Scripts that create or start work are refused by Redis up
 * front when it is out of memory; those that finish or give work back are
 * not (lua.ts, SHEBANG), so a job is never claimed when its outcome could not
 * be recorded.
 */
import { FETCH_ONE, KEY_HELPERS, SHEBANG } from './lua.js';
import { CLAIM } from './claim-script.js';
import { INSERT } from './insert-script.js';
import { LIST_ATOMIC } from './list-script.js';
import { script, type Script } from './script.js';

export type { Script } from './script.js';
export { CLAIM } from './claim-script.js';
export { INSERT } from './insert-script.js';

/**
 * Per-job retention in SETTLE (JobRecord.removal). Each item carries, after
 * its value count, `<c|d>|<finishedAt>|<at>|<count>` for a completed or dead
 * outcome ('' otherwise; '' parts = absent). `P:rexp` zset at → `<c|d><fseq>|<id>`:
 * pending expiries, swept by every finishing settle (an entry counts only
 * while the job's retention score is still that fseq: a revived and finished
 * again job is another finish). `P:rc=<c|d><name>` zset fseq → id: the
 * finished jobs of a name and state that have a count. Counters `rmx`, `rml`
 * (entries in them) keep a store that uses none of it from any extra command.
 */
const RETIRE = String.raw`
-- Removes what per-job retention says is due now that job id finished (nh: its new head fields).
retire = function(id, nh, rmv)
  local st, fin, at, keep = string.match(rmv, '^([cd])|([^|]*)|([^|]*)|([^|]*)$')
  fin, at, keep = tonumber(fin), tonumber(at), tonumber(keep)
  if not fin then return end
  local z = st == 'd' and DEAD or DONE
  if at and at <= fin then
    drop(id, z)
  else
    local fseq = redis.call('ZSCORE', z, id)
    if at and fseq then
      redis.call('ZADD', REXP, at, st .. fseq .. '|' .. id)
      bump('rmx', 1)
    end
    if keep and fseq then
      local lk = rckey(st, nh.nm)
      redis.call('ZADD', lk, fseq, id)
      bump('rml', 1)
      -- Bounded as trim is (TRIM_MAX): a lowered count is worked off a share a script.
      local over = math.min(redis.call('ZCARD', lk) - keep, TRIM_MAX)
      if over > 0 then
        for _, old in ipairs(redis.call('ZRANGE', lk, 0, over - 1)) do
          drop(old, z)
          if redis.call('ZREM', lk, old) == 1 then bump('rml', -1) end
        end
      end
    end
  end
  if count('rmx') > 0 then
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', REXP, '-inf', fin, 'LIMIT', 0, 100)) do
      redis.call('ZREM', REXP, m)
      bump('rmx', -1)
      local k, fs, oid = string.match(m, '^([cd])([^|]*)|(.*)$')
      if oid then
        local oz = k == 'd' and DEAD or DONE
        if redis.call('ZSCORE', oz, oid) == fs then drop(oid, oz) end
      end
    end
  end
end
`;

export const SETTLE = script(
  'settle',
  SHEBANG.finishes,
  String.raw`
local retire
${RETIRE}
guard()
local n = tonumber(ARGV[4])
local out = {}
-- Per-job retention keys, checked before the first write: the expiry zset, and each count list named.
local i = 5
local removing = count('rmx') > 0
for r = 1, n do
  local rmv, cnt = ARGV[i + 6], tonumber(ARGV[i + 5])
  if rmv ~= '' then
    local st, _, at, keep = string.match(rmv, '^([cd])|([^|]*)|([^|]*)|([^|]*)$')
    if at ~= '' then removing = true end
    if keep ~= '' then
      local hh = head(ARGV[i], 1)
      if hh then expect(rckey(st, hh.nm), 'zset') end
    end
  end
  i = i + 7 + cnt
end
if removing then expect(REXP, 'zset') end
expect(GONE, 'zset')
i = 5
for r = 1, n do
  local id, tk, seq, retry, mode, cnt, rmv = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], tonumber(ARGV[i + 5]), ARGV[i + 6]
  local v = i + 7
  i = v + cnt
  local h = head(id, 9)
  if h == false then
    out[#out + 1] = {'BROKEN', typeOf(jk(id))}
  elseif h and h.st == 'running' and h.tk == tk then
    local e = redis.call('ZSCORE', LEASES, id)
    if e and tonumber(e) > NOW then
      unindex(id, h)
      -- Same seq: the job keeps its place among equals.
      local nh
      if mode == 'F' then nh = put(id, v, h.seq, false, tk) else nh = patch(id, v, cnt, h, tk) end
      index(id, nh)
      settledHere[id] = tk
      if rmv ~= '' then retire(id, nh, rmv) end
      out[#out + 1] = {'OK'}
    else
      recover(id, h, 'lease', false)
      out[#out + 1] = {'STALE', 'lease'}
    end
  elseif retry == '1' and ((h and h.lt == tk) or redis.call('ZSCORE', GONE, tk)) then
    -- A retry of a settle that landed: its job kept that token, or retention removed the job.
    out[#out + 1] = {'OK'}
  else
    out[#out + 1] = {'STALE', reason(h, seq)}
  end
end
return finish({'OK', out})
`,
);

/** ARGV[4] = id, ARGV[5] = finishedAt. Reply: {'OK', hash, previous state} or {'NONE'}. */
export const CANCEL = script(
  'cancel',
  SHEBANG.finishes,
  String.raw`
guard()
local id = ARGV[4]
local h = mustHash(id, head(id))
if not h or (h.st ~= 'scheduled' and h.st ~= 'running') then return finish({'NONE'}, true) end
checkReady(h)
local was = h.st
unindex(id, h)
local k = jk(id)
if was == 'running' then lost('cancelled', id, h.tk) end
redis.call('HSET', k, 'st', 'cancelled', 'fin', ARGV[5])
redis.call('HDEL', k, 'tk')
local r = rec(id)
h.st = 'cancelled'
index(id, h)
return finish({'OK', r, was})
`,
);

/**
 * ARGV[4] = id, ARGV[5] = runAt, ARGV[6] = '1' when ARGV[7] is the `x` the
 * caller read and ARGV[8] the `x` to write (a schedule's slot moves too).
 * Reply: {'OK', hash}, {'NOTFOUND'}, {'STATE', state}, {'RECUR'} (a schedule:
 * read it and call again with its `x`) or {'RETRY'} (`x` changed meanwhile).
 */
export const RESCHEDULE = script(
  'reschedule',
  SHEBANG.mayGrow,
  String.raw`
guard()
local id, at = ARGV[4], ARGV[5]
local h = mustHash(id, head(id))
if not h then return finish({'NOTFOUND'}, true) end
if h.st ~= 'scheduled' then return finish({'STATE', h.st}, true) end
local k = jk(id)
if ARGV[6] == '1' then
  if (redis.call('HGET', k, 'x') or '') ~= ARGV[7] then return finish({'RETRY'}, true) end
elseif h.rec == '1' then
  return finish({'RECUR'}, true)
end
checkReady(h)
unindex(id, h)
redis.call('HSET', k, 'at', at)
if ARGV[6] == '1' then
  if ARGV[8] == '' then redis.call('HDEL', k, 'x') else redis.call('HSET', k, 'x', ARGV[8]) end
end
h.at = at
index(id, h)
return finish({'OK', rec(id)})
`,
);

/** ARGV[4] = id, ARGV[5] = runAt. Dead or cancelled → scheduled, attempts reset. */
export const REVIVE = script(
  'revive',
  SHEBANG.mayGrow,
  String.raw`
guard()
local id, at = ARGV[4], ARGV[5]
local h = mustHash(id, head(id))
if not h then return finish({'NOTFOUND'}, true) end
if h.st ~= 'dead' and h.st ~= 'cancelled' then return finish({'STATE', h.st}, true) end
unindex(id, h)
local k = jk(id)
redis.call('HDEL', k, 'st', 'fin', 'res', 'tk', 'att', 'lo')
redis.call('HSET', k, 'at', at)
h.st = 'scheduled'
h.at = at
index(id, h)
return finish({'OK', rec(id)})
`,
);

/**
 * ARGV[4..] = id/token/claimed-seq triples this process holds. Extends each
 * unexpired lease; a lease found expired is recovered (the job runs again).
 * Reply: {'OK', {{id, reason}...}} for the attempts it no longer owns.
 */
export const RENEW = script(
  'renew',
  SHEBANG.finishes,
  String.raw`
guard()
local gone = {}
for i = 4, #ARGV, 3 do
  local id, tk, seq = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local h = head(id)
  if h and h.st == 'running' and h.tk == tk then
    local e = redis.call('ZSCORE', LEASES, id)
    if e and tonumber(e) > NOW then
      redis.call('ZADD', LEASES, NOW + LEASE, id)
    else
      recover(id, h, 'lease', false)
      gone[#gone + 1] = {id, 'lease'}
    end
  else
    gone[#gone + 1] = {id, reason(h, seq)}
  end
end
return finish({'OK', gone})
`,
);

/**
 * ARGV[4] = 'crash' (the store closed with these attempts unfinished: back to
 * scheduled, attempt kept, lost: 'crash') or 'unstarted' (a claim whose reply
 * came too late: back as if never claimed), ARGV[5..] = id/token pairs.
 */
export const RELEASE = script(
  'release',
  SHEBANG.finishes,
  String.raw`
guard()
local mode = ARGV[4]
local n = 0
for i = 5, #ARGV, 2 do
  local id, tk = ARGV[i], ARGV[i + 1]
  local h = head(id)
  if h and h.st == 'running' and h.tk == tk then
    if mode == 'unstarted' then
      unindex(id, h)
      local k = jk(id)
      redis.call('HDEL', k, 'st', 'tk')
      local att = num(h.att) - 1
      if att > 0 then redis.call('HSET', k, 'att', att) else redis.call('HDEL', k, 'att') end
      h.st = 'scheduled'
      index(id, h)
    else
      recover(id, h, 'crash', false)
    end
    n = n + 1
  end
end
return finish({'OK', n})
`,
);

/**
 * Recovers expired leases; the poll's safety net and the open-time check.
 * ARGV[4] = the key layout version this client speaks (recorded when unset).
 * Reply: {'OK', recovered} or {'VERSION', stored version}.
 */
export const TICK = script(
  'tick',
  SHEBANG.finishes,
  String.raw`
guard()
local VERSION = P .. 'version'
expect(VERSION, 'string')
local v = redis.call('GET', VERSION)
if not v then
  redis.call('SET', VERSION, ARGV[4])
elseif v ~= ARGV[4] then
  return finish({'VERSION', v}, true)
end
return finish({'OK', recoverExpired()})
`,
);

/**
 * Read-only: a page of the due set by rank. ARGV[1..2] = rank range, ARGV[3]
 * = name ('' = any). Reply: {members read, {member, score, ...}} (matches only).
 */
export const DUE_PAGE = script(
  'list',
  SHEBANG.readOnly,
  String.raw`
local ms = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')
local name = ARGV[3]
local out = {}
for i = 1, #ms, 2 do
  local keep = name == ''
  if not keep then keep = redis.pcall('HGET', jk(string.sub(ms[i], 9)), 'nm') == name end
  if keep then
    out[#out + 1] = ms[i]
    out[#out + 1] = ms[i + 1]
  end
end
return {#ms / 2, out}
`,
  KEY_HELPERS,
);

/**
 * Read-only: a page of a state index by rank. ARGV[1] = 'leases' | 'done' |
 * 'dead', ARGV[2..3] = rank range, ARGV[4] = name ('' = any), ARGV[5..] =
 * wanted states. Reply: {ids read, {id, runAt, seq, ...}} (matches only).
 */
export const STATE_PAGE = script(
  'list',
  SHEBANG.readOnly,
  String.raw`
local ids = redis.call('ZRANGE', P .. ARGV[1], ARGV[2], ARGV[3])
local name = ARGV[4]
local want = {}
for i = 5, #ARGV do want[ARGV[i]] = true end
local out = {}
for _, id in ipairs(ids) do
  local f = redis.pcall('HMGET', jk(id), 'at', 'seq', 'st', 'nm')
  if not f.err and f[4] and want[f[3] or 'scheduled'] and (name == '' or f[4] == name) then
    out[#out + 1] = id
    out[#out + 1] = f[1] or '0'
    out[#out + 1] = f[2] or '0'
  end
end
return {#ids, out}
`,
  KEY_HELPERS,
);

/**
 * Read-only: a page of one ready set by rank. ARGV[1] = name (or group),
 * ARGV[2..3] = rank range, ARGV[4] = 'g' for a group's set, ARGV[5] = name
 * ('' = any; a group's jobs may have several). Reply: members (matches only).
 */
export const READY_PAGE = script(
  'list',
  SHEBANG.readOnly,
  String.raw`
if ARGV[4] ~= 'g' then return redis.call('ZRANGE', rkey(ARGV[1]), ARGV[2], ARGV[3]) end
local ms = redis.call('ZRANGE', gkey(ARGV[1]), ARGV[2], ARGV[3])
if ARGV[5] == '' then return ms end
local out = {}
for _, m in ipairs(ms) do
  if redis.pcall('HGET', jk(string.sub(m, 25)), 'nm') == ARGV[5] then out[#out + 1] = m end
end
return out
`,
  KEY_HELPERS,
);

/** Read-only: the records of ARGV[1..] (missing or broken ones left out). Reply: {hash...}. */
export const FETCH = script(
  'list',
  SHEBANG.readOnly,
  String.raw`
local out = {}
for _, id in ipairs(ARGV) do fetchInto(out, id) end
return out
`,
  KEY_HELPERS + FETCH_ONE,
);

/** ARGV[4] = name, ARGV[5] = until: no job of the name starts before it (a later push-back wins). Reply: {'OK'}. */
export const PUSH_BACK = script(
  'pushBack',
  SHEBANG.mayGrow,
  String.raw`
guard()
local n, u = ARGV[4], tonumber(ARGV[5])
local cur = tonumber(redis.call('HGET', RLU, n))
if not cur or cur < u then redis.call('HSET', RLU, n, fmt(u)) end
return finish({'OK'}, true)
`,
);

/**
 * ARGV[4] = name, ARGV[5] = claim token: that claim did not start its job
 * (Store.refundStart), so its start leaves the name's window and the
 * store-wide one (their members are claim tokens). Reply: {'OK'}.
 */
export const REFUND_START = script(
  'refundStart',
  SHEBANG.finishes,
  String.raw`
guard()
redis.call('ZREM', lkey(ARGV[4]), ARGV[5])
redis.call('ZREM', RLALL, ARGV[5])
return finish({'OK'}, true)
`,
);

/** Every script, loaded at open so a burst of first calls does not all miss the script cache. */
export const SCRIPTS: readonly Script[] = [INSERT, CLAIM, SETTLE, CANCEL, RESCHEDULE, REVIVE, RENEW, RELEASE, TICK, DUE_PAGE, STATE_PAGE, READY_PAGE, FETCH, LIST_ATOMIC, PUSH_BACK, REFUND_START];
