/**
 * A binary heap whose entries know their index (`at`), so one can leave or
 * move in O(log n) without a search. ReadyQueue keeps its early jobs in one
 * (ready-queue.ts) and GroupLanes the group heads of each name (groups.ts):
 * both change entries in the middle as often as at the top.
 */

/** An entry of a PlacedHeap: `at` is its index, kept by the heap. */
export interface Placed {
  at: number;
}

export class PlacedHeap<E extends Placed> {
  readonly items: E[] = [];

  /** @param before true when `a` comes out before `b` (no two entries tie). */
  constructor(private readonly before: (a: E, b: E) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): E | undefined {
    return this.items[0];
  }

  push(entry: E): void {
    entry.at = this.items.length;
    this.items.push(entry);
    this.up(entry.at);
  }

  pop(): E | undefined {
    const top = this.items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Takes out `entry`, which must be in this heap. */
  remove(entry: E): void {
    const items = this.items;
    const last = items.pop() as E;
    if (last === entry) return;
    const i = entry.at;
    items[i] = last;
    last.at = i;
    this.up(i);
    this.down(last.at);
  }

  /** Puts `next` where `old` (in this heap) was, and moves it to its place. */
  replace(old: E, next: E): void {
    const i = old.at;
    this.items[i] = next;
    next.at = i;
    if (this.before(next, old)) this.up(i);
    else this.down(i);
  }

  /** Throws an Error naming the first broken invariant (positions, order); `what` names the heap. */
  check(what: string): void {
    const items = this.items;
    for (let i = 0; i < items.length; i++) {
      const e = items[i] as E;
      if (e.at !== i) throw new Error(`${what} invariant broken: entry ${i} says it is at ${e.at}`);
      if (i > 0 && this.before(e, items[(i - 1) >> 1] as E)) throw new Error(`${what} invariant broken: entry ${i} before its parent`);
    }
  }

  private up(i: number): void {
    const items = this.items;
    const e = items[i] as E;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as E;
      if (!this.before(e, p)) break;
      items[i] = p;
      p.at = i;
      i = parent;
    }
    items[i] = e;
    e.at = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const e = items[i] as E;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.before(items[c + 1] as E, items[c] as E)) c++;
      const child = items[c] as E;
      if (!this.before(child, e)) break;
      items[i] = child;
      child.at = i;
      i = c;
    }
    items[i] = e;
    e.at = i;
  }
}
