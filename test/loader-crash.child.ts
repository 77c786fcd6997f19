/**
 * Child process for test/loader-crash.test.ts: a scheduler on a JsonFileStore
 * with a DirectoryLoader, killed with SIGKILL from inside the scheduler's
 * `scheduled` listener once `killAt` jobs are durably scheduled, i.e. after
 * the store write and before the loader's archive step.
 * In keep mode the kill lands before the state file records the file.
 * Usage: node --import tsx test/loader-crash.child.ts <dir> <storeDir> <killAt> [archive|keep]
 */
import { DirectoryLoader } from '../src/loader/loader.js';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { T0 } from './helpers.js';

const [dir, storeDir, killAt, onLoaded = 'archive'] = process.argv.slice(2) as [string, string, string, ('archive' | 'keep')?];
const scheduler = new Scheduler({ store: new JsonFileStore(storeDir), clock: new VirtualClock(T0) });
await scheduler.start();
let count = 0;
scheduler.on('scheduled', () => {
  if (++count >= Number(killAt)) process.kill(process.pid, 'SIGKILL');
});
const loader = new DirectoryLoader(scheduler, { dir, settleMs: 20, watch: false, onLoaded });
await loader.start();
// Reached only if no job was scheduled.
process.exitCode = 3;
await loader.stop();
await scheduler.stop();
