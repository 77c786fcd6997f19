/**
 * Live job events in a browser. godelayq has no network layer: the app
 * exposes what it wants. This is a small `node:http` server that streams
 * `scheduler.events()` as Server-Sent Events to an inline HTML page listing
 * the jobs and their state as it changes, plus a few demo jobs to watch.
 * Serves http://localhost:3000 (or $PORT; 0 picks a free port) for about
 * 15 s (or $SECONDS_OPEN), then exits; $SPEED (default 1) speeds the demo up.
 *
 *   npx tsx examples/live-events.ts
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Scheduler, type SchedulerEvent } from '../src/index.js';

type Jobs = {
  'shop.spawn': null;
  'order.ship': { orderId: number };
  'payment.capture': { orderId: number };
  'email.send': { to: string };
};

export interface LiveEventsOptions {
  /** 0 picks a free port. @default 3000 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Divides every demo delay (tests use 10). @default 1 */
  speed?: number;
}

export interface LiveEventsServer {
  url: string;
  scheduler: Scheduler<Jobs>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- the server

/** Streams the scheduler's events to one SSE client until it disconnects or the scheduler stops. */
async function streamEvents(scheduler: Scheduler<Jobs>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  // Subscribe before listing, so no change between the two is lost. The
  // stream's buffer is bounded: a slow browser loses old events instead of
  // growing memory or slowing the scheduler.
  const events = scheduler.events({ bufferSize: 256 });
  const gone = new AbortController();
  req.on('close', () => {
    gone.abort();
    void events.return?.();
  });
  const send = async (type: string, data: unknown): Promise<void> => {
    if (!res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`)) await once(res, 'drain', { signal: gone.signal });
  };
  try {
    for (const job of await scheduler.list({ state: ['scheduled', 'running'] })) await send('snapshot', { job });
    for await (const event of events) await send(event.type, toWire(event));
  } catch {
    // The client went away while we waited for it to drain.
  }
  res.end();
}

/** JSON-friendly event: Errors become { name, message } (Dates serialise as ISO strings). */
function toWire(event: SchedulerEvent<Jobs>): unknown {
  if (!('error' in event)) return event;
  return { ...event, error: { name: event.error.name, message: event.error.message } };
}

export async function start(options: LiveEventsOptions = {}): Promise<LiveEventsServer> {
  const scheduler = new Scheduler<Jobs>();
  const stopDemo = registerDemoJobs(scheduler, options.speed ?? 1);
  await scheduler.start();
  await scheduler.scheduleEvery('shop.spawn', 2000 / (options.speed ?? 1), null);

  const server = createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    else if (req.url === '/events') void streamEvents(scheduler, req, res);
    else res.writeHead(404).end();
  });
  server.listen(options.port ?? 3000, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;

  return {
    url: `http://${address}:${port}/`,
    scheduler,
    async close() {
      stopDemo();
      await scheduler.stop(); // ends every event stream, so every SSE response ends
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

// ------------------------------------------------------------ the demo jobs

/** A recurring job that places a few orders; each order ships, pays (flakily) and mails. */
function registerDemoJobs(scheduler: Scheduler<Jobs>, speed: number): () => void {
  let nextOrder = 1;
  let stopped = false;
  const ms = (n: number): number => Math.round(n / speed);
  const sleep = (n: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms(n)));
  scheduler.register('shop.spawn', async () => {
    if (stopped) return;
    const orderId = nextOrder++;
    await scheduler.scheduleMany([
      { name: 'payment.capture', payload: { orderId }, delay: ms(500) },
      { name: 'order.ship', payload: { orderId }, delay: ms(1500 + Math.random() * 2000) },
      { name: 'email.send', payload: { to: `customer${orderId}@example.com` }, delay: ms(1000) },
    ]);
  });
  const fixedRetry = { maxRetries: 3, backoff: { type: 'fixed' as const, delay: ms(800) } };
  scheduler.register(
    'payment.capture',
    async () => {
      await sleep(300);
      if (Math.random() < 0.3) throw new Error('card declined, will retry');
    },
    { retry: fixedRetry },
  );
  scheduler.register('order.ship', () => sleep(600).then(() => 'shipped'));
  scheduler.register('email.send', () => sleep(200));
  return () => {
    stopped = true;
  };
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>godelayq live jobs</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2em; }
  table { border-collapse: collapse; } td, th { padding: 2px 12px; text-align: left; }
  .scheduled { color: #555; } .running { color: #06c; } .completed { color: #080; }
  .dead, .cancelled { color: #c00; }
</style>
<h1>Jobs</h1>
<p id="status">connecting…</p>
<table><thead><tr><th>id</th><th>name</th><th>state</th><th>due</th><th>attempt</th><th>last event</th></tr></thead>
<tbody id="jobs"></tbody></table>
<script>
  const rows = new Map();
  const source = new EventSource('/events');
  source.onopen = () => (document.getElementById('status').textContent = 'live');
  source.onerror = () => (document.getElementById('status').textContent = 'disconnected');
  const types = ['snapshot', 'scheduled', 'rescheduled', 'started', 'completed', 'failed', 'retrying', 'dead', 'cancelled', 'misfired'];
  for (const type of types) {
    source.addEventListener(type, (message) => {
      const { job } = JSON.parse(message.data);
      let row = rows.get(job.id);
      if (!row) {
        row = document.createElement('tr');
        for (let i = 0; i < 6; i++) row.append(document.createElement('td'));
        document.getElementById('jobs').prepend(row);
        rows.set(job.id, row);
      }
      const cells = [job.id, job.name, job.state, new Date(job.runAt).toLocaleTimeString(), job.attempt, type];
      cells.forEach((text, i) => (row.cells[i].textContent = text));
      row.className = job.state;
    });
  }
</script>
`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seconds = Number(process.env.SECONDS_OPEN ?? 15);
  const app = await start({ port: Number(process.env.PORT ?? 3000), speed: Number(process.env.SPEED ?? 1) });
  console.log(`Live job events at ${app.url} (closing in ${seconds} s)`);
  // The started scheduler keeps the process alive; close() stops it, and the process exits.
  setTimeout(() => void app.close().then(() => console.log('closed')), seconds * 1000);
}
