/**
 * The Lua prelude every RedisStore script starts with: key names, the record
 * layout, and the helpers that keep the indexes in step. See scripts.ts for
 * the keys and what each script does.
 *
 * NO HALF-WRITES. A Lua script that fails half-way keeps the writes it made.
 * So every script checks, before its first write, every key it may write:
 * `guard()` checks the type of every fixed key (and that the counters are
 * integers); a script that touches a name's ready set checks it with
 * `expect()`; job hashes are read with `head()` (redis.pcall: a key of the
 * wrong type is reported, never raised) before they are written. After the
 * checks, no command a script sends can fail. Field values are read with
 * `num()`, so a damaged number cannot raise either.
 *
 * A job key of the wrong type found through an index (a due, lease or
 * retention entry) is skipped and its index entry dropped; the key itself is
 * left alone and reported in the summary (`broken`), and the client warns.
 * A fixed key of the wrong type, or a job key named by the caller, fails the
 * script before anything is written (an error reply `GODELAYQ {json}`).
 */

/** Shebang lines (Redis 7 script flags). Without `allow-oom` Redis refuses the script up front once maxmemory is reached. */
export const SHEBANG = {
  /** Creates or starts work: refused when Redis is out of memory. */
  mayGrow: '#!lua',
  /** Finishes or gives back work (settle, renew, cancel, release, lease recovery): runs even when out of memory. */
  finishes: '#!lua flags=allow-oom',
  /** Reads only. */
  readOnly: '#!lua flags=no-writes',
} as const;

/** Helpers shared by the read-only scripts too (no TIME, no writes). */
export const KEY_HELPERS = String.raw`
local P = string.sub(KEYS[1], 1, -4)
local ESC = {['%'] = '%25', [':'] = '%3A'}
local function esc(s) return (string.gsub(s, '[%%:]', ESC)) end
local function jk(id) return P .. 'j=' .. esc(id) end
local function rkey(name) return P .. 'r=' .. esc(name) end
local function gkey(group) return P .. 'g=' .. esc(group) end
local function lkey(name) return P .. 'l=' .. esc(name) end
local function hkey(name) return P .. 'h=' .. esc(name) end
`;

/** Lua (after KEY_HELPERS): appends job `id`'s record (its hash, then 'id', id) to `out`; a missing or broken record is left out. */
export const FETCH_ONE = String.raw`
local function fetchInto(out, id)
  local r = redis.pcall('HGETALL', jk(id))
  if not r.err and #r > 0 then
    r[#r + 1] = 'id'
    r[#r + 1] = id
    out[#out + 1] = r
  end
end
`;

