/**
 * RedisStore's CLAIM script: lease recovery, promotion of due jobs into their
 * ready zsets, and the pick of the best heads under capacity, rate limits
 * and groups, all in one atomic call. Key layout and the reply summary every
 * writing script ends with: scripts.ts.
 */
import { SHEBANG } from './lua.js';
import { CLAIM_PAUSE_CHECK } from './pause.js';
import { script } from './script.js';

/**
 * ARGV[4] = now (the caller's, see RedisStore.claim), ARGV[5] = promote max,
 * ARGV[6] = k, ARGV[7 .. 6+k] = k tokens (at most k jobs are claimed), then
 * the rate limits: the scheduler-wide max and durationMs ('' '' = none), the
 * number L of limited names, L name/max/durationMs triples; then
 * name/capacity pairs. Recovers expired leases (server clock), promotes jobs
 * due at `now` into their name's (or group's) ready zset, then picks the best
 * heads across names with capacity and rate room, and groups with a free
 * slot. Rate windows run on the caller's `now` (every process passes the
 * server's time). Reply: {'OK', {hash...}, waiting names, names without a
 * capacity, earliest instant a rate-limited job may start ('' = none), summary},
 * or {'PAUSED', {}, {}, {}, '', pause version, summary} while the store is
 * paused everywhere (pause.ts).
 */
