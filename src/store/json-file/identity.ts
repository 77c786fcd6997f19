/**
 * Who holds a lock, and whether that process still runs. A pid alone proves
 * nothing: pids are reused, and containers sharing a volume see other pid
 * namespaces or other machines. So a lock records the boot id of the kernel
 * (/proc/sys/kernel/random/boot_id), the pid namespace (the inode of
 * /proc/self/ns/pid) and the process start time (/proc/<pid>/stat field 22):
 * when boot id and namespace match ours, "pid exists and started at that
 * tick" decides at once whether the holder lives. Otherwise nothing local
 * can decide, and the lock is judged by its heartbeat (lock.ts).
 *
 * /proc is read through the FsLayer (a simulation answers with its own
 * process identities); where it does not exist (macOS), only the pid is
 * known.
 */
import os from 'node:os';
import { type FsLayer, hasCode } from './fs.js';

export interface ProcessIdentity {
  pid: number;
  host: string;
  /** Kernel boot id: equal = the same running kernel (not rebooted since). */
  boot?: string;
  /** Pid namespace: equal (on the same kernel) = pids mean the same processes. */
  pidns?: number;
  /** Start time, clock ticks after boot. */
  start?: number;
}

async function readText(layer: FsLayer, file: string): Promise<string | undefined> {
  try {
    return (await layer.readFile(file)).toString('utf8');
  } catch {
    return undefined;
  }
}

/** Start time (ticks after boot) of process `pid`, or undefined when unknown or gone. */
export async function processStart(layer: FsLayer, pid: number | 'self'): Promise<number | undefined> {
  const stat = await readText(layer, `/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // Field 2 (the name) is in parentheses and may hold spaces: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

/** This process. */
export async function selfIdentity(layer: FsLayer): Promise<ProcessIdentity> {
  const id: ProcessIdentity = { pid: process.pid, host: os.hostname() };
  const boot = (await readText(layer, '/proc/sys/kernel/random/boot_id'))?.trim();
  if (boot) id.boot = boot;
  try {
    id.pidns = (await layer.stat('/proc/self/ns/pid')).ino;
  } catch {
    // no /proc: pids are compared as they are
  }
  const start = await processStart(layer, 'self');
  if (start !== undefined) id.start = start;
  return id;
}

/** When this machine booted, epoch ms (/proc/stat `btime`), or undefined. */
export async function bootTime(layer: FsLayer): Promise<number | undefined> {
  const stat = await readText(layer, '/proc/stat');
  const m = stat === undefined ? null : /^btime (\d+)$/m.exec(stat);
  return m ? Number(m[1]) * 1000 : undefined;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
export const TICKS_PER_SECOND = 100;

/** True when a process `pid` exists (EPERM: it exists, owned by someone else). */
export function pidExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return hasCode(error, 'EPERM');
  }
}
