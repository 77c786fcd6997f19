/**
 * `godelayq` usage: bad arguments exit 1 with a message saying what was
 * expected (and never touch a store), `--help` per command exits 0, and the
 * exit codes are the documented ones.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { cli, tempDir } from './cli-helpers.js';

describe('godelayq usage errors and help', () => {
  it('bad arguments exit 1 with what was expected', async (t) => {
    const dir = tempDir(t);
    const cases: [string[], RegExp][] = [
      [[], /^Usage: godelayq <command>/m],
      [['frobnicate'], /Expected a command \(jobs, show, stats, retry, cancel, reschedule, cron\), got "frobnicate"/],
      [['jobs'], /jobs: expected <store>, got no <store>/],
      [['jobs', dir, '--bogus'], /jobs: Unknown option '--bogus'/],
      [['jobs', dir, '--state', 'zombie'], /Expected `--state` to be one of scheduled, running, completed, dead, cancelled \(comma-separated\), got "zombie"/],
      [['jobs', dir, '--limit=-3'], /Expected `--limit` to be a whole number from 0/],
      [['jobs', dir, '--limit'], /Option '-n, --limit <value>' argument missing/],
      [['jobs', dir, '--prefix', 'x'], /Expected `--prefix` only with a redis:\/\/ store/],
      [['jobs', 'http://example.com'], /Expected <store> to be a JsonFileStore folder, a redis:\/\/ or a postgres:\/\/ URL/],
      [['show', dir], /show: expected <store> <id>, got no <id>/],
      [['show', dir, 'a', 'b'], /got an extra "b"/],
      [['retry', dir, 'x', '--at', 'tomorrow'], /Expected `--at` to be an ISO 8601 time/],
      [['retry', dir, 'x', '--in', 'soon'], /Expected `--in` to be a duration such as 90s/],
      [['retry', dir, 'x', '--in', '5m', '--at', '2030-01-01T00:00:00Z'], /Expected one of `--at` and `--in`, got both/],
      [['cancel', dir, 'x', '--at', '2030-01-01T00:00:00Z'], /cancel: Unknown option '--at'/],
      [['cron'], /cron: expected <expression>/],
      [['cron', '61 * * * *'], /Expected `cron` to be a 5- or 6-field cron expression/],
      [['cron', '0 9 * * *', '--tz', 'Mars/Olympus'], /Expected `tz` to be an IANA time zone name/],
      [['cron', '0 9 * * *', '-n', '0'], /Expected `--count` to be a whole number from 1 to 1000/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 1, `godelayq ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      assert.match(args.length === 0 ? r.stdout : r.stderr, message, `godelayq ${args.join(' ')}`);
    }
    assert.deepEqual(readdirSync(dir), [], 'a usage error wrote into the folder');
    const json = await cli(['jobs', dir, '--state', 'zombie', '--json']);
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as { error: { exitCode: number; message: string } }).error.exitCode, 1);
  });

  it('--help for the command and for each subcommand exits 0 and documents it', async () => {
    const main = await cli(['--help']);
    assert.equal(main.code, 0);
    assert.match(main.stdout, /Exit codes: 0 ok, 1 usage error, 2 job not found, 3 store locked or\nunavailable, 4 store files corrupt, 5 job state does not allow the change,\n70 unexpected failure\./);
    for (const command of ['jobs', 'show', 'stats', 'retry', 'cancel', 'reschedule', 'cron']) {
      const r = await cli([command, '--help']);
      assert.equal(r.code, 0, `${command} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: godelayq ${command} `), command);
      assert.match(r.stdout, /--json/, `${command} --help does not mention --json`);
    }
  });
});