export const PRELUDE = String.raw`${KEY_HELPERS}
local KEEP_DONE = tonumber(ARGV[1])
local KEEP_DEAD = tonumber(ARGV[2])
local LEASE = tonumber(ARGV[3])
local T = redis.call('TIME')
local NOW = tonumber(T[1]) * 1000 + tonumber(T[2]) / 1000
local DUE, LEASES, DONE, DEAD, READYN, COUNTS = KEYS[1], P .. 'leases', P .. 'done', P .. 'dead', P .. 'readyn', P .. 'counts'
local FIELDS = {'pl', 'ca', 'x', 'st', 'at', 'att', 'pr', 'nm', 'fin', 'res', 'sig', 'rec', 'lo', 'rl', 'gr', 'gm'}
-- Groups (see groups.ts): ready grouped jobs wait in P:g=<group>; READYG = groups with ready jobs,
-- GFREE = those whose head may start now, GRUN = running jobs per group, GTURN = each lane's last turn,
-- GLIVE = scheduled + running jobs per group (a group with none is idle: it leaves the rotation).
local READYG, GFREE, GRUN, GTURN, GLIVE = P .. 'readyg', P .. 'gfree', P .. 'grun', P .. 'gturn', P .. 'glive'
-- The index of free groups' heads the claim picks from (gindex below): P:h=<name> = zset
-- -priority -> <sc(turn)><16-digit floor(runAt)><sc(seq)><group> of the GFREE groups whose head is a
-- job of that name, best first; GHM = hash group -> its entry (<#name>:<name><member>); GHN = the
-- names with a non-empty P:h=<name>. A group has an entry exactly while it is in GFREE.
local GHM, GHN = P .. 'ghm', P .. 'ghn'
-- Names whose heads index changed in this script (the claim re-reads their best group).
local ghTouched = {}
-- Groups whose live count reached 0 in this script: finish() drops their turns if they stayed idle.
local gidle = {}
-- Rate limits (rate-limits.ts): P:l=<name> / RLALL = zset start time -> token of the starts in a
-- name's / every name's window; RLU = hash name -> instant before which no job of it starts.
local RLALL, RLU = P .. 'rlall', P .. 'rlu'
-- Per-job retention (see RETIRE in scripts.ts): pending expiries, and per name and state the jobs that have a count.
local REXP = P .. 'rexp'
-- Tokens of settles whose job retention removed in the same script (SETTLE sets settledHere):
-- a settle retried after its reply was lost finds no job, and GONE tells "it landed" from "the
-- job was taken from it". Kept an hour, at most GONE_MAX entries.
local GONE, GONE_MAX, GONE_MS = P .. 'gone', 100000, 3600000
local settledHere, goneAdded = {}, false
local function rckey(st, name) return P .. 'rc=' .. st .. esc(name) end
local NF = #FIELDS
local B64 = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'
local wakeAt, dueMin0 = nil, nil
local broken = {}

local function fmt(x) return string.format('%.17g', x) end
local function num(x) return tonumber(x) or 0 end

local function fail(t) error({err = 'GODELAYQ ' .. cjson.encode(t)}) end
local function typeOf(k) return redis.call('TYPE', k)['ok'] end
local function expect(k, want)
  local got = typeOf(k)
  if got ~= 'none' and got ~= want then fail({code = 'WRONGTYPE', key = k, want = want, got = got}) end
end

-- Counters change in this table and reach Redis once, in finish(): one HINCRBY per counter, not per job.
local C0, D = {}, {}
local function bump(f, n) D[f] = (D[f] or 0) + n end
-- Next value of counter f (seq, fseq), read once from the guard's copy.
local function nextOf(f)
  bump(f, 1)
  return num(C0[f]) + D[f]
end
-- Counter f as this script has it so far.
local function count(f) return num(C0[f]) + (D[f] or 0) end
-- A finished job leaves its retention count list (if it is in one): one ZREM only while some list has entries.
local function unlist(st, name, id)
  if count('rml') > 0 and redis.pcall('ZREM', rckey(st, name), id) == 1 then bump('rml', -1) end
end

-- Every fixed key has its type, the counters are integers, and the earliest due time is known.
local function guard()
  expect(DUE, 'zset')
  expect(LEASES, 'zset')
  expect(DONE, 'zset')
  expect(DEAD, 'zset')
  expect(READYN, 'set')
  expect(COUNTS, 'hash')
  expect(READYG, 'set')
  expect(GFREE, 'set')
  expect(GRUN, 'hash')
  expect(GTURN, 'hash')
  expect(GLIVE, 'hash')
  expect(GHM, 'hash')
  expect(GHN, 'set')
  expect(RLALL, 'zset')
  expect(RLU, 'hash')
  local c = redis.call('HGETALL', COUNTS)
  for i = 2, #c, 2 do
    if #c[i] > 18 or not string.find(c[i], '^%-?%d+$') then
      fail({code = 'BADVALUE', key = COUNTS, field = c[i - 1], want = 'an integer', got = c[i]})
    end
    C0[c[i - 1]] = c[i]
  end
  dueMin0 = redis.call('ZRANGE', DUE, 0, 0, 'WITHSCORES')[2]
end

-- Sortable 8-symbol code of a sequence number (see keys.ts).
local function sc(seq)
  local n, t = num(seq), {}
  for i = 8, 1, -1 do
    local d = n % 64
    t[i] = string.sub(B64, d + 1, d + 1)
    n = (n - d) / 64
  end
  return table.concat(t)
end
local function dm(seq, id) return sc(seq) .. id end
local function rm(at, seq, id)
  local a = math.floor(num(at))
  if a < 0 then a = 0 elseif a > 9e15 then a = 9e15 end
  return string.format('%016d', a) .. sc(seq) .. id
end

local HEAD = {'nm', 'st', 'gr', 'at', 'seq', 'rec', 'pr', 'tk', 'lt', 'att', 'sig'}
-- A job's head fields (the first n of HEAD: hot paths read fewer); nil when
-- there is no such job, false when its key is not a hash.
local function head(id, n)
  local f = redis.pcall('HMGET', jk(id), unpack(HEAD, 1, n or #HEAD))
  if f.err then return false end
  if not f[1] then return nil end
  return {nm = f[1], st = f[2] or 'scheduled', gr = f[3] or nil, at = f[4], seq = f[5], rec = f[6], pr = f[7], tk = f[8], lt = f[9], att = f[10], sig = f[11]}
end

-- A GHM value: the name and the member of a group's entry (nil when damaged).
local function ghsplit(v)
  local c = string.find(v, ':', 1, true)
  local len = c and tonumber(string.sub(v, 1, c - 1))
  if not len then return nil end
  return string.sub(v, c + 1, c + len), string.sub(v, c + len + 1)
end

-- Group g leaves the heads index.
local function gunindex(g)
  local v = redis.call('HGET', GHM, g)
  if not v then return end
  redis.call('HDEL', GHM, g)
  local nm, mem = ghsplit(v)
  if not nm then return end
  local k = hkey(nm)
  -- pcall: a P:h=<name> of another type is never written (the claim refuses it by name, see CLAIM).
  local r = redis.pcall('ZREM', k, mem)
  if not (type(r) == 'table' and r.err) and redis.call('EXISTS', k) == 0 then redis.call('SREM', GHN, nm) end
  ghTouched[nm] = true
end

-- Group g's entry: its head (member m of score s, a job of name nm) with the group's turn.
local function gindex(g, nm, s, m)
  local mem = sc(num(redis.call('HGET', GTURN, g))) .. string.sub(m, 1, 24) .. g
  local v = #nm .. ':' .. nm .. mem
  if redis.call('HGET', GHM, g) ~= v then gunindex(g) end
  redis.call('SADD', GHN, nm)
  ghTouched[nm] = true
  local r = redis.pcall('ZADD', hkey(nm), s, mem)
  -- Not written: the group stays out of GHM, and the next claim (which compares GHM with GFREE)
  -- rebuilds the index after refusing the damaged key by name.
  if type(r) == 'table' and r.err then return end
  redis.call('HSET', GHM, g, v)
end

-- Brings group g's entries in READYG / GFREE and the heads index in line with its ready set and
-- running count. Entries whose job is gone, no longer scheduled or broken leave the group here
-- (each for good, so the loop's cost is paid once per entry; GMAX bounds one call).
local GMAX = 1000
local function gcheck(g)
  local top, f
  for i = 1, GMAX + 1 do
    if i > GMAX then return end
    top = redis.pcall('ZRANGE', gkey(g), 0, 0, 'WITHSCORES')
    -- Not a zset (written by another program): its jobs cannot start; its READYG entry stays for list().
    if top.err then
      redis.call('SREM', GFREE, g)
      gunindex(g)
      return
    end
    if #top == 0 then
      redis.call('SREM', READYG, g)
      redis.call('SREM', GFREE, g)
      gunindex(g)
      return
    end
    local id = string.sub(top[1], 25)
    f = redis.pcall('HMGET', jk(id), 'gm', 'nm', 'st')
    if not f.err and f[2] and not f[3] then break end
    if f.err then broken[#broken + 1] = id end
    redis.call('ZREM', gkey(g), top[1])
  end
  redis.call('SADD', READYG, g)
  -- The head's limit counts; a damaged limit reads as the default 1.
  if num(redis.call('HGET', GRUN, g)) < (tonumber(f[1]) or 1) then
    redis.call('SADD', GFREE, g)
    gindex(g, f[2], top[2], top[1])
  else
    redis.call('SREM', GFREE, g)
    gunindex(g)
  end
end

-- One more (or fewer) scheduled or running job of group g.
local function glive(g, delta)
  local n = redis.pcall('HINCRBY', GLIVE, g, delta)
  if type(n) ~= 'number' or n <= 0 then gidle[g] = true end
end

-- One more (or fewer) running job of group g.
local function grun(g, delta)
  local n = redis.pcall('HINCRBY', GRUN, g, delta)
  if type(n) ~= 'number' or n <= 0 then redis.call('HDEL', GRUN, g) end
  gcheck(g)
end

-- Sets field f of a flat HGETALL reply to v (appending it when absent).
local function setField(r, f, v)
  for q = 1, #r, 2 do
    if r[q] == f then
      r[q + 1] = v
      return
    end
  end
  r[#r + 1] = f
  r[#r + 1] = v
end

-- A job named by the caller whose key is not a hash: fail before any write.
local function mustHash(id, h)
  if h == false then fail({code = 'WRONGTYPE', key = jk(id), want = 'hash', got = typeOf(jk(id))}) end
  return h
end

-- A scheduled job may sit in its name's (or group's) ready set: check that key before touching it.
local function checkReady(h)
  if h and h.st == 'scheduled' then
    if h.gr then expect(gkey(h.gr), 'zset') else expect(rkey(h.nm), 'zset') end
  end
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

local drop
-- Retention sets that grew in this script: trimmed once, in finish().
local toTrim = {}

-- At most this many jobs leave a retention set in one script. Redis runs one script at a time:
-- after keepCompleted was lowered below what a store held, dropping the excess at once (~9 µs a
-- job: 0.9 s for 1e5, and past Redis's 5 s script limit every client gets BUSY) stalled every
-- client of the server. The excess goes by TRIM_MAX a script instead, each finish taking its share.
local TRIM_MAX = 1000
local function trim(z, keep)
  local n = math.min(redis.call('ZCARD', z) - keep, TRIM_MAX)
  if n > 0 then
    for _, id in ipairs(redis.call('ZRANGE', z, 0, n - 1)) do drop(id, z) end
  end
end

-- Takes a job out of the index of its state (ready set checked by the caller).
local function unindex(id, h)
  local st = h.st
  bump(st, -1)
  if h.gr and (st == 'scheduled' or st == 'running') then glive(h.gr, -1) end
  if st == 'scheduled' then
    if redis.call('ZREM', DUE, dm(h.seq, id)) == 0 then
      if h.gr then
        if redis.call('ZREM', gkey(h.gr), rm(h.at, h.seq, id)) == 1 then gcheck(h.gr) end
      else
        local rq = rkey(h.nm)
        if redis.call('ZREM', rq, rm(h.at, h.seq, id)) == 1 and redis.call('EXISTS', rq) == 0 then
          redis.call('SREM', READYN, h.nm)
        end
      end
    end
    if h.rec == '1' then bump('recurring', -1) end
  elseif st == 'running' then
    redis.call('ZREM', LEASES, id)
    if h.gr then grun(h.gr, -1) end
  elseif st == 'completed' or st == 'cancelled' then
    redis.call('ZREM', DONE, id)
    if st == 'completed' then unlist('c', h.nm, id) end
  elseif st == 'dead' then
    redis.call('ZREM', DEAD, id)
    unlist('d', h.nm, id)
  end
end

-- Adds a job to the index of its state; may drop the oldest finished or dead jobs.
local function index(id, h)
  local st = h.st
  bump(st, 1)
  if h.gr and (st == 'scheduled' or st == 'running') then glive(h.gr, 1) end
  if st == 'scheduled' then
    local at = num(h.at)
    if (dueMin0 == nil or at < tonumber(dueMin0)) and (wakeAt == nil or at < wakeAt) then wakeAt = at end
    redis.call('ZADD', DUE, at, dm(h.seq, id))
    if h.rec == '1' then bump('recurring', 1) end
  elseif st == 'running' then
    redis.call('ZADD', LEASES, NOW + LEASE, id)
    if h.gr then grun(h.gr, 1) end
  elseif st == 'completed' or st == 'cancelled' then
    redis.call('ZADD', DONE, nextOf('fseq'), id)
    toTrim[DONE] = KEEP_DONE
  elseif st == 'dead' then
    redis.call('ZADD', DEAD, nextOf('fseq'), id)
    toTrim[DEAD] = KEEP_DEAD
  end
end

-- Drops a finished job past retention; an entry whose job is gone, broken or not finished only leaves the index.
drop = function(id, z)
  local h = head(id)
  if h and (h.st == 'completed' or h.st == 'cancelled' or h.st == 'dead') then
    unindex(id, h)
    redis.call('DEL', jk(id))
    local tk = settledHere[id]
    if tk then
      redis.call('ZADD', GONE, NOW, tk)
      goneAdded = true
    end
  else
    if h == false then broken[#broken + 1] = id end
    redis.call('ZREM', z, id)
  end
end

-- Writes a whole record from ARGV[i .. i+13] (FIELDS order; '' = absent); lt = the settled token.
local function put(id, i, seq, fresh, lt)
  local k = jk(id)
  if not fresh then redis.call('DEL', k) end
  local hs = {'seq', seq}
  for j = 1, NF do
    local v = ARGV[i + j - 1]
    if v ~= '' then
      hs[#hs + 1] = FIELDS[j]
      hs[#hs + 1] = v
    end
  end
  if lt then
    hs[#hs + 1] = 'lt'
    hs[#hs + 1] = lt
  end
  redis.call('HSET', k, unpack(hs))
  local st = ARGV[i + 3]
  if st == '' then st = 'scheduled' end
  local gr = ARGV[i + 14]
  if gr == '' then gr = nil end
  return {st = st, at = ARGV[i + 4], pr = ARGV[i + 6], nm = ARGV[i + 7], rec = ARGV[i + 11], seq = seq, gr = gr}
end

-- Applies an outcome given as changes against the record as claimed: ARGV[v .. v+cnt-1] =
-- field/value pairs ('' = delete). The running attempt's token goes, lt = its token.
local function patch(id, v, cnt, h, lt)
  local sets, dels = {'lt', lt}, {'tk'}
  local nh = {st = h.st, at = h.at, rec = h.rec, seq = h.seq, nm = h.nm, pr = h.pr, gr = h.gr}
  for j = v, v + cnt - 1, 2 do
    local f, x = ARGV[j], ARGV[j + 1]
    if x == '' then
      dels[#dels + 1] = f
    else
      sets[#sets + 1] = f
      sets[#sets + 1] = x
    end
    if f == 'st' then
      if x == '' then nh.st = 'scheduled' else nh.st = x end
    elseif f == 'at' or f == 'rec' or f == 'nm' or f == 'pr' then
      nh[f] = x
    elseif f == 'gr' then
      if x == '' then nh.gr = nil else nh.gr = x end
    end
  end
  local k = jk(id)
  redis.call('HDEL', k, unpack(dels))
  redis.call('HSET', k, unpack(sets))
  return nh
end

-- Tells the process holding a running attempt that it no longer owns the job.
local function lost(why, id, tk)
  if tk then redis.call('PUBLISH', P .. 'lost', why .. '\n' .. tk .. '\n' .. id) end
end

-- A running attempt gives its job back: scheduled again, attempt kept, marked lost (why = 'lease' | 'crash').
local function recover(id, h, why, tell)
  unindex(id, h)
  local k = jk(id)
  redis.call('HDEL', k, 'st', 'tk')
  redis.call('HSET', k, 'lo', why)
  if tell then lost(why, id, h.tk) end
  h.st = 'scheduled'
  index(id, h)
end

-- Leases that ended (server clock): their jobs are recovered for another run.
local function recoverExpired()
  local n = 0
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', LEASES, '-inf', NOW, 'LIMIT', 0, 1000)) do
    local h = head(id)
    if h and h.st == 'running' then
      recover(id, h, 'lease', true)
      n = n + 1
    else
      if h == false then broken[#broken + 1] = id end
      redis.call('ZREM', LEASES, id)
    end
  end
  return n
end

-- Why the attempt (token, claimed seq) no longer owns job h.
local function reason(h, seq)
  if not h or h.seq ~= seq then return 'replaced' end
  if h.st == 'cancelled' then return 'cancelled' end
  return 'lease'
end

-- lite: leave out the lease and ready parts (a script that cannot change them): '-' = unchanged.
local function summary(lite)
  local d = redis.call('ZRANGE', DUE, 0, 0, 'WITHSCORES')
  local c = redis.call('HMGET', COUNTS, 'scheduled', 'running', 'completed', 'dead', 'cancelled', 'recurring')
  for i = 1, 6 do c[i] = num(c[i]) end
  local lease, names = '-', '-'
  if not lite then
    lease = redis.call('ZRANGE', LEASES, 0, 0, 'WITHSCORES')[2] or ''
    names = redis.call('SMEMBERS', READYN)
  end
  return {fmt(NOW), d[2] or '', lease, names, c[1], c[2], c[3], c[4], c[5], c[6], broken, redis.call('SCARD', GFREE)}
end

local function finish(reply, lite)
  for z, keep in pairs(toTrim) do trim(z, keep) end
  if goneAdded then
    redis.call('ZREMRANGEBYSCORE', GONE, '-inf', NOW - GONE_MS)
    redis.call('ZREMRANGEBYRANK', GONE, 0, -GONE_MAX - 1)
  end
  for g in pairs(gidle) do
    if num(redis.call('HGET', GLIVE, g)) <= 0 then
      redis.call('HDEL', GLIVE, g)
      redis.call('HDEL', GTURN, g)
      -- Its entry carries the turn: a group idle by its count but with an entry (a damaged count) is re-read.
      if redis.call('HEXISTS', GHM, g) == 1 then gcheck(g) end
    end
  end
  for f, n in pairs(D) do
    if n ~= 0 then redis.call('HINCRBY', COUNTS, f, n) end
  end
  if wakeAt then redis.call('PUBLISH', P .. 'wake', fmt(wakeAt)) end
  reply[#reply + 1] = summary(lite)
  return reply
end
`;
