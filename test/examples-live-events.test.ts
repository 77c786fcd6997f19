/**
 * examples/live-events.ts run as people run it (`tsx examples/live-events.ts`,
 * a child process): it serves its page, the page's own script (run here in a
 * node:vm sandbox with a minimal DOM and an EventSource over fetch, since no
 * browser is installed) fills its table from the live event stream, and the
 * process exits by itself once the example closes (with today's ref'd
 * timers, a started scheduler keeps it alive until then).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import vm from 'node:vm';
import { ROOT } from './cli-helpers.js';

class Element {
  textContent = '';
  className = '';
  readonly children: Element[] = [];
  constructor(readonly tag: string) {}
  append(child: Element): void {
    this.children.push(child);
  }
  prepend(child: Element): void {
    this.children.unshift(child);
  }
  get cells(): Element[] {
    return this.children;
  }
}

/** EventSource over fetch: enough of the real one for the page (named events, onopen, onerror). */
function eventSourceClass(base: string, abort: AbortSignal): unknown {
  return class {
    onopen: (() => void) | undefined;
    onerror: (() => void) | undefined;
    private readonly listeners = new Map<string, ((m: { data: string }) => void)[]>();
    constructor(url: string) {
      void this.read(new URL(url, base));
    }
    addEventListener(type: string, fn: (m: { data: string }) => void): void {
      this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
    }
    private async read(url: URL): Promise<void> {
      try {
        const response = await fetch(url, { signal: abort });
        this.onopen?.();
        let buffer = '';
        for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const type = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
            const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
            for (const fn of this.listeners.get(type) ?? []) fn({ data });
          }
        }
      } catch {
        // aborted
      }
      this.onerror?.();
    }
  };
}

describe('examples/live-events as a script', () => {
  it('serves a page whose script shows jobs change state live, then exits by itself', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'examples', 'live-events.ts')], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', SPEED: '10', SECONDS_OPEN: '6' },
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = (await lines.next()).value as string;
    const url = /^Live job events at (http:\/\/\S+) \(closing in 6 s\)$/.exec(first)?.[1];
    assert.ok(url, `unexpected first line: ${first}\n${stderr}`);

    const page = await fetch(url);
    assert.equal(page.status, 200);
    const html = await page.text();
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1];
    assert.ok(script, 'the page has an inline script');

    const status = new Element('p');
    const tbody = new Element('tbody');
    const abort = new AbortController();
    const document = {
      getElementById: (id: string) => ({ status, jobs: tbody })[id] ?? null,
      createElement: (tag: string) => new Element(tag),
    };
    vm.runInNewContext(script, { document, EventSource: eventSourceClass(url, abort.signal), JSON, Map, Date });
    const rowOf = (row: Element): { id: string; name: string; state: string; event: string } => ({
      id: row.cells[0]!.textContent,
      name: row.cells[1]!.textContent,
      state: row.cells[2]!.textContent,
      event: row.cells[5]!.textContent,
    });
    const deadline = Date.now() + 5000;
    while (!tbody.children.some((r) => rowOf(r).state === 'completed' && rowOf(r).name === 'order.ship') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(status.textContent, 'live');
    abort.abort();
    const rows = tbody.children.map(rowOf);
    assert.ok(rows.some((r) => r.name === 'order.ship' && r.state === 'completed' && r.event === 'completed'), `no shipped order in ${JSON.stringify(rows)}`);
    assert.ok(rows.some((r) => r.name === 'shop.spawn'), 'the recurring job is listed');
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'one row per job');

    assert.equal(await exited, 0, stderr);
    const rest: string[] = [];
    for await (const line of { [Symbol.asyncIterator]: () => lines }) rest.push(line as string);
    assert.deepEqual(rest, ['closed']);
  });
});
