/**
 * RedisStore's side of `scheduler.pause({ everywhere: true })`.
 *
 * HOW
 * - `P:pause` is a hash: `v` (a version, raised by every change) and `on`
 *   ('1' while paused). The SET_PAUSE script changes it and publishes
 *   `P<version>,<0|1>,<store id>` on `P:wake`, which every store already
 *   listens to: the other processes stop (or start) claiming at once.
 * - The CLAIM script checks `on` before anything else and claims nothing
 *   while it is set (reply 'PAUSED'), so a process that missed the notice
 *   cannot start a job either: it learns the pause from that reply.
 * - Every poll also reads the hash, so a process that missed a resume
 *   notice starts claiming again within its poll interval.
 * - Versions order what arrives by different paths (notice, poll, claim
 *   reply): a state older than the one known is ignored.
 */
import { createHash } from 'node:crypto';
import { PRELUDE, SHEBANG } from './lua.js';
import type { Script } from './script.js';
import type { PauseState } from '../store.js';

/**
 * ARGV[4] = '1' to pause, '' to resume; ARGV[5] = the id of the calling
 * store (so it can ignore its own notice). Allowed when Redis is out of
 * memory: pausing is how an operator stops new work. Reply: {'OK', version}.
 */
const LUA = `${SHEBANG.finishes}
${PRELUDE}
guard()
local PAUSE = P .. 'pause'
expect(PAUSE, 'hash')
local v = redis.call('HGET', PAUSE, 'v')
if v and not string.find(v, '^%d+$') then fail({code = 'BADVALUE', key = PAUSE, field = 'v', want = 'an integer', got = v}) end
v = num(v) + 1
redis.call('HSET', PAUSE, 'v', v)
if ARGV[4] == '1' then redis.call('HSET', PAUSE, 'on', '1') else redis.call('HDEL', PAUSE, 'on') end
redis.call('PUBLISH', P .. 'wake', 'P' .. v .. ',' .. (ARGV[4] == '1' and '1' or '0') .. ',' .. ARGV[5])
return finish({'OK', v}, true)
`;

export const SET_PAUSE: Script = { name: 'pause', lua: LUA, sha: createHash('sha1').update(LUA).digest('hex') };

/**
 * The Lua the CLAIM script runs right after `guard()`: while paused it
 * claims nothing and replies {'PAUSED', {}, {}, {}, '', version, summary}.
 */
export const CLAIM_PAUSE_CHECK = String.raw`
local pz = redis.pcall('HMGET', P .. 'pause', 'on', 'v')
if pz.err then fail({code = 'WRONGTYPE', key = P .. 'pause', want = 'hash', got = typeOf(P .. 'pause')}) end
if pz[1] then return finish({'PAUSED', {}, {}, {}, '', pz[2] or '0'}, true) end
`;

/** A pause notice from `P:wake`: `P<version>,<0|1>,<store id>`, or undefined when malformed. */
export function parsePauseNotice(message: string): { state: PauseState; from: string } | undefined {
  const parts = message.slice(1).split(',');
  if (parts.length !== 3) return undefined;
  const version = Number(parts[0]);
  if (!Number.isSafeInteger(version) || (parts[1] !== '0' && parts[1] !== '1')) return undefined;
  return { state: { paused: parts[1] === '1', version }, from: parts[2] as string };
}

/** The state an `HMGET P:pause on v` read (or a 'PAUSED' claim reply) stands for. */
export function pauseFromFields(on: string | null | undefined, version: string | null | undefined): PauseState {
  const v = Number(version ?? 0);
  return { paused: on === '1', version: Number.isSafeInteger(v) ? v : 0 };
}

/** The store-wide pause as this process knows it: only newer states get through. */
export class PauseView {
  state: PauseState = { paused: false, version: 0 };

  /**
   * Takes `next` when it is newer; true when it changed what is known.
   * `reset`: a read found no pause key at all (deleted, e.g. with the rest
   * of the prefix): not paused, and versions start over.
   */
  offer(next: PauseState, reset = false): boolean {
    if (reset && this.state.version > 0) {
      const was = this.state.paused;
      this.state = { paused: false, version: 0 };
      return was;
    }
    if (next.version <= this.state.version) return false;
    this.state = next;
    return true;
  }
}
