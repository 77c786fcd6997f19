/**
 * RedisStore's INSERT script: groups of new jobs, each group all or none,
 * with duplicate ids and dedupe windows decided on the server. Key layout and
 * the reply summary every writing script ends with: scripts.ts.
 */
import { SHEBANG } from './lua.js';
import { script } from './script.js';

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
