/**
 * The Lua scripts RedisStore runs. Every state change is one script, so it is
 * atomic on the server and sees one consistent job set. Leases start and end
 * on the server's clock (`TIME` inside the script); what is due is decided by
 * the caller's `now` (a scheduler passes the server's time, see Store.now),
 * in the frame the records' runAt were written in. Every reply carries the
 * server's time, from which clients estimate it.
 *
 * Keys (P = `<prefix>:`; `<m>` = 15-digit zero-padded seq + id, so members of
 * equal score sort by insertion order):
 * - `P:job:<id>`      hash: the record. JSON the client wrote is never decoded
 *                     here (Lua's cjson would round numbers and turn `[]` into
 *                     `{}`): pl (payload), x (retry, timeout, lastError, recur;
 *                     absent when none), res (result). Beside them the fields
 *                     scripts read or change: st, at (runAt), att, seq, pr,
 *                     nm, tk (token), fin (finishedAt), ca (createdAt), sig,
 *                     rec ('1' = schedule). Short values keep small jobs in
 *                     Redis's compact hash encoding (values <= 64 bytes).
 * - `P:due`           zset runAt → id: scheduled jobs not yet due-and-promoted.
 * - `P:ready:<name>`  zset −priority → `<16-digit floor(runAt)><m>`: due jobs of
 *                     one name, best first (priority, then runAt, then seq).
 * - `P:readyn`        set of names whose ready zset is not empty.
 * - `P:leases`        zset lease expiry (server ms) → id: running jobs.
 * - `P:finished`      zset finish order → id: completed + cancelled (retention).
 * - `P:dead`          zset finish order → id: dead (retention).
 * - `P:all`           zset runAt → `<m>`: every job, for `list`.
 * - `P:seq`, `P:fseq` counters; `P:counts` hash: jobs per state, and
 *                     `recurring` (scheduled schedules); `P:version` layout version.
 * - channel `P:wake`  published with the new earliest runAt when a script makes
 *                     a job due earlier than every other job in `P:due`, and
 *                     with `L<expiry>` when a claim creates the earliest lease.
 * - channel `P:lost`  `<token>\n<id>` when a running attempt is cancelled or
 *                     replaced, for the process that holds it.
 *
 * Every mutating script takes KEYS[1] = `P:due` (P is derived from it, and a
 * hash-tagged prefix keeps every key in one cluster slot) and ARGV[1..3] =
 * keepCompleted, keepDead, leaseMs; its own arguments follow. Its reply ends
 * with a summary (server time, earliest due, earliest lease expiry, ready
 * names, counts) from which the client refreshes its synchronous caches.
 * Numbers go back to the client as `%.17g` strings: Lua's own tostring keeps
 * only 14 digits.
 */
import { createHash } from 'node:crypto';

