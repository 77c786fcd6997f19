// RedisStore's pure helpers, no server needed: how a record becomes hash
// fields and back (src/store/redis/codec.ts: absent fields take their
// defaults, an unknown state reads as scheduled, oversized payloads and
// results are refused), how a client is named in messages without its
// credentials and how script failures are read (connection.ts), and the
// options checks (options.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../src/errors.js';
import { FIELD_NAMES, changedFields, decodeRecord, encodeFields, toMap } from '../src/store/redis/codec.js';
import { type RedisClient, describeAddress, scriptFailure } from '../src/store/redis/connection.js';
import { resolveOptions } from '../src/store/redis/options.js';
import type { JobRecord } from '../src/store/store.js';

const record = (over: Partial<JobRecord> = {}): JobRecord =>
  ({ id: 'a', name: 'work', payload: { n: 1 }, state: 'scheduled', runAt: 10, createdAt: 5, attempt: 0, priority: 0, seq: 3, ...over }) as JobRecord;

/** The hash a record is stored as, as HGETALL returns it (flat), absent fields left out. */
function stored(r: JobRecord): string[] {
  const fields = encodeFields(r, 1 << 20);
  const flat: string[] = [];
  FIELD_NAMES.forEach((name, i) => {
    if (fields[i] !== '') flat.push(name, fields[i] as string);
  });
  // seq and token live outside encodeFields (the scripts write them).
  flat.push('seq', String(r.seq));
  if (r.token !== undefined) flat.push('tk', r.token);
  return flat;
}

describe('codec: a record survives encode and decode', () => {
  test('every optional field, and extra fields kept as JSON', () => {
    const full = record({
      state: 'completed',
      attempt: 2,
      priority: -1,
      finishedAt: 20,
      result: { ok: true },
      token: 't1',
      lost: 'lease',
      relative: true,
      group: 'g',
      groupConcurrency: 2,
      signature: 'sig',
    } as Partial<JobRecord>);
    assert.deepEqual(decodeRecord(stored(full), 'a'), full);
    const plain = record();
    assert.deepEqual(decodeRecord(stored(plain), 'a'), plain);
    // A group without its own concurrency.
    const grouped = record({ group: 'g' });
    assert.deepEqual(decodeRecord(stored(grouped), 'a'), grouped);
  });

  test('absent fields read as their defaults; an empty hash is no job', () => {
    assert.equal(decodeRecord([]), undefined);
    assert.equal(decodeRecord({ nm: 'work' }), undefined, 'no payload: no job');
    assert.equal(decodeRecord({ pl: '1' }), undefined, 'no name: no job');
    assert.deepEqual(decodeRecord({ pl: '1', nm: 'work', at: '7', id: 'x', st: 'weird', tk: '', fin: '', res: '', lo: 'other', rl: '0', gr: '', gm: '3' }), {
      id: 'x',
      name: 'work',
      payload: 1,
      state: 'scheduled',
      runAt: 7,
      createdAt: 0,
      attempt: 0,
      seq: 0,
      priority: 0,
    });
    assert.equal(decodeRecord({ pl: '1', nm: 'work', at: '7' })?.id, '', 'no id anywhere');
  });

  test('toMap reads a flat reply (an odd trailing field is ignored) or a map; changedFields lists what differs', () => {
    assert.deepEqual(toMap(['a', '1', 'b', '2', 'c']), { a: '1', b: '2' });
    const map = { a: '1' };
    assert.equal(toMap(map), map);
    const fields = encodeFields(record(), 1 << 20);
    const base = toMap(stored(record()));
    assert.deepEqual(changedFields(fields, base), []);
    const changed = encodeFields(record({ state: 'running', attempt: 1 }), 1 << 20);
    assert.deepEqual(changedFields(changed, base), ['st', 'running', 'att', '1']);
  });

  test('a payload or a result over the limit is refused, counted in UTF-8 bytes', () => {
    assert.throws(() => encodeFields(record({ payload: 'é'.repeat(10) }), 21), new ValidationError('Expected the payload of job `a` to be at most 21 bytes of JSON, got 22'));
    encodeFields(record({ payload: 'é'.repeat(10) }), 22);
    assert.throws(() => encodeFields(record({ result: 'x'.repeat(30) }), 31), new ValidationError('Expected the result of job `a` to be at most 31 bytes of JSON, got 32'));
    // A payload text the caller already has (an attempt's outcome) is not counted again.
    const fields = encodeFields(record({ payload: 'x'.repeat(100) }), 10, '"x"');
    assert.equal(fields[0], '"x"');
  });
});

