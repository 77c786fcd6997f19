/**
 * DirectoryLoader building blocks without watching: the job-file format,
 * the file-name glob and ISO instants. (The moves: loader-moves.test.ts.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../src/errors.js';
import { compileGlob } from '../src/loader/glob.js';
import { JobFileSyntaxError, decodeJobFile, parseIsoInstant, readJobs } from '../src/loader/job-file.js';
import { T0 } from './helpers.js';

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('compileGlob', () => {
  it('matches * and ? on whole names, literal otherwise', () => {
    const json = compileGlob('*.json');
    assert.equal(json('a.json'), true);
    assert.equal(json('.json'), false, 'a wildcard never matches a leading dot');
    assert.equal(json('a.json.tmp'), false);
    assert.equal(json('ajson'), false, 'the dot is literal');
    assert.equal(json('x.JSON'), false, 'case-sensitive');
    const q = compileGlob('job-??.json');
    assert.equal(q('job-01.json'), true);
    assert.equal(q('job-1.json'), false);
    assert.equal(compileGlob('(a)+[b].json')('(a)+[b].json'), true, 'regex characters are literal');
    assert.equal(compileGlob('.*.json')('.hidden.json'), true, 'a pattern starting with a dot may match dotfiles');
  });

  it('refuses empty patterns and path separators', () => {
    for (const bad of ['', 'a/*.json', 'a\\b', 42, undefined]) assert.throws(() => compileGlob(bad), ValidationError);
  });
});

describe('parseIsoInstant', () => {
  it('reads date-times with Z or an offset', () => {
    assert.equal(parseIsoInstant('2027-01-01T00:00:00Z'), T0);
    assert.equal(parseIsoInstant('2027-01-01T01:00:00+01:00'), T0);
    assert.equal(parseIsoInstant('2026-12-31T19:00:00-0500'), T0);
    assert.equal(parseIsoInstant('2027-01-01T00:00Z'), T0);
    assert.equal(parseIsoInstant('2027-01-01T00:00:00.250Z'), T0 + 250);
    assert.equal(parseIsoInstant('2028-02-29T00:00:00Z'), Date.UTC(2028, 1, 29));
  });

  it('refuses impossible dates, missing offsets and other shapes', () => {
    for (const bad of [
      '2027-02-30T00:00:00Z',
      '2027-02-29T00:00:00Z',
      '2027-13-01T00:00:00Z',
      '2027-01-01T24:00:00Z',
      '2027-01-01T00:60:00Z',
      '2027-01-01T00:00:00',
      '2027-01-01',
      'tomorrow',
      '2027-01-01T00:00:00+25:00',
    ]) {
      assert.equal(parseIsoInstant(bad), undefined, bad);
    }
  });
});

describe('decodeJobFile', () => {
  it('parses JSON, allowing a BOM', () => {
    assert.deepEqual(decodeJobFile(enc('\uFEFF{"name":"a"}'), 'f.json'), { name: 'a' });
  });

  it('reports empty, truncated and non-UTF-8 content as a syntax error (maybe half-written)', () => {
    for (const bytes of [enc(''), enc('  \n'), enc('{"name": "a"'), enc('[{"name":'), new Uint8Array([0x7b, 0xff, 0x7d])]) {
      assert.throws(() => decodeJobFile(bytes, 'f.json'), JobFileSyntaxError);
    }
  });
});

describe('readJobs', () => {
  it('accepts one object or an array; none of delay/at/cron/every means now', () => {
    const [one] = readJobs({ name: 'a' }, T0);
    assert.deepEqual(one?.timing, { kind: 'once', delay: 0 });
    assert.equal(one?.payload, null);
    assert.equal(one?.path, 'job');
    const jobs = readJobs(
      [
        { name: 'a', delay: '1h30m', payload: { x: 1 } },
        { name: 'b', delay: 250 },
        { name: 'c', at: '2027-01-01T00:00:00Z', priority: 5, timeout: 1000 },
        { name: 'd', cron: '0 9 * * 1-5', tz: 'Europe/Paris', misfire: 'skip' },
        { id: 'e1', name: 'e', every: '15m', retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 10 } } },
      ],
      T0,
    );
    assert.deepEqual(
      jobs.map((j) => j.timing),
      [
        { kind: 'once', delay: 5_400_000 },
        { kind: 'once', delay: 250 },
        { kind: 'once', at: T0 },
        { kind: 'cron', cron: '0 9 * * 1-5', tz: 'Europe/Paris' },
        { kind: 'every', every: 900_000 },
      ],
    );
    assert.equal(jobs[4]?.id, 'e1');
    assert.equal(jobs[3]?.misfire, 'skip');
    assert.equal(jobs[2]?.priority, 5);
    assert.deepEqual(readJobs([], T0), [], 'an empty array is a file with no jobs');
  });

  const bad: [string, unknown, RegExp][] = [
    ['scalar', 42, /job object or an array/],
    ['null', null, /job object or an array/],
    ['array of scalars', [1], /`jobs\[0\]` to be a job object/],
    ['unknown field', { name: 'a', dealy: 5 }, /Unknown field `job.dealy`/],
    ['no name', { payload: 1 }, /`job.name`/],
    ['two timings', { name: 'a', delay: 5, cron: '* * * * *' }, /at most one of delay, at, cron, every, got delay and cron/],
    ['bad delay string', [{ name: 'a' }, { name: 'a', delay: '10 minutes' }], /`jobs\[1\].delay`/],
    ['negative delay', { name: 'a', delay: -1 }, /`job.delay`/],
    ['bad at', { name: 'a', at: '2027-02-30T00:00:00Z' }, /`job.at` to be an ISO 8601/],
    ['at without offset', { name: 'a', at: '2027-01-01T09:00:00' }, /`job.at`/],
    ['at as a number', { name: 'a', at: T0 }, /`job.at`/],
    ['bad cron', { name: 'a', cron: '61 * * * *' }, /`job`: .*61/],
    ['never-firing cron', { name: 'a', cron: '0 0 30 2 *' }, /never/],
    ['bad tz', { name: 'a', cron: '* * * * *', tz: 'Mars/Olympus' }, /Mars\/Olympus/],
    ['tz without cron', { name: 'a', every: 1000, tz: 'UTC' }, /`job.tz` only with `cron`/],
    ['misfire on a one-off', { name: 'a', delay: 5, misfire: 'all' }, /`job.misfire` only with/],
    ['bad misfire', { name: 'a', every: 5, misfire: 'sometimes' }, /`job.misfire`/],
    ['every zero', { name: 'a', every: 0 }, /`job.every`/],
    ['every fractional ms', { name: 'a', every: 1.5 }, /`job.every`/],
    ['bad retry', { name: 'a', retry: { maxRetries: -1, backoff: { type: 'fixed', delay: 1 } } }, /`job.retry.maxRetries`/],
    ['bad timeout', { name: 'a', timeout: 0 }, /`job.timeout`/],
    ['bad priority', { name: 'a', priority: 'high' }, /`job.priority`/],
    ['bad id', { id: '', name: 'a' }, /`job.id`/],
    ['duplicate ids', [{ id: 'x', name: 'a' }, { id: 'x', name: 'b' }], /unique ids.*jobs\[0\].*jobs\[1\]/],
    ['__proto__ in payload', JSON.parse('{"name":"a","payload":{"__proto__":{}}}'), /__proto__/],
  ];
  for (const [label, value, message] of bad) {
    it(`refuses ${label}`, () => {
      assert.throws(() => readJobs(value, T0), (error: unknown) => error instanceof ValidationError && message.test(error.message));
    });
  }
});
