/**
 * RedisStore's atomic `list`: one read-only script that gathers the order
 * keys of every wanted index, sorts them, and reads the records of the
 * requested window, so the answer is one instant's job set (a job that moves
 * between indexes while it is listed is seen once, in one of its states).
 *
 * A script blocks every other client of the server while it runs, so it only
 * runs when the indexes it would read are small: it first counts them (O(1)
 * each) and answers `{'BIG'}` above ARGV[1] entries, and the caller falls back
 * to the paged reads of list.ts. The due set counts only up to offset + limit
 * when no name filter applies (it is read in order, so later entries cannot
 * be in the window): `list({ limit })` stays atomic on a store of a million
 * scheduled jobs.
 */
import { FETCH_ONE, KEY_HELPERS, SHEBANG } from './lua.js';
import { script } from './script.js';

/** Most index entries one atomic list reads; above, list() pages (not a snapshot). */
export const ATOMIC_LIST_MAX = 2000;

/**
 * ARGV[1] = most entries to read, ARGV[2] = name ('' = any), ARGV[3] =
 * offset, ARGV[4] = offset + limit (-1 = all), ARGV[5..] = wanted states.
 * Reply: {'BIG'} (too many entries to read in one script) or {'OK', {hash...}}
 * (each hash ends with 'id', id; in runAt, then seq order).
 */
export const LIST_ATOMIC = script(
  'list',
  SHEBANG.readOnly,
  String.raw`
local cap, name, offset, need = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local want = {}
for i = 5, #ARGV do want[ARGV[i]] = true end
local LEASES, DONE, DEAD, READYN, READYG = P .. 'leases', P .. 'done', P .. 'dead', P .. 'readyn', P .. 'readyg'
local B64 = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'
local function seqOf(code)
  local n = 0
  for i = 1, 8 do n = n * 64 + string.find(B64, string.sub(code, i, i), 1, true) - 1 end
  return n
end

-- Count first: nothing is read unless the whole answer fits.
local size, states, readyNames, groups = 0, {}, {}, {}
if want.running then states[#states + 1] = LEASES end
if want.completed or want.cancelled then states[#states + 1] = DONE end
if want.dead then states[#states + 1] = DEAD end
for _, key in ipairs(states) do size = size + redis.call('ZCARD', key) end
local dueCount = 0
if want.scheduled then
  dueCount = redis.call('ZCARD', KEYS[1])
  if name == '' and need >= 0 and need < dueCount then dueCount = need end
  size = size + dueCount
  if name == '' then readyNames = redis.call('SMEMBERS', READYN) else readyNames = {name} end
  for _, n in ipairs(readyNames) do size = size + redis.call('ZCARD', rkey(n)) end
  groups = redis.call('SMEMBERS', READYG)
  for _, g in ipairs(groups) do size = size + redis.call('ZCARD', gkey(g)) end
end
if size > cap then return {'BIG'} end

local entries = {}
local function add(id, at, seq) entries[#entries + 1] = {id, at or 0, seq or 0} end
for _, key in ipairs(states) do
  for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local f = redis.pcall('HMGET', jk(id), 'at', 'seq', 'st', 'nm')
    if not f.err and f[4] and want[f[3] or 'scheduled'] and (name == '' or f[4] == name) then add(id, tonumber(f[1]), tonumber(f[2])) end
  end
end
if want.scheduled then
  for _, n in ipairs(readyNames) do
    for _, m in ipairs(redis.call('ZRANGE', rkey(n), 0, -1)) do add(string.sub(m, 25), tonumber(string.sub(m, 1, 16)), seqOf(string.sub(m, 17, 24))) end
  end
  for _, g in ipairs(groups) do
    for _, m in ipairs(redis.call('ZRANGE', gkey(g), 0, -1)) do
      local id = string.sub(m, 25)
      if name == '' or redis.pcall('HGET', jk(id), 'nm') == name then add(id, tonumber(string.sub(m, 1, 16)), seqOf(string.sub(m, 17, 24))) end
    end
  end
  if dueCount > 0 then
    local ms = redis.call('ZRANGE', KEYS[1], 0, dueCount - 1, 'WITHSCORES')
    for i = 1, #ms, 2 do
      local id = string.sub(ms[i], 9)
      if name == '' or redis.pcall('HGET', jk(id), 'nm') == name then add(id, tonumber(ms[i + 1]), seqOf(ms[i])) end
    end
  end
end
table.sort(entries, function(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  if a[3] ~= b[3] then return a[3] < b[3] end
  return a[1] < b[1]
end)

local out, seen, rank = {}, {}, 0
for _, e in ipairs(entries) do
  if need >= 0 and rank >= need then break end
  local id = e[1]
  if not seen[id] then
    seen[id] = true
    rank = rank + 1
    if rank > offset then fetchInto(out, id) end
  end
end
return {'OK', out}
`,
  KEY_HELPERS + FETCH_ONE,
);
