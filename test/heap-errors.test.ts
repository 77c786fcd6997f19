// QuaternaryHeap's argument errors (SPEC §6): each refusal is a
// ValidationError whose message names the argument and the value, and a
// refused call leaves the heap as it was.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../src/errors.js';
import { QuaternaryHeap } from '../src/heap.js';

interface Job {
  id: string | number;
}
const byId = { id: (j: Job) => j.id };
const refused = (message: string) => new ValidationError(message);

test('constructor options', () => {
  assert.throws(() => new QuaternaryHeap(null as never), refused('Expected `options` to be an object, got null'));
  assert.throws(() => new QuaternaryHeap(3 as never), refused('Expected `options` to be an object, got 3'));
  assert.throws(() => new QuaternaryHeap({ id: 'id' } as never), refused('Expected `options.id` to be a function or undefined, got "id"'));
  for (const [bad, shown] of [
    [-1, '-1'],
    [1.5, '1.5'],
    [2 ** 53, String(2 ** 53)],
    ['8', '"8"'],
  ] as const) {
    assert.throws(() => new QuaternaryHeap({ initialCapacity: bad as number }), refused(`Expected \`options.initialCapacity\` to be a non-negative integer, got ${shown}`));
  }
  // 0 and an absent id are fine.
  assert.equal(new QuaternaryHeap({ initialCapacity: 0, id: undefined } as never).size, 0);
});

test('from: entries, each entry, its item, unique ids', () => {
  assert.throws(() => QuaternaryHeap.from(null as never), refused('Expected `entries` to be an iterable of [item, key] pairs, got null'));
  assert.throws(() => QuaternaryHeap.from({} as never), refused('Expected `entries` to be an iterable of [item, key] pairs, got an object'));
  assert.throws(() => QuaternaryHeap.from([[{ id: 1 }, 1], 5] as never), refused('Expected entry 1 to be an [item, key] pair, got 5'));
  assert.throws(() => QuaternaryHeap.from([[{ id: 1 }, 1], null] as never), refused('Expected entry 1 to be an [item, key] pair, got null'));
  assert.throws(() => QuaternaryHeap.from([[undefined, 1]] as never), refused("Expected entry 0's item to be defined, got undefined"));
  assert.throws(() => QuaternaryHeap.from([[{ id: 'a' }, 1], [{ id: 'b' }, 2], [{ id: 'a' }, 3]], byId), refused('Expected unique ids, got id "a" twice'));
  // From a generator (not an array), past the initial capacity.
  function* gen(): Generator<readonly [Job, number]> {
    for (let i = 0; i < 100; i++) yield [{ id: i }, 100 - i];
  }
  const heap = QuaternaryHeap.from(gen(), { ...byId, initialCapacity: 4 });
  assert.equal(heap.size, 100);
  assert.deepEqual(heap.peek(), { id: 99 });
  heap.check();
});

test('fromItems: items, keyOf, each item, keys, unique ids', () => {
  assert.throws(() => QuaternaryHeap.fromItems(null as never, () => 1), refused('Expected `items` to be an array, got null'));
  assert.throws(() => QuaternaryHeap.fromItems([], 5 as never), refused('Expected `keyOf` to be a function, got 5'));
  assert.throws(() => QuaternaryHeap.fromItems([{ id: 1 }, undefined] as Job[], () => 1), refused("Expected entry 1's item to be defined, got undefined"));
  assert.throws(() => QuaternaryHeap.fromItems([{ id: 1 }], () => Number.NaN), ValidationError);
  assert.throws(() => QuaternaryHeap.fromItems([{ id: 'a' }, { id: 'a' }], () => 1, byId), refused('Expected unique ids, got id "a" twice'));
});

test('fromItems: the same heap as from, FIFO among equal keys, and the handles onHandle gets remove their items', () => {
  const items: Job[] = Array.from({ length: 300 }, (_, i) => ({ id: i }));
  const keyOf = (j: Job): number => Number(j.id) % 7; // many ties
  const handles = new Map<Job, number>();
  const heap = QuaternaryHeap.fromItems(items, keyOf, byId, (item, handle) => handles.set(item, handle));
  const pairs = QuaternaryHeap.from(items.map((j) => [j, keyOf(j)] as const), byId);
  heap.check();
  assert.equal(handles.size, items.length);
  for (const [item, handle] of handles) assert.equal(heap.itemOf(handle), item);
  // Remove every third item by its handle; both heaps then pop the same order (key, then array order).
  for (let i = 0; i < items.length; i += 3) {
    assert.equal(heap.removeHandle(handles.get(items[i] as Job) as number), true);
    assert.equal(pairs.remove(i), true);
  }
  heap.check();
  const popped: Job[] = [];
  while (heap.size > 0) popped.push(heap.pop() as Job);
  const expected: Job[] = [];
  while (pairs.size > 0) expected.push(pairs.pop() as Job);
  assert.deepEqual(popped, expected);
  assert.deepEqual(
    popped.slice(0, 3).map((j) => j.id),
    [7, 14, 28],
    'key 0 first, in array order (0 and 21 were removed)',
  );
});

test('push: undefined items and used ids are refused, and the heap is unchanged', () => {
  const heap = new QuaternaryHeap<Job>(byId);
  heap.push({ id: 'a' }, 1);
  assert.throws(() => heap.push(undefined as never, 1), refused('Expected `item` to be defined, got undefined'));
  assert.throws(() => heap.push({ id: 'a' }, 0), refused('Expected item id "a" to be unused, got an entry with that id'));
  assert.throws(() => heap.push({ id: 7 }, Number.NaN), refused('Expected `key` to be a number other than NaN, got NaN'));
  assert.equal(heap.size, 1);
  assert.equal(heap.keyOf('a'), 1);
  heap.check();
  // A used id is refused even when the push would have grown the heap first.
  const full = new QuaternaryHeap<Job>({ ...byId, initialCapacity: 4 });
  for (let i = 0; i < 4; i++) full.push({ id: i }, i);
  assert.throws(() => full.push({ id: 2 }, 9), refused('Expected item id 2 to be unused, got an entry with that id'));
  assert.equal(full.size, 4);
  full.check();
});

test('lookups by id on a heap without options.id name the way out', () => {
  const heap = new QuaternaryHeap<Job>();
  heap.push({ id: 'a' }, 1);
  const message = 'Expected a heap built with `options.id` to look entries up by id, got one without it (use the handles push returns)';
  for (const call of [() => heap.has('a'), () => heap.get('a'), () => heap.keyOf('a'), () => heap.remove('a'), () => heap.update('a', 2)]) {
    assert.throws(call, refused(message));
  }
  assert.equal(heap.size, 1);
});
