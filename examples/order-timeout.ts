/**
 * E-commerce order timeout: an unpaid order is cancelled 30 minutes after it
 * was placed; a payment cancels the timeout. Jobs live in a JsonFileStore, so
 * they survive a restart (here: stop, then a new Scheduler on the same
 * directory). Runs on a VirtualClock, so 45 minutes take well under a second.
 *
 *   npx tsx examples/order-timeout.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { JsonFileStore, Scheduler, VirtualClock, type JobInfo } from '../src/index.js';

type Jobs = {
  'order.cancelUnpaid': { orderId: string };
};

type Order = { id: string; total: number; status: 'pending' | 'paid' | 'cancelled' };

const MIN = 60_000;

export interface OrderTimeoutOptions {
  /** Store directory. @default a fresh temporary directory, removed at the end */
  dir?: string;
  /** How long an order may stay unpaid, ms. @default 30 minutes */
  unpaidTimeout?: number;
  log?: (line: string) => void;
}

export interface OrderTimeoutResult {
  /** Jobs found in the store by the second scheduler, before anything ran. */
  recovered: JobInfo<'order.cancelUnpaid', Jobs['order.cancelUnpaid']>[];
  /** State of the paid order's timeout job after the restart. */
  paidTimeoutState: string | undefined;
  /** Final status of every order. */
  orders: Record<string, Order['status']>;
}

export async function orderTimeout(options: OrderTimeoutOptions = {}): Promise<OrderTimeoutResult> {
  const log = options.log ?? console.log;
  const timeout = options.unpaidTimeout ?? 30 * MIN;
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'godelayq-orders-')));
  const clock = new VirtualClock(new Date('2027-05-01T10:00:00Z'));
  const t0 = clock.now();
  const rel = (ms: number): string => `+${String((ms - t0) / MIN).padStart(2)} min`;
  const say = (text: string): void => log(`[${rel(clock.now())}] ${text}`);

  // The app's own database. It outlives the scheduler (it would be Postgres or similar).
  const orders = new Map<string, Order>();
  const timeoutId = (orderId: string): string => `order-timeout:${orderId}`;

  /** What every process does at start-up: register handlers, then start (which recovers stored jobs). */
  async function boot(paused = false): Promise<Scheduler<Jobs>> {
    const scheduler = new Scheduler<Jobs>({ clock, store: new JsonFileStore(dir) });
    scheduler.register('order.cancelUnpaid', (job) => {
      const order = orders.get(job.payload.orderId);
      // Jobs run at least once and a payment may race the timeout: check before acting.
      if (!order || order.status !== 'pending') return 'nothing to do';
      order.status = 'cancelled';
      say(`order ${order.id} cancelled: unpaid for ${timeout / MIN} min (job due ${rel(job.runAt.getTime())})`);
      return 'cancelled';
    });
    if (paused) scheduler.pause(); // start() then recovers jobs but runs none until resume()
    await scheduler.start();
    return scheduler;
  }

  async function placeOrder(scheduler: Scheduler<Jobs>, id: string, total: number): Promise<void> {
    orders.set(id, { id, total, status: 'pending' });
    // A deterministic id lets the payment find (and cancel) the timeout later.
    await scheduler.scheduleIn('order.cancelUnpaid', timeout, { orderId: id }, { id: timeoutId(id) });
    say(`order ${id} placed (${total} EUR), cancelled at ${rel(clock.now() + timeout)} unless paid`);
  }

  async function paymentReceived(scheduler: Scheduler<Jobs>, id: string): Promise<void> {
    const order = orders.get(id);
    if (!order || order.status !== 'pending') return;
    order.status = 'paid';
    const cancelled = await scheduler.cancel(timeoutId(id)); // resolves after the store recorded it
    say(`order ${id} paid; timeout cancelled: ${cancelled}`);
  }

  try {
    let scheduler = await boot();
    await placeOrder(scheduler, 'A-1001', 59);
    await clock.advance(2 * MIN);
    await placeOrder(scheduler, 'A-1002', 120);
    await clock.advance(3 * MIN);
    await placeOrder(scheduler, 'A-1003', 15);
    await clock.advance(7 * MIN);
    await paymentReceived(scheduler, 'A-1002');
    await clock.advance(3 * MIN);

    say('deploying: stopping the scheduler');
    await scheduler.stop();
    // Downtime: A-1001 falls due (at +30 min) while nothing is running.
    await clock.advance(17 * MIN);

    say('new process: a fresh Scheduler on the same store directory');
    // JsonFileStore does real file I/O, which VirtualClock.advance() does not
    // wait for: collect outcomes from events instead of assuming they happened.
    const finished = new Set<string>();
    const waitFinished = (ids: string[]): Promise<void> => waitFor(() => ids.every((id) => finished.has(id)));
    scheduler = await boot(true);
    scheduler.on('completed', ({ job }) => finished.add(job.id));
    const recovered = await scheduler.list({ name: 'order.cancelUnpaid', state: 'scheduled' });
    for (const job of recovered) say(`recovered ${job.id}, due ${rel(job.runAt.getTime())}`);
    const paidTimeout = await scheduler.get(timeoutId('A-1002'));
    say(`${timeoutId('A-1002')} is ${paidTimeout?.state} in the store too`);
    scheduler.resume();

    await waitFinished([timeoutId('A-1001')]); // overdue: runs right after start
    await clock.advance(t0 + 35 * MIN - clock.now()); // A-1003's due time
    await waitFinished([timeoutId('A-1003')]);
    await scheduler.stop();

    const final = Object.fromEntries([...orders.values()].map((o) => [o.id, o.status]));
    say(`final: ${JSON.stringify(final)}`);
    return { recovered, paidTimeoutState: paidTimeout?.state, orders: final };
  } finally {
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
  }
}

/** Polls (in real time) until `check()` holds; gives up after `ms`. */
async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for jobs to finish');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await orderTimeout();
}
