/**
 * `list` for RedisStore: jobs in runAt order (then insertion order), read in
 * two passes so a call reads only what it returns.
 *
 * 1. Order keys (id, runAt, seq) from the indexes of the wanted states, never
 *    whole records: the due set is already in (runAt, seq) order, so it is
 *    read only up to offset + limit entries; running (leases), ready, and the
 *    retained finished and dead jobs are bounded sets, read in pages and
 *    sorted here. Name filters run on the server.
 * 2. The records of the requested window only (FETCH).
 *
 * There is no index of every job: it cost a second sorted-set entry per job.
 *
 * When the indexes to read are small (at most ATOMIC_LIST_MAX entries, the
 * due set counted up to offset + limit), both passes run in one script
 * instead (list-script.ts), so the answer is a snapshot. Above that the
 * passes are paged and the answer is not a snapshot: a job that moves
 * between the reads may be missed or seen in its new state.
 */
import type { JobRecord, StoreListFilter } from '../store.js';
import type { JobState } from '../../types.js';
import { decodeRecord, type RawHash } from './codec.js';
import { decodeSeq, SEQ_WIDTH } from './keys.js';
import { ATOMIC_LIST_MAX, LIST_ATOMIC } from './list-script.js';
import { DUE_PAGE, FETCH, READY_PAGE, STATE_PAGE, type Script } from './scripts.js';

const PAGE = 1000;
const ALL_STATES: readonly JobState[] = ['scheduled', 'running', 'completed', 'dead', 'cancelled'];

interface Entry {
  id: string;
  at: number;
  seq: number;
}

/** What `list` needs from the store: read-only script calls and the ready names. */
export interface ListSource {
  read(script: Script, args: readonly (string | number)[]): Promise<unknown>;
  readyNames(): Promise<string[]>;
  /** Groups with ready jobs. */
  readyGroups(): Promise<string[]>;
}

const byOrder = (a: Entry, b: Entry): number => a.at - b.at || a.seq - b.seq;

async function stateIndex(source: ListSource, kind: 'leases' | 'done' | 'dead', name: string, states: readonly JobState[], out: Entry[]): Promise<void> {
  for (let start = 0; ; start += PAGE) {
    const [read, flat] = (await source.read(STATE_PAGE, [kind, start, start + PAGE - 1, name, ...states])) as [number, string[]];
    for (let i = 0; i + 2 < flat.length; i += 3) out.push({ id: flat[i] as string, at: Number(flat[i + 1]), seq: Number(flat[i + 2]) });
    if (Number(read) < PAGE) return;
  }
}

async function readySets(source: ListSource, name: string, out: Entry[]): Promise<void> {
  const names = name === '' ? await source.readyNames() : [name];
  const sets: [kind: string, key: string][] = names.map((n) => ['r', n]);
  for (const g of await source.readyGroups()) sets.push(['g', g]);
  for (const [kind, n] of sets) {
    for (let start = 0; ; start += PAGE) {
      const members = (await source.read(READY_PAGE, [n, start, start + PAGE - 1, kind, kind === 'g' ? name : ''])) as string[];
      for (const m of members) out.push({ at: Number(m.slice(0, 16)), seq: decodeSeq(m.slice(16, 16 + SEQ_WIDTH)), id: m.slice(16 + SEQ_WIDTH) });
      if (members.length < PAGE) break;
    }
  }
}

/** The first `need` entries of the due set (by runAt, then seq) matching `name`. */
async function dueSet(source: ListSource, name: string, need: number, out: Entry[]): Promise<void> {
  let found = 0;
  for (let start = 0; found < need; ) {
    // Unfiltered, the first entries are the answer; filtered, read whole pages.
    const size = name === '' ? Math.min(PAGE, need - found) : PAGE;
    const [read, flat] = (await source.read(DUE_PAGE, [start, start + size - 1, name])) as [number, string[]];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const m = flat[i] as string;
      out.push({ id: m.slice(SEQ_WIDTH), seq: decodeSeq(m), at: Number(flat[i + 1]) });
      found++;
    }
    start += Number(read);
    if (Number(read) < size) return;
  }
}

export async function listRecords(source: ListSource, filter: StoreListFilter): Promise<JobRecord[]> {
  const offset = filter.offset ?? 0;
  const need = filter.limit === undefined ? Infinity : offset + filter.limit;
  const states = filter.states ?? ALL_STATES;
  if (need === 0 || states.length === 0) return [];
  const want = new Set(states);
  const name = filter.name ?? '';
  const keep = (record: JobRecord | undefined): record is JobRecord => record !== undefined && want.has(record.state) && (name === '' || record.name === name);
  const atomic = (await source.read(LIST_ATOMIC, [ATOMIC_LIST_MAX, name, offset, need === Infinity ? -1 : need, ...states])) as [string, RawHash[]?];
  if (atomic[0] === 'OK') return (atomic[1] ?? []).map((raw) => decodeRecord(raw)).filter(keep);
  const entries: Entry[] = [];
  if (want.has('running')) await stateIndex(source, 'leases', name, ['running'], entries);
  const done = states.filter((s) => s === 'completed' || s === 'cancelled');
  if (done.length > 0) await stateIndex(source, 'done', name, done, entries);
  if (want.has('dead')) await stateIndex(source, 'dead', name, ['dead'], entries);
  if (want.has('scheduled')) {
    await readySets(source, name, entries);
    await dueSet(source, name, need, entries);
  }
  entries.sort(byOrder);
  const seen = new Set<string>();
  const window: string[] = [];
  for (const e of entries) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    window.push(e.id);
  }
  const ids = window.slice(offset, need === Infinity ? undefined : need);
  const records: JobRecord[] = [];
  for (let i = 0; i < ids.length; i += PAGE) {
    for (const raw of (await source.read(FETCH, ids.slice(i, i + PAGE))) as RawHash[]) {
      const record = decodeRecord(raw);
      // Moved since the first pass: leave it out rather than show it under the wrong filter.
      if (keep(record)) records.push(record);
    }
  }
  return records;
}
