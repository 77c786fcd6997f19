/**
 * A child process for the CLI tests: an app that holds a JsonFileStore open
 * (its LOCK taken) and writes jobs when told, over stdin:
 *   `burst N`  schedules N jobs, one durable write each, then prints `done <total>`
 *   `stream M` schedules jobs, M ms apart (0: without pause), until `stop` (prints `done <total>`)
 *   `exit`     stops the scheduler and exits
 * Prints `ready <pid>` once the store is open. The heartbeat is slowed down
 * (staleLockMs) so the LOCK's bytes stay put while the tests hash the folder.
 */
import { createInterface } from 'node:readline';
import { JsonFileStore, Scheduler } from '../src/index.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: cli-holder.child.ts <store dir>');
const scheduler = new Scheduler({ store: new JsonFileStore(dir, { staleLockMs: 3_600_000 }) });
await scheduler.start();
let total = 0;
let streaming = false;
const one = (): Promise<unknown> => scheduler.scheduleIn('live.write', 86_400_000, { n: ++total, text: 'x'.repeat(total % 300) }, { id: `live-${total}` });

process.stdout.write(`ready ${process.pid}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg] = line.trim().split(/\s+/);
  if (command === 'burst') {
    for (let i = 0; i < Number(arg); i++) await one();
    process.stdout.write(`done ${total}\n`);
  } else if (command === 'stream') {
    streaming = true;
    void (async () => {
      const pause = Number(arg ?? 0);
      while (streaming) {
        await one();
        if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
      }
      process.stdout.write(`done ${total}\n`);
    })();
  } else if (command === 'stop') {
    streaming = false;
  } else if (command === 'exit') {
    streaming = false;
    await scheduler.stop();
    process.exit(0);
  }
}