/** A script and its SHA-1 for EVALSHA. */
export interface Script {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

function script(name: string, body: string, prelude = PRELUDE): Script {
  const lua = `${prelude}\n${body}`;
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** Field order of a record's hash values as the client sends them (see codec.ts). */
export const FIELD_NAMES = ['pl', 'ca', 'x', 'st', 'at', 'att', 'pr', 'nm', 'fin', 'res', 'sig', 'rec'] as const;

const PRELUDE = String.raw`
local P = string.sub(KEYS[1], 1, -4)
local KEEP_DONE = tonumber(ARGV[1])
local KEEP_DEAD = tonumber(ARGV[2])
local LEASE = tonumber(ARGV[3])
local T = redis.call('TIME')
local NOW = tonumber(T[1]) * 1000 + tonumber(T[2]) / 1000
local DUE, LEASES, FIN, DEAD, ALL, READYN, COUNTS = P .. 'due', P .. 'leases', P .. 'finished', P .. 'dead', P .. 'all', P .. 'readyn', P .. 'counts'
local FIELDS = {'pl', 'ca', 'x', 'st', 'at', 'att', 'pr', 'nm', 'fin', 'res', 'sig', 'rec'}
local wakeAt = nil

local function fmt(x) return string.format('%.17g', x) end
local function jk(id) return P .. 'job:' .. id end
local function seqm(seq, id) return string.format('%015d', tonumber(seq)) .. id end
local function rk(at, seq, id)
  local a = math.floor(tonumber(at))
  if a < 0 then a = 0 elseif a > 9e15 then a = 9e15 end
  return string.format('%016d', a) .. seqm(seq, id)
end

-- The record of a job as the client decodes it: its hash plus its id.
local function rec(id)
  local r = redis.call('HGETALL', jk(id))
  if #r > 0 then
    r[#r + 1] = 'id'
    r[#r + 1] = id
  end
  return r
end

local function head(id)
  local f = redis.call('HMGET', jk(id), 'st', 'nm', 'at', 'seq', 'rec', 'pr')
  if not f[1] then return nil end
  return {st = f[1], nm = f[2], at = f[3], seq = f[4], rec = f[5], pr = f[6]}
end

local drop

local function trim(z, keep)
  local n = redis.call('ZCARD', z) - keep
  if n > 0 then
    for _, id in ipairs(redis.call('ZRANGE', z, 0, n - 1)) do drop(id, z) end
  end
end

-- Removes a job from the index of its state (not from ALL / name index).
local function unindex(id, h)
  local st = h.st
  redis.call('HINCRBY', COUNTS, st, -1)
  if st == 'scheduled' then
    if redis.call('ZREM', DUE, id) == 0 then
      local rq = P .. 'ready:' .. h.nm
      if redis.call('ZREM', rq, rk(h.at, h.seq, id)) == 1 and redis.call('EXISTS', rq) == 0 then
        redis.call('SREM', READYN, h.nm)
      end
    end
    if h.rec == '1' then redis.call('HINCRBY', COUNTS, 'recurring', -1) end
  elseif st == 'running' then
    redis.call('ZREM', LEASES, id)
  elseif st == 'completed' or st == 'cancelled' then
    redis.call('ZREM', FIN, id)
  elseif st == 'dead' then
    redis.call('ZREM', DEAD, id)
  end
end

-- Adds a job to the index of its state; may evict old finished/dead jobs.
local function index(id, h)
  local st = h.st
  redis.call('HINCRBY', COUNTS, st, 1)
  if st == 'scheduled' then
    local at = tonumber(h.at)
    local first = redis.call('ZRANGE', DUE, 0, 0, 'WITHSCORES')
    if (first[2] == nil or at < tonumber(first[2])) and (wakeAt == nil or at < wakeAt) then wakeAt = at end
    redis.call('ZADD', DUE, h.at, id)
    if h.rec == '1' then redis.call('HINCRBY', COUNTS, 'recurring', 1) end
  elseif st == 'running' then
    redis.call('ZADD', LEASES, NOW + LEASE, id)
  elseif st == 'completed' or st == 'cancelled' then
    redis.call('ZADD', FIN, redis.call('INCR', P .. 'fseq'), id)
    trim(FIN, KEEP_DONE)
  elseif st == 'dead' then
    redis.call('ZADD', DEAD, redis.call('INCR', P .. 'fseq'), id)
    trim(DEAD, KEEP_DEAD)
  end
end

drop = function(id, z)
  local h = head(id)
  if h then
    unindex(id, h)
    redis.call('ZREM', ALL, seqm(h.seq, id))
    redis.call('DEL', jk(id))
  elseif z then
    redis.call('ZREM', z, id)
  end
end

-- Writes a whole record from ARGV[i .. i+11] (FIELDS order; '' = absent).
local function put(id, i, seq, fresh)
  local k = jk(id)
  if not fresh then redis.call('DEL', k) end
  local hs = {'seq', seq}
  for j, f in ipairs(FIELDS) do
    local v = ARGV[i + j - 1]
    if v ~= '' then
      hs[#hs + 1] = f
      hs[#hs + 1] = v
    end
  end
  redis.call('HSET', k, unpack(hs))
  local h = {st = ARGV[i + 3], at = ARGV[i + 4], pr = ARGV[i + 6], nm = ARGV[i + 7], rec = ARGV[i + 11], seq = seq}
  redis.call('ZADD', ALL, h.at, seqm(seq, id))
  return h
end

-- Moves a job by its new runAt in the list index.
local function moveAt(id, h, at)
  redis.call('ZADD', ALL, at, seqm(h.seq, id))
end

-- A running job whose lease is gone goes back to scheduled, attempt kept.
local function recover(id)
  redis.call('ZREM', LEASES, id)
  local h = head(id)
  if h and h.st == 'running' then
    redis.call('HINCRBY', COUNTS, 'running', -1)
    redis.call('HSET', jk(id), 'st', 'scheduled')
    redis.call('HDEL', jk(id), 'tk')
    h.st = 'scheduled'
    index(id, h)
    return true
  end
  return false
end

local function recoverExpired()
  local n = 0
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', LEASES, '-inf', NOW, 'LIMIT', 0, 1000)) do
    if recover(id) then n = n + 1 end
  end
  return n
end

-- lite: leave out the lease and ready parts (a script that cannot change them): '-' = unchanged.
local function summary(lite)
  local d = redis.call('ZRANGE', DUE, 0, 0, 'WITHSCORES')
  local c = redis.call('HMGET', COUNTS, 'scheduled', 'running', 'completed', 'dead', 'cancelled', 'recurring')
  for i = 1, 6 do c[i] = tonumber(c[i] or 0) end
  local lease, names = '-', '-'
  if not lite then
    lease = redis.call('ZRANGE', LEASES, 0, 0, 'WITHSCORES')[2] or ''
    names = redis.call('SMEMBERS', READYN)
  end
  return {fmt(NOW), d[2] or '', lease, names, c[1], c[2], c[3], c[4], c[5], c[6]}
end

-- Tells the process holding a running attempt that it no longer owns the job.
local function lost(id, tk)
  if tk then redis.call('PUBLISH', P .. 'lost', tk .. '\n' .. id) end
end

local function finish(reply, lite)
  if wakeAt then redis.call('PUBLISH', P .. 'wake', fmt(wakeAt)) end
  reply[#reply + 1] = summary(lite)
  return reply
end
`;

/**
 * ARGV[4] = n, then n requests of 14 values: id, mode, FIELDS.
 * All or none: a first pass decides every duplicate before anything is written.
 * Reply: {'OK', {{'inserted'|'replaced', seq, previousHash|false} | {'kept', hash}}} or {'DUP', id}.
 */
export const INSERT = script(
  'insert',
  String.raw`
local n = tonumber(ARGV[4])
local W = 14
local seen = {}
local existed = {} -- per request: did the id exist when its turn came
for r = 0, n - 1 do
  local i = 5 + r * W
  local id, mode, sig = ARGV[i], ARGV[i + 1], ARGV[i + 12]
  local cur = seen[id]
  if cur == nil then
    local f = redis.call('HMGET', jk(id), 'st', 'sig')
    if f[1] then cur = f[2] or '' else cur = false end
  end
  existed[r] = cur ~= false
  if cur ~= false then
    if mode == 'reject' then return finish({'DUP', id}) end
    if mode == 'keepIfSame' and (cur == '' or sig == '' or cur ~= sig) then return finish({'DUP', id}) end
    if mode == 'replace' then seen[id] = sig end
  else
    seen[id] = sig
  end
end
local out = {}
local replaced = false
for r = 0, n - 1 do
  local i = 5 + r * W
  local id, mode = ARGV[i], ARGV[i + 1]
  local exists = existed[r]
  if exists and (mode == 'keep' or mode == 'keepIfSame') then
    out[#out + 1] = {'kept', rec(id)}
  else
    local prev = false
    if exists then
      replaced = true
      prev = rec(id)
      local f = redis.call('HMGET', jk(id), 'st', 'tk')
      if f[1] == 'running' then lost(id, f[2]) end
      drop(id)
    end
    local seq = redis.call('INCR', P .. 'seq')
    index(id, put(id, i + 2, seq, not exists))
    out[#out + 1] = {exists and 'replaced' or 'inserted', seq, prev}
  end
end
return finish({'OK', out}, not replaced)
`,
);

/**
 * ARGV[4] = now (the caller's, see RedisStore.claim), ARGV[5] = promote max,
 * ARGV[6] = k, ARGV[7 .. 6+k] = k tokens (at most k jobs are claimed), then
 * name/capacity pairs. Recovers expired leases (server clock), promotes jobs
 * due at `now` into their name's ready zset, then picks the best heads across
 * names with capacity. Reply: {'OK', {hash...}, waiting names, names without
 * a capacity, summary}.
 */
export const CLAIM = script(
  'claim',
  String.raw`
local bound = ARGV[4]
local promoteMax = tonumber(ARGV[5])
local limit = tonumber(ARGV[6])
local caps = {}
for i = 7 + limit, #ARGV, 2 do caps[ARGV[i]] = tonumber(ARGV[i + 1]) end
recoverExpired()
for _, id in ipairs(redis.call('ZRANGEBYSCORE', DUE, '-inf', bound, 'LIMIT', 0, promoteMax)) do
  redis.call('ZREM', DUE, id)
  local h = head(id)
  if h and h.st == 'scheduled' then
    redis.call('ZADD', P .. 'ready:' .. h.nm, -tonumber(h.pr), rk(h.at, h.seq, id))
    redis.call('SADD', READYN, h.nm)
  end
end
local heads, waiting, unknown = {}, {}, {}
for _, n in ipairs(redis.call('SMEMBERS', READYN)) do
  local cap = caps[n]
  if cap == nil then
    unknown[#unknown + 1] = n
  elseif cap <= 0 then
    waiting[#waiting + 1] = n
  else
    local top = redis.call('ZRANGE', P .. 'ready:' .. n, 0, 0, 'WITHSCORES')
    if top[1] then heads[n] = {tonumber(top[2]), top[1]} else redis.call('SREM', READYN, n) end
  end
end
local lfirst = redis.call('ZRANGE', LEASES, 0, 0, 'WITHSCORES')
local claimed, taken, count = {}, {}, 0
while count < limit do
  local bn, bh = nil, nil
  for n, h in pairs(heads) do
    if bh == nil or h[1] < bh[1] or (h[1] == bh[1] and h[2] < bh[2]) then bn, bh = n, h end
  end
  if bn == nil then break end
  local rq = P .. 'ready:' .. bn
  redis.call('ZREM', rq, bh[2])
  local id = string.sub(bh[2], 32)
  local h = head(id)
  if h and h.st == 'scheduled' then
    count = count + 1
    local k = jk(id)
    if h.rec == '1' then redis.call('HINCRBY', COUNTS, 'recurring', -1) end
    redis.call('HINCRBY', COUNTS, 'scheduled', -1)
    redis.call('HINCRBY', COUNTS, 'running', 1)
    redis.call('HSET', k, 'st', 'running', 'tk', ARGV[6 + count])
    redis.call('HINCRBY', k, 'att', 1)
    redis.call('ZADD', LEASES, NOW + LEASE, id)
    claimed[#claimed + 1] = rec(id)
    taken[bn] = (taken[bn] or 0) + 1
  end
  local more = redis.call('EXISTS', rq) == 1
  if not more then
    heads[bn] = nil
    redis.call('SREM', READYN, bn)
  elseif taken[bn] and taken[bn] >= caps[bn] then
    heads[bn] = nil
    waiting[#waiting + 1] = bn
  else
    local top = redis.call('ZRANGE', rq, 0, 0, 'WITHSCORES')
    heads[bn] = {tonumber(top[2]), top[1]}
  end
end
-- A lease ending before every other one: every process's lease watch must know.
if count > 0 and (lfirst[2] == nil or NOW + LEASE < tonumber(lfirst[2])) then
  redis.call('PUBLISH', P .. 'wake', 'L' .. fmt(NOW + LEASE))
end
return finish({'OK', claimed, waiting, unknown})
`,
);

/** ARGV[4] = id, ARGV[5] = token, ARGV[6..17] = FIELDS. Reply: {'OK'} or {'STALE'}. */
export const SETTLE = script(
  'settle',
  String.raw`
local id, tk = ARGV[4], ARGV[5]
local f = redis.call('HMGET', jk(id), 'st', 'tk')
if f[1] ~= 'running' or f[2] ~= tk then return finish({'STALE'}) end
local old = head(id)
unindex(id, old)
-- Same seq, so the same list-index member: put's ZADD just moves it.
index(id, put(id, 6, old.seq))
return finish({'OK'})
`,
);

/** ARGV[4] = id, ARGV[5] = finishedAt. Reply: {'OK', hash, previous state} or {'NONE'}. */
export const CANCEL = script(
  'cancel',
  String.raw`
local id = ARGV[4]
local h = head(id)
if not h or (h.st ~= 'scheduled' and h.st ~= 'running') then return finish({'NONE'}) end
local was = h.st
unindex(id, h)
local k = jk(id)
if was == 'running' then lost(id, redis.call('HGET', k, 'tk')) end
redis.call('HSET', k, 'st', 'cancelled', 'fin', ARGV[5])
redis.call('HDEL', k, 'tk')
local r = rec(id)
h.st = 'cancelled'
index(id, h)
return finish({'OK', r, was})
`,
);

/** ARGV[4] = id, ARGV[5] = runAt. Reply: {'OK', hash}, {'NOTFOUND'} or {'STATE', state}. */
export const RESCHEDULE = script(
  'reschedule',
  String.raw`
local id, at = ARGV[4], ARGV[5]
local h = head(id)
if not h then return finish({'NOTFOUND'}) end
if h.st ~= 'scheduled' then return finish({'STATE', h.st}) end
unindex(id, h)
redis.call('HSET', jk(id), 'at', at)
moveAt(id, h, at)
h.at = at
index(id, h)
return finish({'OK', rec(id)})
`,
);

/** ARGV[4] = id, ARGV[5] = runAt. Dead or cancelled → scheduled, attempts reset. */
export const REVIVE = script(
  'revive',
  String.raw`
local id, at = ARGV[4], ARGV[5]
local h = head(id)
if not h then return finish({'NOTFOUND'}) end
if h.st ~= 'dead' and h.st ~= 'cancelled' then return finish({'STATE', h.st}) end
unindex(id, h)
local k = jk(id)
redis.call('HDEL', k, 'fin', 'res', 'tk')
redis.call('HSET', k, 'st', 'scheduled', 'at', at, 'att', '0')
moveAt(id, h, at)
h.st = 'scheduled'
h.at = at
index(id, h)
return finish({'OK', rec(id)})
`,
);

/**
 * ARGV[4..] = id/token pairs this process holds. Reply: {'OK', {id, state|''}...}
 * for the attempts it no longer owns (state '' = the job is gone).
 */
export const RENEW = script(
  'renew',
  String.raw`
local gone = {}
for i = 4, #ARGV, 2 do
  local id, tk = ARGV[i], ARGV[i + 1]
  local f = redis.call('HMGET', jk(id), 'st', 'tk')
  if f[1] == 'running' and f[2] == tk then
    redis.call('ZADD', LEASES, NOW + LEASE, id)
  else
    gone[#gone + 1] = {id, f[1] or ''}
  end
end
return finish({'OK', gone})
`,
);

/** ARGV[4..] = id/token pairs to give back (closing): they become scheduled, attempt kept. */
export const RELEASE = script(
  'release',
  String.raw`
local n = 0
for i = 4, #ARGV, 2 do
  local id, tk = ARGV[i], ARGV[i + 1]
  local f = redis.call('HMGET', jk(id), 'st', 'tk')
  if f[1] == 'running' and f[2] == tk and recover(id) then n = n + 1 end
end
return finish({'OK', n})
`,
);

/**
 * Recovers expired leases; the poll's safety net and the open-time refresh.
 * ARGV[4] = the key layout version this client speaks (recorded when unset).
 * Reply: {'OK', recovered} or {'VERSION', stored version}.
 */
export const TICK = script(
  'tick',
  String.raw`
local v = redis.call('GET', P .. 'version')
if not v then
  redis.call('SET', P .. 'version', ARGV[4])
elseif v ~= ARGV[4] then
  return finish({'VERSION', v})
end
return finish({'OK', recoverExpired()})
`,
);

/** Version of the key layout above; stored under `P:version`. */
export const LAYOUT_VERSION = '1';

/**
 * Read-only page of the list index. KEYS[1] = P:due; ARGV[1..2] = rank range,
 * ARGV[3] = name ('' = any), ARGV[4..] = wanted states (none = any).
 * Reply: {members read, {hash...}}.
 */
export const LIST = script(
  'list',
  String.raw`
local want = {}
for i = 4, #ARGV do want[ARGV[i]] = true end
local anyState = #ARGV < 4
local name = ARGV[3]
local ms = redis.call('ZRANGE', P .. 'all', tonumber(ARGV[1]), tonumber(ARGV[2]))
local out = {}
for _, m in ipairs(ms) do
  local id = string.sub(m, 16)
  local k = P .. 'job:' .. id
  local f = redis.call('HMGET', k, 'st', 'nm')
  if f[1] and (anyState or want[f[1]]) and (name == '' or f[2] == name) then
    local r = redis.call('HGETALL', k)
    r[#r + 1] = 'id'
    r[#r + 1] = id
    out[#out + 1] = r
  end
end
return {#ms, out}
`,
  `local P = string.sub(KEYS[1], 1, -4)`,
);
