/**
 * The deterministic simulation (test/sim/): its simulated disk, its
 * replayability, proof that its invariants catch planted bugs, and the CI
 * budget: 2,000 seeded scenarios of the real Scheduler on MemoryStore and
 * JsonFileStore with crashes, power cuts, disk faults and clock steps.
 * `npm run sim` runs more (see test/sim/cli.ts).
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { JsonFileStore } from '../src/store/json-file.js';
import { setStepTurnForTests } from '../src/store/local.js';
import type { FsLayer } from '../src/store/json-file/fs.js';
import type { Store } from '../src/store/store.js';
import { reproCommand, runBatch, scenarioOf, seedRange } from './sim/batch.js';
import { SimDisk } from './sim/disk.js';
import { MAIN } from './sim/known.js';
import { Prng } from './sim/prng.js';
import { formatCoverage, formatFailure } from './sim/report.js';
import { runScenario, type RunResult } from './sim/run.js';
import { DEAD_PID, PidTable, SimFs } from './sim/sim-fs.js';
import { storeConformance } from './store-conformance.js';
import { startRedis } from './redis-server.js';
import { runRedisScenario } from './sim/redis-sim.js';
import { runPostgresScenario } from './sim/postgres-sim.js';
import { postgresSkip, startPostgres } from './postgres-server.js';

/** A SimFs for one always-alive process. */
function simFs(disk: SimDisk, pids = new PidTable(), pid = 7): SimFs {
  pids.register(pid, () => true);
  return new SimFs(disk, { pid, alive: () => true, crashPoint: () => undefined, latency: () => 0 }, pids);
}

const text = async (fs: FsLayer, file: string): Promise<string> => (await fs.readFile(file)).toString('utf8');