export const CLAIM = script(
  'claim',
  SHEBANG.mayGrow,
  String.raw`
guard()
${CLAIM_PAUSE_CHECK}
local bound = ARGV[4]
local promoteMax = tonumber(ARGV[5])
local limit = tonumber(ARGV[6])
local bnow = tonumber(bound)
local a0 = 7 + limit
local grl = nil
if ARGV[a0] ~= '' then grl = {max = tonumber(ARGV[a0]), dur = tonumber(ARGV[a0 + 1])} end
local nrl = tonumber(ARGV[a0 + 2])
local rl = {}
for i = a0 + 3, a0 + 2 + nrl * 3, 3 do rl[ARGV[i]] = {max = tonumber(ARGV[i + 1]), dur = tonumber(ARGV[i + 2])} end
local caps = {}
for i = a0 + 3 + nrl * 3, #ARGV, 2 do caps[ARGV[i]] = tonumber(ARGV[i + 1]) end
for n in pairs(rl) do expect(lkey(n), 'zset') end
for _, n in ipairs(redis.call('SMEMBERS', GHN)) do expect(hkey(n), 'zset') end
recoverExpired()
-- Read what is due and check every ready set this claim may touch, before writing any.
local gone, add, names, addg = {}, {}, {}, {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', DUE, '-inf', bound, 'LIMIT', 0, promoteMax)) do
  local id = string.sub(m, 9)
  local h = head(id, 7)
  gone[#gone + 1] = m
  if h and h.st == 'scheduled' then
    local into, key = add, h.nm
    if h.gr then into, key = addg, h.gr end
    local a = into[key]
    if not a then
      a = {}
      into[key] = a
    end
    if not h.gr then names[h.nm] = true end
    a[#a + 1] = -num(h.pr)
    a[#a + 1] = rm(h.at, h.seq, id)
  elseif h == false then
    broken[#broken + 1] = id
  end
end
for _, n in ipairs(redis.call('SMEMBERS', READYN)) do names[n] = true end
for n in pairs(names) do expect(rkey(n), 'zset') end
for g in pairs(addg) do expect(gkey(g), 'zset') end
-- Promote: due -> the ready set of each job's name or group (one ZREM, one ZADD per set).
if #gone > 0 then redis.call('ZREM', DUE, unpack(gone)) end
for n, a in pairs(add) do
  redis.call('ZADD', rkey(n), unpack(a))
  redis.call('SADD', READYN, n)
end
for g, a in pairs(addg) do
  redis.call('ZADD', gkey(g), unpack(a))
  gcheck(g)
end
-- Pick the best heads across names with capacity, from the top of each ready set.
local lists, pos, skip, waiting, unknown = {}, {}, {}, {}, {}
local function fetch(n)
  local want = math.min(caps[n], limit) - (skip[n] or 0)
  if want < 1 then want = 1 end
  local top = redis.call('ZRANGE', rkey(n), skip[n] or 0, (skip[n] or 0) + want - 1, 'WITHSCORES')
  if #top == 0 then
    lists[n] = nil
  else
    lists[n] = top
    pos[n] = 1
  end
end
for _, n in ipairs(redis.call('SMEMBERS', READYN)) do
  local cap = caps[n]
  if cap == nil then
    unknown[#unknown + 1] = n
  elseif cap <= 0 then
    waiting[#waiting + 1] = n
  else
    fetch(n)
    if not lists[n] then redis.call('SREM', READYN, n) end
  end
end
-- The heads index holds one entry per GFREE group, unless the store was written before it existed
-- or a key was changed by another program: then it is rebuilt from the groups (once; every script
-- keeps it from then on). The check costs O(names).
local ghNames, entries = redis.call('SMEMBERS', GHN), 0
for _, n in ipairs(ghNames) do
  -- pcall: a name that came in during this script was not checked (its entries were not written).
  local z = redis.pcall('ZCARD', hkey(n))
  if type(z) == 'number' then entries = entries + z end
end
local free = redis.call('SCARD', GFREE)
if free ~= redis.call('HLEN', GHM) or free ~= entries then
  local seen = {}
  for _, g in ipairs(redis.call('SMEMBERS', GFREE)) do seen[g] = true end
  for _, g in ipairs(redis.call('HKEYS', GHM)) do seen[g] = true end
  for _, n in ipairs(ghNames) do
    if typeOf(hkey(n)) == 'zset' then redis.call('DEL', hkey(n)) end
  end
  redis.call('DEL', GHM, GHN)
  for g in pairs(seen) do gcheck(g) end
end
-- Field f of hash h as a number, read once per claim into cache t (the claim's own changes go into t too).
local function cached(t, h, f)
  local v = t[f]
  if v == nil then
    v = num(redis.call('HGET', h, f))
    t[f] = v
  end
  return v
end
-- Lanes take turns only when some group competes: otherwise every head is in lane ''.
local useTurns = redis.call('SCARD', GFREE) > 0
local turns = {}
local function turnOf(lane)
  if not useTurns then return 0 end
  return cached(turns, GTURN, lane)
end
-- Rate room per name (starts left now), read once; retryAt = when the first blocked one may start.
local pushed = redis.call('HLEN', RLU) > 0
local room, retryAt = {}, nil
local function later(t)
  if retryAt == nil or t < retryAt then retryAt = t end
end
-- When the window of key z (limit lim) has room for one more start.
local function freeAt(z, lim)
  local n = redis.call('ZCARD', z)
  local e = redis.call('ZRANGE', z, math.max(0, n - lim.max), math.max(0, n - lim.max), 'WITHSCORES')
  return num(e[2]) + lim.dur
end
local globalLeft = math.huge
if grl then
  redis.call('ZREMRANGEBYSCORE', RLALL, '-inf', bnow - grl.dur)
  globalLeft = grl.max - redis.call('ZCARD', RLALL)
end
local function rateOk(n)
  if globalLeft <= 0 then
    later(freeAt(RLALL, grl))
    return false
  end
  local r = room[n]
  if r == nil then
    r = {left = math.huge}
    if pushed then
      local u = tonumber(redis.call('HGET', RLU, n))
      if u and u > bnow then
        r.left, r.upto = 0, u
      elseif u then
        redis.call('HDEL', RLU, n)
      end
    end
    local lim = rl[n]
    if lim and r.left > 0 then
      redis.call('ZREMRANGEBYSCORE', lkey(n), '-inf', bnow - lim.dur)
      r.left = lim.max - redis.call('ZCARD', lkey(n))
    end
    room[n] = r
  end
  if r.left > 0 then return true end
  if r.upto then later(r.upto) else later(freeAt(lkey(n), rl[n])) end
  return false
end
-- A job of name n starts now: it counts in the windows.
local function rateTook(n, tk)
  local lim = rl[n]
  if lim then
    room[n].left = room[n].left - 1
    redis.call('ZADD', lkey(n), bnow, tk)
    redis.call('PEXPIRE', lkey(n), math.max(1, math.ceil(lim.dur)))
  end
  if grl then
    globalLeft = globalLeft - 1
    redis.call('ZADD', RLALL, bnow, tk)
    redis.call('PEXPIRE', RLALL, math.max(1, math.ceil(grl.dur)))
  end
end
local limited = grl ~= nil or next(rl) ~= nil or pushed
-- Groups: per name with capacity, its best free group (the first entry of P:h=<name>, checked
-- against the group's own head), so a claim costs O(names + taken x log groups) however many
-- groups wait. gout = names whose groups sit out the rest of this claim.
local gbest, gout = {}, {}
local function gpick(n)
  gbest[n] = nil
  for _ = 1, 100 do
    -- pcall: a name that came in during this claim was not checked before its first write; a key of
    -- another type gives no candidate here, and the next claim refuses it by name.
    local top = redis.pcall('ZRANGE', hkey(n), 0, 0, 'WITHSCORES')
    if top.err or #top == 0 then return end
    local g = string.sub(top[1], 33)
    local h = redis.pcall('ZRANGE', gkey(g), 0, 0, 'WITHSCORES')
    if not h.err and #h > 0 and tonumber(h[2]) == tonumber(top[2]) and string.sub(h[1], 1, 24) == string.sub(top[1], 9, 32) then
      gbest[n] = {g = g, nm = n, s = tonumber(top[2]), m = h[1], t = turnOf(g)}
      return
    end
    -- An entry out of step with its group (changed by another program): dropped, and the group
    -- looked at afresh (which writes its right entry, if it has one).
    redis.call('ZREM', hkey(n), top[1])
    gunindex(g)
    gcheck(g)
  end
end
-- The best head of a or b: priority (score), then the lane served longest ago, then runAt and insertion (member).
local function better(a, b) return a.s < b.s or (a.s == b.s and (a.t < b.t or (a.t == b.t and a.m < b.m))) end
ghTouched = {}
for _, n in ipairs(redis.call('SMEMBERS', GHN)) do
  local cap = caps[n]
  if cap == nil then
    unknown[#unknown + 1] = n
    gout[n] = true
  elseif cap <= 0 then
    waiting[#waiting + 1] = n
    gout[n] = true
  else
    gpick(n)
  end
end
-- Names whose index changed (a repaired entry, a group served) compete again with their best group.
-- A name the caller sent no capacity for (its jobs were only ever inside groups) ends this round: its
-- head may be better than the next pick, and the caller asks again with its capacity.
local stopped = false
local function repick()
  local t = ghTouched
  ghTouched = {}
  for n in pairs(t) do
    if caps[n] == nil then
      if not gout[n] and redis.call('EXISTS', hkey(n)) == 1 then
        unknown[#unknown + 1] = n
        gout[n], stopped = true, true
      end
    elseif caps[n] > 0 and not gout[n] then
      gpick(n)
    end
  end
end
repick()
local lfirst = redis.call('ZRANGE', LEASES, 0, 0, 'WITHSCORES')
local claimed, taken, taking, leases, count = {}, {}, {}, {}, 0
-- Claims job id (read whole: it is checked, changed, and returned from this one read). True when claimed.
local function take(id)
  local r = redis.pcall('HGETALL', jk(id))
  if r.err then
    broken[#broken + 1] = id
    return false
  end
  if #r == 0 then return false end
  local st, rc, att = 'scheduled', nil, 0
  for q = 1, #r, 2 do
    local f = r[q]
    if f == 'st' then st = r[q + 1] elseif f == 'rec' then rc = r[q + 1] elseif f == 'att' then att = num(r[q + 1]) end
  end
  if st ~= 'scheduled' then return false end
  count = count + 1
  if limited then
    local nm = nil
    for q = 1, #r, 2 do
      if r[q] == 'nm' then nm = r[q + 1] end
    end
    rateTook(nm, ARGV[6 + count])
  end
  if rc == '1' then bump('recurring', -1) end
  bump('scheduled', -1)
  bump('running', 1)
  local tk = ARGV[6 + count]
  redis.call('HSET', jk(id), 'st', 'running', 'tk', tk, 'att', att + 1)
  setField(r, 'st', 'running')
  setField(r, 'tk', tk)
  setField(r, 'att', tostring(att + 1))
  r[#r + 1] = 'id'
  r[#r + 1] = id
  leases[#leases + 1] = NOW + LEASE
  leases[#leases + 1] = id
  claimed[#claimed + 1] = r
  return true
end
-- A ready name the caller sent no capacity for may hold a better job: claim
-- nothing this round; the caller asks again with its capacity.
if #unknown > 0 then limit = 0 end
while count < limit and not stopped do
  -- Best head: priority (score), then the lane served longest ago, then runAt and insertion (member).
  local bn, bs, bm, bt, bg = nil, nil, nil, nil, nil
  local nt = turnOf('')
  for n, l in pairs(lists) do
    if (taken[n] or 0) >= caps[n] then
      -- Its slots went to grouped jobs of the name.
      waiting[#waiting + 1] = n
      lists[n] = nil
    elseif limited and not rateOk(n) then
      -- Over its rate limit: its jobs wait where they are.
      lists[n] = nil
    else
      local s, m = tonumber(l[pos[n] + 1]), l[pos[n]]
      if bn == nil or s < bs or (s == bs and (nt < bt or (nt == bt and m < bm))) then bn, bs, bm, bt, bg = n, s, m, nt, nil end
    end
  end
  -- The best group that may start now; a name that may not (full, or over its rate) sits out
  -- the rest of this claim.
  local c = nil
  for n, e in pairs(gbest) do
    if (taken[n] or 0) >= caps[n] then
      waiting[#waiting + 1] = n
      gbest[n], gout[n] = nil, true
    elseif limited and not rateOk(n) then
      gbest[n], gout[n] = nil, true
    elseif c == nil or better(e, c) then
      c = e
    end
  end
  if c and (bn == nil or c.s < bs or (c.s == bs and (c.t < bt or (c.t == bt and c.m < bm)))) then bn, bs, bm, bt, bg = c.nm, c.s, c.m, c.t, c.g end
  if bn == nil then break end
  if bg then
    -- The lane served goes to the back of the rotation (before the group's entry is written again).
    local tick = nextOf('gtick')
    turns[bg] = tick
    redis.call('HSET', GTURN, bg, tick)
    redis.call('ZREM', gkey(bg), bm)
    if take(string.sub(bm, 25)) then
      taken[bn] = (taken[bn] or 0) + 1
      grun(bg, 1)
    else
      gcheck(bg)
    end
    -- The served group's next head (or none), and whatever else changed, compete again.
    repick()
  else
    pos[bn] = pos[bn] + 2
    skip[bn] = (skip[bn] or 0) + 1
    local t = taking[bn]
    if not t then
      t = {}
      taking[bn] = t
    end
    t[#t + 1] = bm
    if take(string.sub(bm, 25)) then taken[bn] = (taken[bn] or 0) + 1 end
    if taken[bn] and taken[bn] >= caps[bn] then
      if pos[bn] <= #lists[bn] or redis.call('ZCARD', rkey(bn)) > skip[bn] then waiting[#waiting + 1] = bn end
      lists[bn] = nil
    elseif pos[bn] > #lists[bn] then
      fetch(bn)
    end
  end
  -- The plain lane served goes to the back of the rotation.
  if useTurns and not bg then
    local tick = nextOf('gtick')
    turns[''] = tick
    redis.call('HSET', GTURN, '', tick)
  end
end
for n, t in pairs(taking) do
  redis.call('ZREM', rkey(n), unpack(t))
  if redis.call('EXISTS', rkey(n)) == 0 then redis.call('SREM', READYN, n) end
end
if #leases > 0 then redis.call('ZADD', LEASES, unpack(leases)) end
-- A lease ending before every other one: every process's lease watch must know.
if count > 0 and (lfirst[2] == nil or NOW + LEASE < tonumber(lfirst[2])) then
  redis.call('PUBLISH', P .. 'wake', 'L' .. fmt(NOW + LEASE))
end
local retry = ''
if retryAt then retry = fmt(retryAt) end
return finish({'OK', claimed, waiting, unknown, retry})
`,
);
