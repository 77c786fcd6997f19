/**
 * An independent oracle for cron slots, written without src/cron.ts: is
 * instant `t` a slot of `expr` in zone `tz` under SPEC §2's DST rule
 * (cronie's, as croner 11 follows)?
 *
 * - Interval expressions (minute or hour field starting with `*`, or a
 *   seconds field that is not a single number) follow real elapsed time: a
 *   slot is any instant whose local wall time matches, so a repeated hour
 *   runs twice and wall times inside a gap never run.
 * - Fixed-time expressions run a repeated wall time once, at its first
 *   occurrence, and a wall time inside a gap at the gap's end.
 *
 * Local wall time comes from Intl (the platform's tz database), offsets
 * cached per quarter hour: every zone the simulation uses changes offset
 * only on quarter-hour boundaries. Only the syntax the simulation generates
 * is understood: `*`, numbers, ranges, steps and lists; 5 or 6 fields.
 */

const QUARTER = 15 * 60_000;
const HOUR = 3_600_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, number>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Offset of zone `tz` at instant `t`, ms (local wall = t + offset). */
export function offsetAt(tz: string, t: number): number {
  const q = Math.floor(t / QUARTER) * QUARTER;
  const key = `${tz}@${q}`;
  const cached = offsets.get(key);
  if (cached !== undefined) return cached;
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(q))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year ?? 0, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
  const offset = wall - q;
  if (offsets.size > 200_000) offsets.clear();
  offsets.set(key, offset);
  return offset;
}

interface Fields {
  sec: Set<number>;
  min: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  mon: Set<number>;
  dow: Set<number>;
  domStar: boolean;
  dowStar: boolean;
  interval: boolean;
}

function field(text: string, lo: number, hi: number): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    let a = lo;
    let b = hi;
    if (range !== '*') {
      const [x, y] = range.split('-');
      a = Number(x);
      b = y === undefined ? (stepText === undefined ? a : hi) : Number(y);
    }
    if (!Number.isInteger(a) || !Number.isInteger(b) || !Number.isInteger(step) || step <= 0) {
      throw new Error(`cron oracle: cannot read field '${text}'`);
    }
    for (let v = a; v <= b; v += step) out.add(v);
  }
  return out;
}

const parsed = new Map<string, Fields>();

function parse(expr: string): Fields {
  let f = parsed.get(expr);
  if (f) return f;
  const parts = expr.trim().split(/\s+/);
  if (parts.length === 5) parts.unshift('0');
  if (parts.length !== 6) throw new Error(`cron oracle: expected 5 or 6 fields, got '${expr}'`);
  const [s, mi, h, dom, mon, dow] = parts as [string, string, string, string, string, string];
  const dowSet = field(dow, 0, 7);
  if (dowSet.has(7)) dowSet.add(0);
  f = {
    sec: field(s, 0, 59),
    min: field(mi, 0, 59),
    hour: field(h, 0, 23),
    dom: field(dom, 1, 31),
    mon: field(mon, 1, 12),
    dow: dowSet,
    domStar: dom === '*',
    dowStar: dow === '*',
    interval: mi.startsWith('*') || h.startsWith('*') || !/^\d+$/.test(s),
  };
  parsed.set(expr, f);
  return f;
}

/** True when the wall time `wall` (local time written as UTC epoch ms) matches the fields. */
function wallMatches(f: Fields, wall: number): boolean {
  const d = new Date(wall);
  if (d.getUTCMilliseconds() !== 0) return false;
  if (!f.sec.has(d.getUTCSeconds()) || !f.min.has(d.getUTCMinutes()) || !f.hour.has(d.getUTCHours())) return false;
  if (!f.mon.has(d.getUTCMonth() + 1)) return false;
  const domOk = f.dom.has(d.getUTCDate());
  const dowOk = f.dow.has(d.getUTCDay());
  if (f.domStar && f.dowStar) return true;
  if (f.domStar) return dowOk;
  if (f.dowStar) return domOk;
  return domOk || dowOk; // SPEC §2: day-of-month and day-of-week combine with OR
}

/** Whether the expression follows elapsed time through DST changes (interval) or wall time (fixed-time). */
export function isInterval(expr: string): boolean {
  return parse(expr).interval;
}

/** Why `t` is not a slot of `expr` in `tz`, or undefined when it is one. */
export function slotProblem(expr: string, tz: string | undefined, t: number, rule: 'cronie' | 'wall' = 'cronie'): string | undefined {
  const zone = tz ?? 'UTC';
  const f = parse(expr);
  const wall = t + offsetAt(zone, t);
  const before = offsetAt(zone, t - 1);
  const after = offsetAt(zone, t);
  // 'wall': every expression follows the fixed-time rule (main before issue 13.1).
  if (f.interval && rule === 'cronie') {
    return wallMatches(f, wall) ? undefined : `local ${iso(wall)} (${zone}) does not match '${expr}'`;
  }
  // Fixed-time: a slot at a gap's end covers every matching wall time in the gap.
  if (before < after) {
    const step = f.sec.size === 1 && f.sec.has(0) ? 60_000 : 1000;
    for (let w = t + before; w <= t + after; w += step) if (wallMatches(f, w)) return undefined;
  }
  if (!wallMatches(f, wall)) return `local ${iso(wall)} (${zone}) does not match '${expr}'`;
  // The first instant with this wall time: any earlier instant mapping to it?
  for (const probe of [t - 3 * HOUR, t - HOUR, t - 1]) {
    const o = offsetAt(zone, probe);
    const other = wall - o;
    if (other < t && offsetAt(zone, other) === o) {
      return `local ${iso(wall)} (${zone}) occurred first at ${iso(other)}Z; a fixed-time expression runs only its first occurrence`;
    }
  }
  return undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', '');
}
