// JsonFileStore's constructor and JsonFileStore.salvage refuse bad arguments
// with a ValidationError in the "Expected `x` to be …, got …" shape (SPEC §6),
// before touching the file system.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../src/errors.js';
import { JsonFileStore } from '../src/index.js';

const refused = (message: string) => new ValidationError(message);

test('the constructor names the bad argument', () => {
  assert.throws(() => new JsonFileStore(7 as never), refused('Expected `path` to be a directory path, got 7'));
  assert.throws(() => new JsonFileStore(''), refused('Expected `path` to be a directory path, got ""'));
  assert.throws(() => new JsonFileStore('x', null as never), refused('Expected `options` to be an object, got null'));
  assert.throws(() => new JsonFileStore('x', 'fast' as never), refused('Expected `options` to be an object, got fast'));
  assert.throws(() => new JsonFileStore('x', { snapshotEvery: 100 as never }), refused('Expected `snapshotEvery` to be { changes?, bytes? }, got 100'));
  assert.throws(() => new JsonFileStore('x', { staleLockMs: -1 }), refused('Expected `staleLockMs` to be a positive integer, got -1'));
  assert.throws(() => new JsonFileStore('x', { snapshotEvery: { changes: Number.NaN } }), refused('Expected `snapshotEvery.changes` to be a positive integer, got NaN'));
  // Valid: every option, none, and null for snapshotEvery (not set).
  new JsonFileStore('x', { snapshotEvery: null as never });
  new JsonFileStore('x', { fsync: false, staleLockMs: 1, snapshotEvery: { changes: 1, bytes: 1 } });
  new JsonFileStore('x');
});

test('salvage refuses an empty or non-string folder before any I/O', async () => {
  await assert.rejects(JsonFileStore.salvage(''), refused('Expected `dir` to be a directory path, got ""'));
  await assert.rejects(JsonFileStore.salvage(undefined as never), refused('Expected `dir` to be a directory path, got undefined'));
});
