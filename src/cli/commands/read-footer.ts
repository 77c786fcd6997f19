/**
 * What a read saw, for the end of a table and the `source` member of JSON
 * output: for a folder, up to which byte of which journal it read (the app
 * may be appending meanwhile), and who holds the LOCK.
 */
import type { StoreReader } from '../open-store.js';

export interface SourceInfo {
  store: string;
  kind: 'json-file' | 'redis' | 'postgres';
  /** JsonFileStore: the point in the journals the jobs shown reflect. */
  readPoint?: { journal: string; generation: number; offset: number; size: number; tailBytes: number };
  snapshot?: { file: string; generation: number };
  lockHolder?: { pid: number; host: string; since: string };
  warnings?: string[];
}

export function sourceInfo(reader: StoreReader): SourceInfo {
  const info: SourceInfo = { store: reader.location, kind: reader.kind };
  const i = reader.inspection;
  if (i) {
    if (i.readPoint) info.readPoint = i.readPoint;
    if (i.snapshot) info.snapshot = { file: i.snapshot.file, generation: i.snapshot.generation };
    if (i.lock) info.lockHolder = { pid: i.lock.pid, host: i.lock.host, since: i.lock.since };
    if (i.warnings.length > 0) info.warnings = i.warnings;
  }
  return info;
}

/** One or two lines: where the data came from. */
export function footer(info: SourceInfo): string {
  const lines: string[] = [];
  const p = info.readPoint;
  if (p) {
    const tail = p.tailBytes > 0 ? `; ${p.tailBytes} bytes after it not read (a write in progress or a torn tail)` : '';
    lines.push(`read ${info.store} (${info.snapshot ? `${info.snapshot.file} + ` : ''}journals up to byte ${p.offset} of ${p.size} in ${p.journal}${tail})`);
  } else lines.push(`read ${info.store}`);
  if (info.lockHolder) lines.push(`LOCK names process ${info.lockHolder.pid}${info.lockHolder.host ? ` on ${info.lockHolder.host}` : ''} (since ${info.lockHolder.since}): not taken, nothing written`);
  return `${lines.join('\n')}\n`;
}
