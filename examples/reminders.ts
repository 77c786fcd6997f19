/**
 * Push reminders: each user gets a reminder at a wall-clock time in their own
 * time zone. Ids are idempotency keys (`reminder:<user>:<date>` with
 * onDuplicate 'keep'), so scheduling the same reminder twice is a no-op. A
 * flaky push gateway is retried with exponential backoff and jitter. Runs on a
 * VirtualClock: two days pass in well under a second.
 *
 *   npx tsx examples/reminders.ts
 */
import { pathToFileURL } from 'node:url';
import { Scheduler, VirtualClock, type RetryOptions } from '../src/index.js';

type Jobs = {
  'reminder.push': { userId: string; text: string };
};

type User = { id: string; timeZone: string; remindAt: string /* HH:MM local */ };

export interface Sent {
  userId: string;
  at: Date;
  attempts: number;
}

/** Sends a push notification; throws when the gateway is unavailable. */
export type PushSender = (userId: string, text: string, now: Date) => Promise<void>;

export interface RemindersOptions {
  users?: User[];
  /** Local date of the reminders. @default '2027-03-29' (the day after Europe's DST change) */
  date?: string;
  /** @default a gateway that answers 503 from 11:59 to 12:05 UTC on that date */
  send?: PushSender;
  log?: (line: string) => void;
}

const DEFAULT_USERS: User[] = [
  { id: 'alice', timeZone: 'Europe/Berlin', remindAt: '09:00' },
  { id: 'bob', timeZone: 'America/New_York', remindAt: '08:00' },
  { id: 'chen', timeZone: 'Asia/Shanghai', remindAt: '19:30' },
];

// Stored with each job, so it must be JSON (no backoff function here).
// Retry n waits 30 s × 2^(n−1), capped at 10 min, times a random factor in [0.5, 1]:
// the jitter keeps thousands of clients that failed together from retrying together.
const PUSH_RETRY: RetryOptions = {
  maxRetries: 6,
  backoff: { type: 'exponential', delay: 30_000, factor: 2, maxDelay: 10 * 60_000, jitter: 0.5 },
};

export async function reminders(options: RemindersOptions = {}): Promise<{ sent: Sent[]; scheduledEvents: number; failedAttempts: number }> {
  const log = options.log ?? console.log;
  const users = options.users ?? DEFAULT_USERS;
  const date = options.date ?? '2027-03-29';
  const clock = new VirtualClock(new Date(`${date}T00:00:00Z`).getTime() - 24 * 3600_000);
  const send = options.send ?? outageGateway(new Date(`${date}T11:59:00Z`), new Date(`${date}T12:05:00Z`));
  const scheduler = new Scheduler<Jobs>({ clock });

  const sent: Sent[] = [];
  scheduler.register('reminder.push', async (job) => {
    await send(job.payload.userId, job.payload.text, new Date(clock.now()));
    sent.push({ userId: job.payload.userId, at: new Date(clock.now()), attempts: job.attempt });
  });
  let scheduledEvents = 0;
  let failedAttempts = 0;
  scheduler.on('scheduled', () => scheduledEvents++);
  scheduler.on('failed', ({ job, error, nextRunAt }) => {
    failedAttempts++;
    log(`${iso(clock.now())}  ${job.id} attempt ${job.attempt} failed (${error.message}); next try ${nextRunAt ? iso(nextRunAt.getTime()) : 'never'}`);
  });
  scheduler.on('completed', ({ job }) => log(`${iso(clock.now())}  ${job.id} delivered (attempt ${job.attempt})`));

  await scheduler.start();
  /** Safe to call any number of times: the id makes it idempotent. */
  async function scheduleReminders(pass: string): Promise<void> {
    for (const user of users) {
      const at = zonedTimeToUtc(date, user.remindAt, user.timeZone);
      const job = await scheduler.scheduleAt(
        'reminder.push',
        at,
        { userId: user.id, text: 'Your daily check-in is waiting' },
        { id: `reminder:${user.id}:${date}`, onDuplicate: 'keep', retry: PUSH_RETRY },
      );
      log(`${pass}: ${job.id}  ${user.remindAt} ${user.timeZone} = ${iso(job.runAt.getTime())}`);
    }
    log(`${pass}: 'scheduled' events so far: ${scheduledEvents}`);
  }
  await scheduleReminders('first pass');
  // E.g. a second app instance, or a retried HTTP request: the same reminders
  // again. 'keep' resolves with the existing jobs; nothing new is scheduled.
  await scheduleReminders('second pass');

  await clock.advance(2 * 24 * 3600_000);
  await scheduler.stop();
  return { sent, scheduledEvents, failedAttempts };
}

/**
 * The UTC instant at which the wall clock in `timeZone` shows `date` `time`
 * ('2027-03-29', '09:00'), using only Intl. A wall time that does not exist
 * (skipped by a DST change) comes out shifted by the size of the jump.
 */
export function zonedTimeToUtc(date: string, time: string, timeZone: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{2}):(\d{2})$/.exec(time);
  if (!m || !t) throw new Error(`Expected date YYYY-MM-DD and time HH:MM, got ${date} ${time}`);
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(t[1]), Number(t[2]));
  // The offset depends on the instant, which depends on the offset: a second
  // pass corrects the guess when a DST change lies between them.
  const guess = wall - zoneOffset(wall, timeZone);
  return new Date(wall - zoneOffset(guess, timeZone));
}

/** Offset of `timeZone` from UTC at `instant`, ms (Berlin in summer: +2 h). */
function zoneOffset(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const part = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  const local = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return local - (instant - (((instant % 1000) + 1000) % 1000));
}

/** A push gateway that answers 503 between `from` and `to`. */
export function outageGateway(from: Date, to: Date): PushSender {
  return async (_userId, _text, now) => {
    await Promise.resolve(); // stands in for the network call
    if (now >= from && now < to) throw new Error('push gateway: 503 Service Unavailable');
  };
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000', '');

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { sent } = await reminders();
  for (const s of sent) console.log(`sent to ${s.userId} at ${s.at.toISOString()} after ${s.attempts} attempt(s)`);
}