describe('SimDisk: what a power cut keeps', () => {
  it('keeps fsynced data and renames followed by a directory fsync', async () => {
    for (let seed = 0; seed < 50; seed++) {
      const disk = new SimDisk();
      const fs = simFs(disk);
      await fs.mkdir('/d');
      disk.syncTree();
      const fd = await fs.open('/d/f', 'w');
      await fs.write(fd, Buffer.from('hello'), 0, 5, 0);
      await fs.fsync(fd);
      await fs.close(fd);
      const dir = await fs.open('/d', 'r');
      await fs.fsync(dir);
      await fs.rename('/d/f', '/d/g');
      await fs.fsync(dir);
      disk.powerCut('prefix', new Prng(seed));
      assert.deepEqual(await simFs(disk).readdir('/d'), ['g']);
      assert.equal(await text(simFs(disk), '/d/g'), 'hello');
    }
  });

  it('may lose unsynced data, or tear it at a page boundary (maybe zeros after), and undo an unsynced rename, over many cuts', async () => {
    const outcomes = new Set<string>();
    const synced = '0'.repeat(4000);
    for (let seed = 0; seed < 300; seed++) {
      const disk = new SimDisk();
      const fs = simFs(disk);
      await fs.mkdir('/d');
      const fd = await fs.open('/d/a', 'w');
      await fs.write(fd, Buffer.from(synced), 0, 4000, 0);
      await fs.fsync(fd);
      disk.syncTree();
      // 200 bytes across the 4096-byte page boundary.
      await fs.write(fd, Buffer.from('a'.repeat(200)), 0, 200, 4000);
      await fs.rename('/d/a', '/d/b');
      disk.powerCut('prefix', new Prng(seed));
      const after = simFs(disk);
      const names = await after.readdir('/d');
      const name = names[0] as string;
      assert.equal(names.length, 1);
      const content = await text(after, `/d/${name}`);
      assert.ok(content.startsWith(synced), 'synced bytes always survive');
      let kind: string;
      if (content.length === 4000) kind = 'lost';
      else if (content === synced + 'a'.repeat(200)) kind = 'kept';
      else if (content === synced + 'a'.repeat(96)) kind = 'torn';
      else if (content === synced + 'a'.repeat(96) + '\0'.repeat(104)) kind = 'tornZeros';
      else assert.fail(`a torn write ends at a page boundary (4096), maybe followed by zeros; got ${content.length} bytes: ${JSON.stringify(content.slice(4000))}`);
      outcomes.add(`${name}:${kind}`);
    }
    assert.deepEqual([...outcomes].sort(), ['a:kept', 'a:lost', 'a:torn', 'a:tornZeros', 'b:kept', 'b:lost', 'b:torn', 'b:tornZeros']);
  });

  it('never tears a write inside one page: it is lost or kept whole', async () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const disk = new SimDisk();
      const fs = simFs(disk);
      await fs.mkdir('/d');
      const fd = await fs.open('/d/a', 'w');
      await fs.write(fd, Buffer.from('0123456789'), 0, 10, 0);
      await fs.fsync(fd);
      disk.syncTree();
      await fs.write(fd, Buffer.from('abcdefghij'), 0, 10, 10);
      disk.powerCut('prefix', new Prng(seed));
      const content = await text(simFs(disk), '/d/a');
      assert.ok(content === '0123456789' || content === '0123456789abcdefghij', `lost or kept whole, got ${JSON.stringify(content)}`);
      outcomes.add(content.length === 10 ? 'lost' : 'kept');
    }
    assert.deepEqual([...outcomes].sort(), ['kept', 'lost']);
  });

  it('a failed fsync drops the pending data for good, though reads still see it', async () => {
    const disk = new SimDisk();
    const fs = simFs(disk);
    await fs.mkdir('/d');
    const fd = await fs.open('/d/f', 'w');
    disk.syncTree();
    await fs.write(fd, Buffer.from('lost'), 0, 4, 0);
    disk.arm('fsync-EIO', 1);
    await assert.rejects(fs.fsync(fd), /EIO/);
    assert.equal(await text(fs, '/d/f'), 'lost');
    await fs.fsync(fd); // succeeds: nothing left to write
    disk.powerCut('prefix', new Prng(1));
    assert.equal(await text(simFs(disk), '/d/f'), '');
  });

  it('O_DSYNC writes are durable when they return; a full disk fails until healed', async () => {
    const disk = new SimDisk();
    const fs = simFs(disk);
    await fs.mkdir('/d');
    const fd = await fs.open('/d/f', constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC);
    disk.syncTree();
    await fs.write(fd, Buffer.from('abc'), 0, 3, 0);
    disk.arm('ENOSPC', 1);
    await assert.rejects(fs.write(fd, Buffer.from('def'), 0, 3, 3), /ENOSPC/);
    await assert.rejects(fs.write(fd, Buffer.from('def'), 0, 3, 3), /ENOSPC/);
    disk.heal();
    assert.equal(await fs.write(fd, Buffer.from('def'), 0, 3, 3), 3);
    disk.powerCut('prefix', new Prng(3));
    assert.equal(await text(simFs(disk), '/d/f'), 'abcdef');
  });

  it('gives each simulated process its own pid in lock files', async () => {
    const disk = new SimDisk();
    const pids = new PidTable();
    let aAlive = true;
    pids.register(1, () => aAlive);
    const a = new SimFs(disk, { pid: 1, alive: () => aAlive, crashPoint: () => undefined, latency: () => 0 }, pids);
    const b = simFs(disk, pids, 2);
    await a.mkdir('/d');
    await a.writeFileAtomic('/d/LOCK', `{"pid":${process.pid},"nonce":"x"}`);
    assert.equal(await text(a, '/d/LOCK'), `{"pid":${process.pid},"nonce":"x"}`);
    assert.equal(await text(b, '/d/LOCK'), `{"pid":${process.ppid},"nonce":"x"}`);
    aAlive = false;
    assert.equal(await text(b, '/d/LOCK'), `{"pid":${DEAD_PID},"nonce":"x"}`);
  });
});

let conformancePid = 100;
storeConformance('JsonFileStore on the simulated disk', async () => {
  const disk = new SimDisk();
  const pids = new PidTable();
  const store = (): JsonFileStore => new JsonFileStore('/sim/store', { fs: simFs(disk, pids, ++conformancePid), snapshotEvery: { changes: 7 } });
  return { store: store(), reopen: () => Promise.resolve(store()), cleanup: () => Promise.resolve() };
});

