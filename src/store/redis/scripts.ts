/**
 * The Lua scripts RedisStore runs. Every state change is one script, so it is
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
import { createHash } from 'node:crypto';
import { KEY_HELPERS, PRELUDE, SHEBANG } from './lua.js';
import { CLAIM_PAUSE_CHECK } from './pause.js';

/** A script and its SHA-1 for EVALSHA. */
export interface Script {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

function script(name: string, shebang: string, body: string, prelude = PRELUDE): Script {
  const lua = `${shebang}\n${prelude}\n${body}`;
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * ARGV[4] = number of groups; each group: its size n, then n requests of 18
 * values (id, mode, 16 record fields). Each group is all or none on its own:
 * its duplicates are decided (reads only) before it writes anything.
 * A mode `d<T|D>:<ttlMs>:<key>` is a dedupe window (InsertRequest.dedupe;
 * T = throttle, D = debounce; a created job rejects a taken id): the string
 * `P:dd=<n>.<name><key>` (n = length of the encoded name) holds `<end>|<id>` of the window's job (end in the
 * createdAt frame, compared with the request's createdAt; PX ttlMs only
 * removes it once unused).
 * Reply: {{per group: {'OK', {{'inserted'|'replaced', seq, previousHash|false} |
 * {'kept'|'throttled', hash} | {'debounced', hash, previousHash}}} | {'DUP', id} |
 * {'WRONGTYPE', id, type} | {'WRONGTYPE_KEY', key, type}}, summary}.
 */
export const INSERT = script(
  'insert',
  SHEBANG.mayGrow,
  String.raw`
guard()
local W = 18
local groups = tonumber(ARGV[4])
local i = 5
local results = {}
local replaced = false
-- Windows written by this script so far: key -> {end, id}.
local windows = {}
-- The open window (end, id) of dedupe request at ARGV[j] (mode d...), or nil; false = its key is not a string.
-- gw: the windows its own group opens before it (written only if the group is).
local function window(j, wkey, gw)
  local w = gw[wkey] or windows[wkey]
  if w == nil then
    local v = redis.pcall('GET', wkey)
    if type(v) == 'table' and v.err then return false end
    if not v then return nil end
    local e, wid = string.match(v, '^([^|]*)|(.*)$')
    if not e then return nil end
    w = {tonumber(e) or 0, wid}
  end
  if tonumber(ARGV[j + 3]) < w[1] then return w end
  return nil
end
for g = 1, groups do
  local n = tonumber(ARGV[i])
  local first = i + 1
  local seen, existed, dd, gw = {}, {}, {}, {}
  local verdict = nil
  for r = 0, n - 1 do
    local j = first + r * W
    local id, mode, sig = ARGV[j], ARGV[j + 1], ARGV[j + 12]
    if string.sub(mode, 1, 1) == 'd' then
      local kind, ttl, key = string.match(mode, '^d([TD]):(%d+):(.*)$')
      local en = esc(ARGV[j + 9])
      local d = {kind = kind, ttl = ttl, wkey = P .. 'dd=' .. #en .. '.' .. en .. esc(key)}
      dd[r] = d
      local w = window(j, d.wkey, gw)
      if w == false then
        verdict = {'WRONGTYPE_KEY', d.wkey, typeOf(d.wkey)}
        break
      end
      if w then
        -- The window's job, unless it is gone (removed by retention): then a new job opens a new window.
        local wh = seen[w[2]] ~= nil and {st = 'scheduled'} or head(w[2])
        if wh == false then
          verdict = {'WRONGTYPE', w[2], typeOf(jk(w[2]))}
          break
        end
        if wh and (kind == 'T' or wh.st == 'scheduled') then
          d.hit, d.id = kind, w[2]
          if kind == 'D' and seen[w[2]] == nil then checkReady(wh) end
        end
      end
      mode = 'reject'
      d.e = tonumber(ARGV[j + 3]) + tonumber(ttl)
      if kind == 'D' or not d.hit then gw[d.wkey] = {d.e, d.id or id} end
    end
    local cur = seen[id]
    if cur == nil and not (dd[r] and dd[r].hit) then
      local h = head(id)
      if h == false then
        verdict = {'WRONGTYPE', id, typeOf(jk(id))}
        break
      end
      if h and h.st == 'scheduled' then
        local t = typeOf(h.gr and gkey(h.gr) or rkey(h.nm))
        if t ~= 'none' and t ~= 'zset' then
          verdict = {'WRONGTYPE_READY', h.nm, t}
          break
        end
      end
      if h then cur = h.sig or '' else cur = false end
    end
    existed[r] = cur ~= false and cur ~= nil
    if dd[r] and dd[r].hit then
      -- Inside an open window: no insert, no id check.
    elseif cur ~= false then
      if mode == 'reject' then
        verdict = {'DUP', id}
        break
      end
      if mode == 'keepIfSame' and (cur == '' or sig == '' or cur ~= sig) then
        verdict = {'DUP', id}
        break
      end
      if mode == 'replace' then seen[id] = sig end
    else
      seen[id] = sig
    end
  end
  if verdict then
    results[g] = verdict
  else
    local out = {}
    for r = 0, n - 1 do
      local j = first + r * W
      local id, mode = ARGV[j], ARGV[j + 1]
      local d = dd[r]
      if d and d.hit == 'T' then
        out[#out + 1] = {'throttled', rec(d.id)}
      elseif d and d.hit == 'D' then
        -- Debounce: the pending job takes this payload and due time (its seq stays), and the window restarts.
        local h = head(d.id)
        local prev = rec(d.id)
        unindex(d.id, h)
        local k = jk(d.id)
        redis.call('HSET', k, 'pl', ARGV[j + 2], 'at', ARGV[j + 6])
        if ARGV[j + 15] == '' then redis.call('HDEL', k, 'rl') else redis.call('HSET', k, 'rl', ARGV[j + 15]) end
        h.at = ARGV[j + 6]
        index(d.id, h)
        windows[d.wkey] = {d.e, d.id}
        redis.call('SET', d.wkey, fmt(d.e) .. '|' .. d.id, 'PX', d.ttl)
        out[#out + 1] = {'debounced', rec(d.id), prev}
      elseif existed[r] and (mode == 'keep' or mode == 'keepIfSame') then
        out[#out + 1] = {'kept', rec(id)}
      else
        local prev = false
        if existed[r] then
          replaced = true
          local h = head(id)
          prev = rec(id)
          if h.st == 'running' then lost('replaced', id, h.tk) end
          unindex(id, h)
          redis.call('DEL', jk(id))
        end
        local seq = nextOf('seq')
        index(id, put(id, j + 2, seq, not existed[r]))
        if d then
          windows[d.wkey] = {d.e, id}
          redis.call('SET', d.wkey, fmt(d.e) .. '|' .. id, 'PX', d.ttl)
        end
        out[#out + 1] = {existed[r] and 'replaced' or 'inserted', seq, prev}
      end
    end
    results[g] = {'OK', out}
  end
  i = first + n * W
end
return finish({results}, not replaced)
`,
);

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
-- The heads of the groups that may start a job now (GFREE), each with its name and limit.
local heads = {}
local function gfetch(g)
  heads[g] = nil
  for _ = 1, 100 do
    -- pcall: a group key of another type (written by another program) is skipped, never written.
    local top = redis.pcall('ZRANGE', gkey(g), 0, 0, 'WITHSCORES')
    if top.err or #top == 0 then return end
    local id = string.sub(top[1], 25)
    local f = redis.pcall('HMGET', jk(id), 'nm', 'gm', 'st')
    if not f.err and f[1] and not f[3] then
      heads[g] = {s = tonumber(top[2]), m = top[1], nm = f[1], gm = tonumber(f[2]) or 1}
      return
    end
    -- Gone, no longer scheduled, or broken: the entry only leaves the group.
    if f.err then broken[#broken + 1] = id end
    redis.call('ZREM', gkey(g), top[1])
  end
end
for _, g in ipairs(redis.call('SMEMBERS', GFREE)) do
  gfetch(g)
  local c = heads[g]
  if c and caps[c.nm] == nil then unknown[#unknown + 1] = c.nm end
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
-- Running jobs per group.
local gruns = {}
local function runningOf(g) return cached(gruns, GRUN, g) end
-- Lanes take turns only when some group competes: otherwise every head is in lane ''.
local useTurns = next(heads) ~= nil
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
-- The groups' heads in a binary heap (best first), built once: a claim costs O(groups + taken x log groups).
local function better(a, b) return a.s < b.s or (a.s == b.s and (a.t < b.t or (a.t == b.t and a.m < b.m))) end
local hq = {}
local function down(i)
  local n, c = #hq, hq[i]
  while true do
    local k = 2 * i
    if k > n then break end
    if k + 1 <= n and better(hq[k + 1], hq[k]) then k = k + 1 end
    if not better(hq[k], c) then break end
    hq[i] = hq[k]
    i = k
  end
  hq[i] = c
end
local function hpop()
  local n = #hq
  hq[1] = hq[n]
  hq[n] = nil
  if n > 1 then down(1) end
end
local function hpush(c)
  local i = #hq + 1
  while i > 1 do
    local p = math.floor(i / 2)
    if not better(c, hq[p]) then break end
    hq[i] = hq[p]
    i = p
  end
  hq[i] = c
end
for g, h in pairs(heads) do hq[#hq + 1] = {g = g, s = h.s, m = h.m, nm = h.nm, gm = h.gm, t = turnOf(g)} end
for i = math.floor(#hq / 2), 1, -1 do down(i) end
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
while count < limit do
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
  -- The best group that may start now; one that may not (its name full or over its rate, the
  -- group full) stays out for the rest of this claim.
  local c = hq[1]
  while c do
    local cap = caps[c.nm]
    if cap == nil or runningOf(c.g) >= c.gm then
      hpop()
    elseif (taken[c.nm] or 0) >= cap then
      waiting[#waiting + 1] = c.nm
      hpop()
    elseif limited and not rateOk(c.nm) then
      hpop()
    else
      break
    end
    c = hq[1]
  end
  if c and (bn == nil or c.s < bs or (c.s == bs and (c.t < bt or (c.t == bt and c.m < bm)))) then bn, bs, bm, bt, bg = c.nm, c.s, c.m, c.t, c.g end
  if bn == nil then break end
  local lane = ''
  if bg then
    lane = bg
    hpop()
    redis.call('ZREM', gkey(bg), bm)
    if take(string.sub(bm, 25)) then
      taken[bn] = (taken[bn] or 0) + 1
      gruns[bg] = runningOf(bg) + 1
      grun(bg, 1)
    else
      gcheck(bg)
    end
    gfetch(bg)
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
  -- The lane served goes to the back of the rotation.
  if useTurns then
    local tick = nextOf('gtick')
    turns[lane] = tick
    redis.call('HSET', GTURN, lane, tick)
  end
  -- The served group's next job competes again, with its new turn.
  if bg and heads[bg] and runningOf(bg) < heads[bg].gm then
    local h = heads[bg]
    hpush({g = bg, s = h.s, m = h.m, nm = h.nm, gm = h.gm, t = turnOf(bg)})
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
      local over = redis.call('ZCARD', lk) - keep
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
for _, id in ipairs(ARGV) do
  local r = redis.pcall('HGETALL', jk(id))
  if not r.err and #r > 0 then
    r[#r + 1] = 'id'
    r[#r + 1] = id
    out[#out + 1] = r
  end
end
return out
`,
  KEY_HELPERS,
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

/** Every script, loaded at open so a burst of first calls does not all miss the script cache. */
export const SCRIPTS: readonly Script[] = [INSERT, CLAIM, SETTLE, CANCEL, RESCHEDULE, REVIVE, RENEW, RELEASE, TICK, DUE_PAGE, STATE_PAGE, READY_PAGE, FETCH, PUSH_BACK];
