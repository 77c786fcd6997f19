/**
 * Child process for test/loader-keepalive.test.ts: starts a DirectoryLoader
 * and reports on stdout whether the event loop ran dry ('beforeExit') while
 * the loader was still started, and when SIGUSR2 made it stop.
 * Usage: node --import tsx test/loader-keepalive.child.ts <dir> <watch|unref|nowatch>
 */
import { DirectoryLoader } from '../src/index.js';
import { Scheduler } from '../src/scheduler.js';

const [dir, mode] = process.argv.slice(2) as [string, 'watch' | 'unref' | 'nowatch'];
// unref: only the loader may keep this process alive.
const scheduler = new Scheduler({ unref: true });
await scheduler.start();
const loader = new DirectoryLoader(scheduler, { dir, settleMs: 20, ...(mode === 'unref' ? { unref: true } : {}), ...(mode === 'nowatch' ? { watch: false } : {}) });
let loaded = 0;
loader.on('fileLoaded', () => loaded++);
let stopped = false;
const stop = async (): Promise<void> => {
  stopped = true;
  await loader.stop();
  await scheduler.stop();
  console.log('stopped');
};
// Emitted only when nothing keeps the process alive any more.
process.on('beforeExit', () => {
  if (stopped) return;
  console.log('idle while started');
  void stop();
});
process.on('SIGUSR2', () => {
  console.log('stopping on signal');
  void stop();
});
await loader.start();
console.log(`started, ${loaded} loaded`);