describe('simulation: replay and sensitivity', () => {
  it('replays a seed exactly (same trace, same coverage)', async () => {
    for (const seed of [3, 17, 29]) {
      const sc = scenarioOf(seed);
      const a = await runScenario(sc, { trace: true, expect: MAIN });
      const b = await runScenario(sc, { trace: true, expect: MAIN });
      assert.ok(a.trace.length > 10);
      assert.deepEqual(b.trace, a.trace);
      assert.deepEqual(b.coverage, a.coverage);
    }
  });

  it('catches a disk that lies about fsync (acknowledged jobs lost in a power cut)', async () => {
    // Planted bug: fsync/fdatasync do nothing and O_DSYNC is dropped.
    const liar = (fs: FsLayer): FsLayer =>
      new Proxy(fs, {
        get(target, key, receiver) {
          if (key === 'fsync' || key === 'fdatasync') return () => Promise.resolve();
          if (key === 'open') return (file: string, flags: string | number) => target.open(file, typeof flags === 'number' ? flags & ~constants.O_DSYNC : flags);
          const value = Reflect.get(target, key, receiver) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    let found: string | undefined;
    for (let seed = 1; seed <= 300 && !found; seed++) {
      const sc = scenarioOf(seed, { gen: { store: 'json' } });
      const r = await runScenario(sc, { expect: MAIN, wrapFs: liar });
      if (!r.ok) found = `${r.invariant}: ${r.message}`;
    }
    assert.match(found ?? 'nothing found', /^(durable|rejected|reopen|slotOnce|noRerun|attempts)/);
  });

  it('lets time pass while a restart waits on the clock alone (an unreadable LOCK is watched for staleLockMs), instead of hanging', async () => {
    // Each process reads LOCK as garbage until it holds the lock itself, so
    // every restart after a crash must wait staleLockMs of simulated time.
    const unreadableLock = (fs: FsLayer): FsLayer => {
      let holds = false;
      return new Proxy(fs, {
        get(target, key) {
          if (key === 'readFile') {
            return async (file: string) => (!holds && file.endsWith('/LOCK') ? Buffer.from('{"godelayq":"lock","pid":4') : target.readFile(file));
          }
          if (key === 'link') {
            return async (from: string, to: string) => {
              await target.link(from, to);
              if (to.endsWith('/LOCK')) holds = true;
            };
          }
          const value = Reflect.get(target, key, target) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    };
    let waited = 0;
    for (let seed = 1; seed <= 40 && waited === 0; seed++) {
      const r = await runScenario(scenarioOf(seed, { gen: { store: 'json' } }), { expect: MAIN, wrapFs: unreadableLock });
      assert.ok(r.ok, `seed ${seed}: [${r.invariant}] ${r.message}`);
      waited += r.coverage['start.waitedOnClock'] ?? 0;
    }
    // At least staleLockMs (30 s) in 1 s steps for one restart.
    assert.ok(waited >= 30, `a restart waited on the clock (${waited} steps)`);
  });

  /** `store` with one method replaced by `impl` (which gets the real store), the rest passed through. */
  const planted =
    <K extends keyof Store>(method: K, impl: (target: Store) => Store[K]) =>
    (store: Store): Store =>
      new Proxy(store, {
        get(target, key, receiver) {
          if (key === method) return impl(target);
          const value = Reflect.get(target, key, receiver) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });

  /** The first failure of seeds 1..`seeds` with the planted store, as `invariant: message`. */
  async function firstFailure(wrapStore: (store: Store) => Store, seeds: number): Promise<string> {
    for (let seed = 1; seed <= seeds; seed++) {
      const r = await runScenario(scenarioOf(seed), { expect: MAIN, wrapStore });
      if (!r.ok) return `${r.invariant}: ${r.message}`;
    }
    return 'nothing found';
  }

  it('catches a store that claims jobs 1 s early', async () => {
    const early = planted('claim', (target) => (req) => target.claim({ ...req, now: req.now + 1000 }));
    assert.match(await firstFailure(early, 100), /^notEarly/);
  });

  it('catches a store whose dedupe windows last a minute longer than asked', async () => {
    const long = planted('insert', (target) => (requests) =>
      target.insert(requests.map((r) => (r.dedupe ? { ...r, dedupe: { ...r.dedupe, ttlMs: r.dedupe.ttlMs + 60_000 } } : r))),
    );
    assert.match(await firstFailure(long, 1000), /^dedupe: .* which had ended/);
  });
});

describe('simulation: CI budget', () => {
  it('2,000 seeded scenarios hold every invariant (main, known gaps muted)', async (t) => {
    const result = await runBatch(seedRange(1, 2000), { maxFailures: 3 });
    const rate = result.scenarios / (result.ms / 1000);
    t.diagnostic(`${result.scenarios} scenarios in ${(result.ms / 1000).toFixed(1)} s (${rate.toFixed(1)} scenarios/s)`);
    for (const line of formatCoverage(result.coverage).split('\n')) t.diagnostic(line);
    const report = result.failures.map((f) => formatFailure(f, reproCommand(f.seed))).join('\n');
    assert.equal(result.failures.length, 0, report);
    assert.equal(result.scenarios, 2000);
    // Every invariant and fault kind was exercised.
    for (const key of ['inv.durable', 'inv.rejected', 'inv.notEarly', 'inv.noRerun', 'inv.atLeastOnce', 'inv.attempts', 'inv.slotOnce', 'inv.stats', 'inv.heap', 'inv.settled', 'inv.concurrency', 'inv.phantom', 'inv.atomicMany']) {
      assert.ok((result.coverage[key] ?? 0) > 0, `${key} never evaluated`);
    }
    for (const key of ['fault.ENOSPC', 'fault.short', 'fault.EIO', 'fault.EIO-landed', 'fault.fsync-EIO', 'fault.read-EIO', 'crash.power-prefix', 'crash.kill']) {
      assert.ok((result.coverage[key] ?? 0) > 0, `${key} never happened`);
    }
  });

  it('500 more with every clock step re-based in turns (turn size 1: the scenarios hold tens of jobs, below the default 1,024)', async (t) => {
    const restore = setStepTurnForTests(1);
    try {
      const result = await runBatch(seedRange(5001, 500), { maxFailures: 3 });
      t.diagnostic(`${result.scenarios} scenarios in ${(result.ms / 1000).toFixed(1)} s, ${result.coverage['step.step'] ?? 0} clock steps`);
      assert.equal(result.failures.length, 0, result.failures.map((f) => formatFailure(f, reproCommand(f.seed, ['--step-turn', '1']))).join('\n'));
      assert.equal(result.scenarios, 500);
      assert.ok((result.coverage['step.step'] ?? 0) > 50, `expected clock steps in the scenarios, got ${result.coverage['step.step'] ?? 0}`);
    } finally {
      restore();
    }
  });
});

/** Seeds 1-6 of a shared-store simulation: the failures (with their replay command) and the summed coverage. */
async function sharedBudget(t: TestContext, label: string, run: (seed: number) => Promise<RunResult>): Promise<Record<string, number>> {
  const coverage: Record<string, number> = {};
  const failures: string[] = [];
  for (let seed = 1; seed <= 6; seed++) {
    const r = await run(seed);
    for (const [k, v] of Object.entries(r.coverage)) coverage[k] = (coverage[k] ?? 0) + v;
    if (!r.ok) failures.push(`seed ${seed}: [${r.invariant}] ${r.message} (npm run sim -- --store ${label} --seed ${seed})`);
  }
  for (const line of formatCoverage(coverage).split('\n')) t.diagnostic(line);
  assert.deepEqual(failures, []);
  assert.ok((coverage['crash.worker'] ?? 0) > 0, 'no worker was killed');
  assert.ok((coverage['inv.slotOnce'] ?? 0) > 0 && (coverage['inv.durable'] ?? 0) > 0);
  return coverage;
}

describe('simulation: RedisStore on a real redis-server (small budget, real time)', () => {
  it('6 seeded scenarios with workers killed at random points hold the invariants (main, known gaps muted)', async (t) => {
    const server = await startRedis();
    try {
      await sharedBudget(t, 'redis', (seed) => runRedisScenario(server, seed, MAIN));
    } finally {
      await server.destroy();
    }
  });
});

describe('simulation: PostgresStore on a real PostgreSQL server (small budget, real time)', { skip: postgresSkip }, () => {
  it('6 seeded scenarios with workers killed, backends terminated, writes locked out and the server restarted hold the invariants', async (t) => {
    const server = await startPostgres();
    try {
      const coverage = await sharedBudget(t, 'postgres', (seed) => runPostgresScenario(server, seed, MAIN));
      for (const key of ['fault.serverRestart', 'fault.clientKill', 'fault.clientPause']) assert.ok((coverage[key] ?? 0) > 0, `${key} never happened`);
    } finally {
      await server.destroy();
    }
  });
});