describe('connection: naming a client, reading script failures', () => {
  const client = (o: object): RedisClient => ({ options: o }) as unknown as RedisClient;
  const cluster = (startupNodes?: unknown[]): RedisClient => ({ isCluster: true, startupNodes, options: {} }) as unknown as RedisClient;

  test('describeAddress: host and port, socket path, TLS, Cluster startup nodes of every form, never a password', () => {
    assert.equal(describeAddress(client({})), 'redis://127.0.0.1:6379');
    assert.equal(describeAddress(client({ host: 'db', port: 7000, password: 'secret' })), 'redis://db:7000');
    assert.equal(describeAddress(client({ path: '/run/redis.sock' })), 'redis:///run/redis.sock');
    assert.equal(describeAddress(client({ host: 'db', tls: {} })), 'rediss://db:6379');
    assert.equal(
      describeAddress(cluster(['redis://user:secret@a:7000', 7001, { host: 'b' }, { port: 7002 }])),
      'Redis Cluster (redis://a:7000, 127.0.0.1:7001, b:6379, 127.0.0.1:7002)',
    );
    assert.equal(describeAddress(cluster([])), 'Redis Cluster (no startup nodes)');
    assert.equal(describeAddress(cluster()), 'Redis Cluster (no startup nodes)');
  });

  test('scriptFailure: only a ReplyError starting GODELAYQ with a JSON body, with or without the script suffix', () => {
    const reply = (message: string): Error => Object.assign(new Error(message), { name: 'ReplyError' });
    assert.deepEqual(scriptFailure(reply('GODELAYQ {"code":"locked"} script: abc, on @user_script:1.')), { code: 'locked' });
    assert.deepEqual(scriptFailure(reply('GODELAYQ {"code":"x"}')), { code: 'x' });
    assert.equal(scriptFailure(reply('GODELAYQ {not json')), undefined);
    assert.equal(scriptFailure(reply('ERR something else')), undefined);
    assert.equal(scriptFailure(new Error('GODELAYQ {"code":"x"}')), undefined, 'not a reply error');
    assert.equal(scriptFailure(null), undefined);
    assert.equal(scriptFailure('GODELAYQ {}'), undefined);
  });
});

describe('options', () => {
  const fakeClient = { evalsha: () => undefined, duplicate: () => undefined, options: {} };

  test('refuses bad options with the argument named', () => {
    const cases: [unknown, RegExp][] = [
      [{ client: fakeClient, url: 'redis://x' }, /Expected one of `options.client` or `options.url`, got both/],
      [{ client: {} }, /Expected `options.client` to be an ioredis Redis or Cluster client/],
      [{ client: null }, /Expected `options.client` to be an ioredis Redis or Cluster client, got null/],
      [{ url: 'http://x' }, /Expected `options.url` to be a redis:\/\/ or rediss:\/\/ URL string/],
      [{ url: 5 }, /Expected `options.url` to be a redis:\/\/ or rediss:\/\/ URL string, got 5/],
      [{ readOnly: 'yes' }, /Expected `options.readOnly` to be a boolean/],
      [{ client: { ...fakeClient, isCluster: true, options: {} }, prefix: 'jobs' }, /Expected `options.prefix` to hold a hash tag on Redis Cluster, such as "\{jobs\}"/],
    ];
    for (const [options, message] of cases) assert.throws(() => resolveOptions(options as never), (e: unknown) => e instanceof ValidationError && message.test(e.message), JSON.stringify(options));
  });

  test('a Cluster gets a hash-tagged default prefix; a Cluster keyPrefix may carry the tag', () => {
    assert.equal(resolveOptions({ client: { ...fakeClient, isCluster: true, options: {} } as never }).prefix, '{godelayq}');
    assert.equal(resolveOptions({ client: { ...fakeClient, isCluster: true, options: { keyPrefix: '{app}' } } as never, prefix: 'jobs' }).prefix, 'jobs');
    assert.equal(resolveOptions({ client: fakeClient as never }).prefix, 'godelayq');
    assert.equal(resolveOptions({ url: 'rediss://db:6380', readOnly: true }).readOnly, true);
  });
});
