/** Smoke tests of examples/: each runs quickly (VirtualClock or short delays) and is checked on its outcome. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VirtualClock } from '../src/clock.js';
import { quickstart } from '../examples/quickstart.js';
import { orderTimeout } from '../examples/order-timeout.js';
import { reminders, zonedTimeToUtc } from '../examples/reminders.js';
import { cronReport } from '../examples/cron-report.js';
import { approvalTimeout } from '../examples/approval-timeout.js';
import { start as startLiveEvents } from '../examples/live-events.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const quiet = (): void => undefined;

describe('examples/quickstart', () => {
  it('on a VirtualClock: every job completes; the payment completes after one failed attempt', async () => {
    const timeline = await quickstart({ clock: new VirtualClock(Date.UTC(2027, 0, 1)), log: quiet });
    const of = (name: string): string[] => timeline.filter((l) => l.includes(name)).map((l) => l.split(/\s+/)[1] as string);
    assert.deepEqual(of('payment.capture'), ['scheduled', 'started', 'failed', 'retrying', 'started', 'completed']);
    assert.deepEqual(of('email.welcome'), ['scheduled', 'started', 'completed']);
    assert.deepEqual(of('invoice.remind'), ['scheduled', 'started', 'completed']);
    assert.equal(of('metrics.flush').filter((t) => t === 'completed').length, 3);
    assert.match(timeline.find((l) => l.includes('failed')) ?? '', /attempt 1: gateway timeout/);
  });

  it('`npx tsx examples/quickstart.ts` on the real clock prints a timeline and exits 0 by itself', { timeout: 180_000 }, async () => {
    const child = spawn('npx', ['tsx', 'examples/quickstart.ts'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A hang guard, generous: npx + tsx under c8 on a loaded machine took over 25 s to start and run it.
    const killer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    clearTimeout(killer);
    assert.equal(signal, null, `killed: did not exit within 150 s\n${stdout}`);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^\+\d+\.\d{3}s\s+scheduled\s+email\.welcome/m);
    assert.match(stdout, /failed\s+payment\.capture .*gateway timeout/);
    assert.match(stdout, /completed\s+payment\.capture .*"captured":"pay-7"/);
    assert.equal(stdout.match(/completed\s+metrics\.flush/g)?.length, 3);
  });
});

describe('examples/order-timeout', () => {
  it('cancels unpaid orders, keeps the paid one, and recovers pending timeouts after a restart', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'godelayq-example-'));
    try {
      const lines: string[] = [];
      const result = await orderTimeout({ dir, log: (l) => lines.push(l) });
      assert.deepEqual(
        result.recovered.map((j) => [j.id, j.runAt.toISOString()]),
        [
          ['order-timeout:A-1001', '2027-05-01T10:30:00.000Z'],
          ['order-timeout:A-1003', '2027-05-01T10:35:00.000Z'],
        ],
      );
      assert.equal(result.paidTimeoutState, 'cancelled');
      assert.deepEqual(result.orders, { 'A-1001': 'cancelled', 'A-1002': 'paid', 'A-1003': 'cancelled' });
      assert.ok(lines.some((l) => l.includes('A-1002 paid; timeout cancelled: true')));
      assert.ok((await readdir(dir)).some((f) => f.includes('journal')), 'the store wrote its journal into the given directory');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('removes its temporary store directory when none is given', async () => {
    const before = (await readdir(tmpdir())).filter((f) => f.startsWith('godelayq-orders-')).length;
    await orderTimeout({ log: quiet });
    const after = (await readdir(tmpdir())).filter((f) => f.startsWith('godelayq-orders-')).length;
    assert.equal(after, before);
  });
});

describe('examples/reminders', () => {
  it('converts local wall times to UTC with Intl, across DST', () => {
    assert.equal(zonedTimeToUtc('2027-03-29', '09:00', 'Europe/Berlin').toISOString(), '2027-03-29T07:00:00.000Z'); // CEST
    assert.equal(zonedTimeToUtc('2027-03-27', '09:00', 'Europe/Berlin').toISOString(), '2027-03-27T08:00:00.000Z'); // CET
    assert.equal(zonedTimeToUtc('2027-03-29', '08:00', 'America/New_York').toISOString(), '2027-03-29T12:00:00.000Z');
    assert.equal(zonedTimeToUtc('2027-01-15', '08:00', 'America/New_York').toISOString(), '2027-01-15T13:00:00.000Z');
    assert.equal(zonedTimeToUtc('2027-03-29', '19:30', 'Asia/Kolkata').toISOString(), '2027-03-29T14:00:00.000Z');
  });

  it('sends each reminder once at its local time despite double scheduling; retries through an outage', async () => {
    const { sent, scheduledEvents, failedAttempts } = await reminders({ log: quiet });
    assert.equal(scheduledEvents, 3, 'the second scheduling pass is a no-op');
    assert.deepEqual(sent.map((s) => s.userId).sort(), ['alice', 'bob', 'chen']);
    const byUser = Object.fromEntries(sent.map((s) => [s.userId, s]));
    assert.equal(byUser.alice!.at.toISOString(), '2027-03-29T07:00:00.000Z');
    assert.equal(byUser.chen!.at.toISOString(), '2027-03-29T11:30:00.000Z');
    assert.equal(byUser.alice!.attempts, 1);
    // bob's 12:00Z reminder hits the 11:59-12:05 outage: backoff carries it past the end.
    assert.ok(byUser.bob!.attempts > 1);
    assert.equal(failedAttempts, byUser.bob!.attempts - 1);
    assert.ok(byUser.bob!.at.getTime() >= Date.parse('2027-03-29T12:05:00Z'));
  });
});

describe('examples/cron-report', () => {
  it('after 3 days down: one misfired event, ONE catch-up run, then the normal schedule', async () => {
    const { runs, misfired } = await cronReport({ log: quiet });
    assert.deepEqual(misfired, [2], '3 slots passed while down: the latest runs, 2 are missed');
    const iso = (d: Date): string => d.toISOString();
    assert.deepEqual(
      runs.map((r) => [iso(r.slot), iso(r.ranAt)]),
      [
        ['2027-06-02T01:00:00.000Z', '2027-06-02T01:00:00.000Z'], // 02:00 BST
        ['2027-06-03T01:00:00.000Z', '2027-06-03T01:00:00.000Z'],
        ['2027-06-06T01:00:00.000Z', '2027-06-06T12:00:00.000Z'], // catch-up at restart
        ['2027-06-07T01:00:00.000Z', '2027-06-07T01:00:00.000Z'],
      ],
    );
  });
});

describe('examples/approval-timeout', () => {
  it('escalates unapproved requests, moved off the weekend by the reminder; approval cancels', async () => {
    const result = await approvalTimeout({ log: quiet });
    assert.deepEqual(result.reminded, ['REQ-3', 'REQ-1', 'REQ-2']);
    assert.deepEqual(
      Object.fromEntries(Object.entries(result.escalated).map(([k, v]) => [k, v.toISOString()])),
      { 'REQ-3': '2027-01-07T09:00:00.000Z', 'REQ-1': '2027-01-11T09:00:00.000Z' }, // Thu 09:00; Mon 09:00, not Sat 10:00
    );
    assert.equal(result.moved['REQ-1']?.toISOString(), '2027-01-11T09:00:00.000Z');
    assert.ok(!('REQ-2' in result.escalated), 'the approved request is never escalated');
  });
});

describe('examples/live-events', () => {
  it('serves the page and streams scheduler events as SSE', { timeout: 15_000 }, async () => {
    const app = await startLiveEvents({ port: 0, speed: 10 });
    try {
      const page = await fetch(app.url);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(await page.text(), /new EventSource\('\/events'\)/);

      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 8000);
      const response = await fetch(new URL('/events', app.url), { signal: abort.signal });
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      try {
        while (!(/^event: scheduled$/m.test(text) && /^event: completed$/m.test(text))) {
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
        }
      } finally {
        clearTimeout(timer);
        await reader.cancel().catch(() => undefined);
      }
      assert.match(text, /^event: scheduled$/m);
      assert.match(text, /^event: completed$/m);
      // Every message is one `event:` line and one JSON `data:` line.
      for (const block of text.split('\n\n').filter((b) => b.includes('\ndata: '))) {
        const data = block.split('\ndata: ')[1]!;
        assert.ok(typeof JSON.parse(data) === 'object');
      }
      assert.equal((await fetch(new URL('/nope', app.url))).status, 404);
    } finally {
      await app.close();
    }
  });
});
