/**
 * Quickstart: register handlers, schedule a delayed job, a job at a fixed
 * time, a job that fails once and is retried, and a 6-field cron, then print
 * every event as a timeline. Runs on the real clock and ends by itself in
 * about 10 s.
 *
 *   npx tsx examples/quickstart.ts        (or: npm run demo)
 */
import { pathToFileURL } from 'node:url';
import { Scheduler, SystemClock, VirtualClock, type Clock, type SchedulerEvent } from '../src/index.js';

// The job map: job name -> payload type. `register` and every `schedule*`
// call are type-checked against it.
type Jobs = {
  'email.welcome': { userId: string };
  'invoice.remind': { invoiceId: string; amount: number };
  'payment.capture': { paymentId: string };
  'metrics.flush': null;
};

export interface QuickstartOptions {
  /** A VirtualClock runs the whole story in milliseconds (tests). @default the system clock */
  clock?: Clock;
  /** Where timeline lines go. @default console.log */
  log?: (line: string) => void;
}

/** Runs the quickstart; resolves with the timeline once every job has finished. */
export async function quickstart(options: QuickstartOptions = {}): Promise<string[]> {
  const clock = options.clock ?? new SystemClock();
  const log = options.log ?? console.log;
  const scheduler = new Scheduler<Jobs>({ clock });

  scheduler.register('email.welcome', async (job) => `welcome mail sent to ${job.payload.userId}`);
  scheduler.register('invoice.remind', async (job) => ({ reminded: job.payload.invoiceId }));
  scheduler.register(
    'payment.capture',
    async (job) => {
      // A flaky payment gateway: the first attempt times out, the retry works.
      if (job.attempt === 1) throw new Error('gateway timeout');
      return { captured: job.payload.paymentId };
    },
    { retry: { maxRetries: 3, backoff: { type: 'fixed', delay: 1000 } } },
  );
  let flushes = 0;
  scheduler.register('metrics.flush', () => ++flushes);

  // Subscribe before scheduling anything: the stream buffers from here on.
  // (Every event type except 'drained', which says "idle" after each job.)
  const t0 = clock.now();
  const timeline: string[] = [];
  const types = ['scheduled', 'started', 'completed', 'failed', 'retrying', 'dead', 'misfired', 'missingHandler', 'error'] as const;
  const printing = (async () => {
    for await (const event of scheduler.events({ types })) {
      const line = formatEvent(event, clock.now() - t0, t0);
      timeline.push(line);
      log(line);
    }
  })();

  await scheduler.start();
  await scheduler.scheduleIn('email.welcome', 1000, { userId: 'u-42' });
  await scheduler.scheduleIn('payment.capture', 2000, { paymentId: 'pay-7' }, { id: 'payment:pay-7' });
  // scheduleAt takes an absolute instant (here 4 s from now, to keep the demo short).
  await scheduler.scheduleAt('invoice.remind', new Date(t0 + 4000), { invoiceId: 'INV-1', amount: 129 });
  // Seconds are the optional 6th (first) field: every 3 s, three times.
  await scheduler.scheduleCron('metrics.flush', '*/3 * * * * *', null, { limit: 3 });

  // Wait until nothing is scheduled or running. The scheduler's own timers are
  // unref'd (an idle scheduler never holds a process open), so a script has to
  // keep itself alive while it waits; a server would not need to.
  while (scheduler.stats().scheduled + scheduler.stats().running > 0 && clock.now() - t0 < 20_000) {
    await pass(clock, 250);
  }
  await scheduler.stop(); // also ends the event stream
  await printing;
  return timeline;
}

/** Lets time pass: a VirtualClock is advanced, the real clock is waited for. */
function pass(clock: Clock, ms: number): Promise<void> {
  if (clock instanceof VirtualClock) return clock.advance(ms);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `+1.002s  completed        email.welcome    <id>  details` */
export function formatEvent(event: SchedulerEvent<Jobs>, elapsedMs: number, t0: number): string {
  const at = (d: Date): string => `+${((d.getTime() - t0) / 1000).toFixed(1)}s`;
  const who = 'job' in event ? `${event.job.name.padEnd(16)} ${event.job.id}` : '';
  let details = '';
  switch (event.type) {
    case 'scheduled':
      details = `due ${at(event.job.runAt)}`;
      break;
    case 'started':
      details = `attempt ${event.job.attempt}`;
      break;
    case 'completed':
      details = `result ${JSON.stringify(event.result)}`;
      break;
    case 'failed':
      details = `attempt ${event.job.attempt}: ${event.error.message}${event.willRetry ? '' : ' (giving up)'}`;
      break;
    case 'retrying':
      details = `attempt ${event.attempt} due ${at(event.nextRunAt)} (backoff ${event.delay} ms)`;
      break;
    case 'misfired':
      details = `${event.missed} slot(s) missed`;
      break;
    case 'missingHandler':
      details = `no handler for ${event.name}`;
      break;
    case 'error':
      details = event.error.message;
      break;
  }
  return `+${(elapsedMs / 1000).toFixed(3)}s  ${event.type.padEnd(10)} ${who}  ${details}`.trimEnd();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await quickstart();
}
