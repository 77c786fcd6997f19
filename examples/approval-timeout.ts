/**
 * Approval workflow: a request escalates to the approver's manager 48 h after
 * it was submitted unless approved. At 24 h a reminder goes out, and since
 * nobody should be escalated over a weekend, the reminder moves the
 * escalation (`reschedule`) to Monday 09:00 when 48 h lands on a Saturday or
 * Sunday. Approving cancels both jobs. Runs on a VirtualClock.
 *
 *   npx tsx examples/approval-timeout.ts
 */
import { pathToFileURL } from 'node:url';
import { Scheduler, VirtualClock } from '../src/index.js';

type Jobs = {
  'approval.remind': { requestId: string; approver: string };
  'approval.escalate': { requestId: string; manager: string };
};

const HOUR = 3600_000;

export interface ApprovalOptions {
  log?: (line: string) => void;
}

export interface ApprovalResult {
  reminded: string[];
  /** Request id -> when it was escalated. */
  escalated: Record<string, Date>;
  /** Request id -> the escalation time the reminder moved it to. */
  moved: Record<string, Date>;
}

export async function approvalTimeout(options: ApprovalOptions = {}): Promise<ApprovalResult> {
  const log = options.log ?? console.log;
  // Tuesday 2027-01-05 09:00 UTC. (This example keeps business hours in UTC.)
  const clock = new VirtualClock(new Date('2027-01-05T09:00:00Z'));
  const when = (ms: number): string =>
    new Date(ms).toLocaleString('en-GB', { timeZone: 'UTC', weekday: 'short', day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit' });
  const say = (text: string): void => log(`${when(clock.now())}  ${text}`);
  const scheduler = new Scheduler<Jobs>({ clock });
  const remindId = (requestId: string): string => `approval:${requestId}:remind`;
  const escalateId = (requestId: string): string => `approval:${requestId}:escalate`;

  const result: ApprovalResult = { reminded: [], escalated: {}, moved: {} };
  scheduler.register('approval.remind', async (job) => {
    const { requestId, approver } = job.payload;
    result.reminded.push(requestId);
    say(`${requestId}: reminder sent to ${approver}`);
    const escalation = await scheduler.get(escalateId(requestId));
    if (escalation?.state !== 'scheduled') return;
    const due = escalation.runAt.getTime();
    const moved = nextWorkingMorning(due);
    if (moved !== due) {
      await scheduler.reschedule(escalation.id, moved);
      result.moved[requestId] = new Date(moved);
      say(`${requestId}: escalation moved from ${when(due)} to ${when(moved)} (weekend)`);
    }
  });
  scheduler.register('approval.escalate', (job) => {
    result.escalated[job.payload.requestId] = new Date(clock.now());
    say(`${job.payload.requestId}: not approved in time, escalated to ${job.payload.manager}`);
  });
  await scheduler.start();

  async function submit(requestId: string, approver: string, manager: string): Promise<void> {
    // Both jobs at once: all or none, so a crash cannot leave a reminder without its escalation.
    await scheduler.scheduleMany([
      { name: 'approval.remind', payload: { requestId, approver }, delay: 24 * HOUR, options: { id: remindId(requestId) } },
      { name: 'approval.escalate', payload: { requestId, manager }, delay: 48 * HOUR, options: { id: escalateId(requestId) } },
    ]);
    say(`${requestId}: submitted to ${approver}`);
  }

  async function approve(requestId: string): Promise<void> {
    const remindCancelled = await scheduler.cancel(remindId(requestId)); // false once the reminder went out
    const escalationCancelled = await scheduler.cancel(escalateId(requestId));
    say(`${requestId}: approved; reminder cancelled: ${remindCancelled}, escalation cancelled: ${escalationCancelled}`);
  }

  const advanceTo = (iso: string): Promise<void> => clock.advance(Date.parse(iso) - clock.now());

  await submit('REQ-3', 'dana', 'erik'); // Tue 09:00: 48 h later is Thursday, no change
  await advanceTo('2027-01-07T10:00:00Z');
  await submit('REQ-1', 'dana', 'erik'); // Thu 10:00: 48 h later is Saturday
  await advanceTo('2027-01-07T11:00:00Z');
  await submit('REQ-2', 'femi', 'erik');
  await advanceTo('2027-01-08T15:00:00Z');
  await approve('REQ-2'); // after its reminder, before its escalation
  await advanceTo('2027-01-12T09:00:00Z');

  await scheduler.stop();
  return result;
}

/** `ms` itself on a weekday; otherwise the following Monday 09:00 UTC. */
function nextWorkingMorning(ms: number): number {
  const day = new Date(ms).getUTCDay(); // 0 = Sunday, 6 = Saturday
  if (day !== 0 && day !== 6) return ms;
  const monday = new Date(ms);
  monday.setUTCDate(monday.getUTCDate() + (day === 6 ? 2 : 1));
  monday.setUTCHours(9, 0, 0, 0);
  return monday.getTime();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await approvalTimeout();
}
