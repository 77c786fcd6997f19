/**
 * DirectoryLoader's keep mode: kept files remembered across restarts (and a
 * touch, a change, a deletion), and the state file under it
 * (src/loader/manifest.ts): one appended, checksummed line per change, a
 * torn last line dropped, any other damage refused, version 1 converted,
 * compaction, and a failed append repaired by the next write.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GodelayqError } from '../src/errors.js';
import { nodeLoaderFs } from '../src/loader/fs-layer.js';
import { COMPACT_MIN, type KeptEntry, KeptManifest } from '../src/loader/manifest.js';
import type { DirectoryLoaderOptions } from '../src/index.js';

import { FAST, SpyFs, advance, cleanup, drive, drop, errno, fixture, scheduledCount, startLoader, tempDir } from './loader-helpers.js';

const STATE = '.godelayq-loader.json';

function entry(n: number): KeptEntry {
  return { size: n, mtimeMs: 1000 + n, sha256: 'ab'.repeat(32), jobIds: [`job-${n}`], loadedAt: '2027-01-01T00:00:00.000Z' };
}

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
}

describe('DirectoryLoader: keep mode', () => {
  it('remembers files across restarts, ignores a touch, reloads a change and cancels what it replaced', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const options: DirectoryLoaderOptions = { dir, onLoaded: 'keep' };
    const first = await startLoader(defer, scheduler, options);
    await drop(dir, 'k.json', [
      { name: 'k', payload: 1, delay: '1h' },
      { name: 'k', payload: 'hourly', cron: '0 * * * *' },
      { id: 'k-fixed', name: 'k', payload: 'v1', delay: '3h' },
    ]);
    await drive(first.clock, first.loader, first.loader.scan());
    assert.equal(first.log.loaded.length, 1);
    const ids1 = first.log.loaded[0]!.jobIds;
    assert.ok((await readdir(dir)).includes('k.json'));
    assert.ok((await readdir(dir)).includes(STATE), 'the state file is hidden from the pattern');
    await first.loader.stop();

    // start() looks at every file: the kept one is recognised, not loaded.
    const second = await startLoader(defer, scheduler, options);
    assert.equal(second.log.loaded.length, 0, 'not loaded again after a restart');
    const later = new Date((await stat(join(dir, 'k.json'))).mtimeMs + 5000);
    await utimes(join(dir, 'k.json'), later, later);
    await drive(second.clock, second.loader, second.loader.scan());
    const remembered = (await lines(join(dir, STATE))).map((l) => JSON.parse(l) as { set?: string; mtimeMs?: number });
    assert.equal(remembered.at(-1)?.mtimeMs, (await stat(join(dir, 'k.json'))).mtimeMs, 'the loader read the touched file and remembered its new mtime');
    assert.equal(second.log.loaded.length, 0, 'a touch without a change loads nothing');
    assert.equal(await scheduledCount(scheduler), 3);

    await drop(dir, 'k.json', [
      { name: 'k', payload: 2, delay: '2h' },
      { id: 'k-fixed', name: 'k', payload: 'v2', delay: '3h' },
    ]);
    await drive(second.clock, second.loader, second.loader.scan());
    assert.equal(second.log.loaded.length, 1);
    const ids2 = second.log.loaded[0]!.jobIds;
    assert.equal(ids2[1], 'k-fixed');
    assert.equal((await scheduler.get(ids1[0]!))?.state, 'cancelled', 'the old one-off is cancelled');
    assert.equal((await scheduler.get(ids1[1]!))?.state, 'cancelled', 'the old schedule is cancelled');
    assert.deepEqual((await scheduler.get('k-fixed'))?.payload, 'v2', 'its own id is replaced');
    assert.deepEqual((await scheduler.list({ state: 'scheduled' })).map((i) => i.payload).sort(), [2, 'v2']);
    await second.loader.stop();

    const third = await startLoader(defer, scheduler, options);
    assert.deepEqual(third.log.loaded, [], 'the changed version is remembered too');
    assert.deepEqual(third.log.failed, []);
    assert.deepEqual(third.log.errors, []);
  });

  it('forgets a kept file missing at two rescans at least a second apart, not one briefly gone (save by rename)', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const fs = new SpyFs();
    const { loader, log, clock } = await startLoader(defer, scheduler, { dir, onLoaded: 'keep', fs });
    await drop(dir, 'a.json', { name: 'x', payload: 'a' });
    await drop(dir, 'b.json', { name: 'x', payload: 'b' });
    await drive(clock, loader, loader.scan());
    assert.equal(log.loaded.length, 2);
    const aText = await readFile(join(dir, 'a.json'));
    const aTime = (await stat(join(dir, 'a.json'))).mtime;

    // a.json gone for one rescan, then back as it was: still remembered.
    await rm(join(dir, 'a.json'));
    await rm(join(dir, 'b.json'));
    const reads = fs.count('readdir');
    await advance(clock, loader, FAST.rescanMs);
    await writeFile(join(dir, 'a.json'), aText);
    await utimes(join(dir, 'a.json'), aTime, aTime);
    // b.json stays away: missing at rescans over more than a second.
    for (let i = 0; i < 8; i++) await advance(clock, loader, FAST.rescanMs);
    assert.ok(fs.count('readdir') >= reads + 9, 'nine rescans');
    assert.equal(log.loaded.length, 2, 'a.json came back unchanged: not loaded again');
    const changes = (await lines(join(dir, STATE))).slice(1).map((l) => JSON.parse(l) as { set?: string; delete?: string });
    assert.deepEqual(
      changes.filter((c) => c.delete !== undefined).map((c) => c.delete),
      ['b.json'],
      'b.json forgotten, a.json not',
    );
    await loader.stop();

    // After a restart b.json is a new file again.
    const again = await startLoader(defer, scheduler, { dir, onLoaded: 'keep' });
    await drop(dir, 'b.json', { name: 'x', payload: 'b' });
    await drive(again.clock, again.loader, again.loader.scan());
    assert.equal(again.log.loaded.length, 1);
    assert.equal(again.log.loaded[0]!.file, join(dir, 'b.json'));
  });

  it('a torn last line of the state file (a crash mid-append) is dropped, and its file loads again adding nothing', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const first = await startLoader(defer, scheduler, { dir, onLoaded: 'keep', settleMs: 0 });
    await drop(dir, 'a.json', { name: 'x', payload: 'a', delay: '1h' });
    await first.loader.scan();
    await drop(dir, 'b.json', { name: 'x', payload: 'b', delay: '1h' });
    await first.loader.scan();
    await first.loader.stop();
    // The crash: b.json's line only half written.
    const text = await readFile(join(dir, STATE), 'utf8');
    const cut = text.slice(0, text.lastIndexOf('\n', text.length - 2) + 1 + 30);
    await writeFile(join(dir, STATE), cut);

    const second = await startLoader(defer, scheduler, { dir, onLoaded: 'keep', settleMs: 0 });
    assert.deepEqual(second.log.errors, []);
    assert.deepEqual(
      second.log.loaded.map((e) => e.file),
      [join(dir, 'b.json')],
      'b.json was never acknowledged as remembered: loaded again',
    );
    assert.equal(await scheduledCount(scheduler), 2, 'its derived ids added nothing');
    const after = await lines(join(dir, STATE));
    assert.ok(after.every((l) => JSON.parse(l) !== undefined), 'the torn line is gone');
    assert.equal(after.length, 3);
  });

  it('refuses a state file with a changed byte, naming the line, and leaves it untouched', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const first = await startLoader(defer, scheduler, { dir, onLoaded: 'keep', settleMs: 0 });
    for (const name of ['a.json', 'b.json']) {
      await drop(dir, name, { name: 'x', delay: '1h' });
      await first.loader.scan();
    }
    await first.loader.stop();
    const text = await readFile(join(dir, STATE), 'utf8');
    const damaged = text.replace('"set":"a.json","size":', '"set":"a.json","size":9');
    assert.notEqual(damaged, text);
    await writeFile(join(dir, STATE), damaged);
    await assert.rejects(startLoader(defer, scheduler, { dir, onLoaded: 'keep' }), (error: unknown) => {
      return error instanceof GodelayqError && /line 2/.test(error.message) && /checksum/.test(error.message) && error.message.includes(join(dir, STATE));
    });
    assert.equal(await readFile(join(dir, STATE), 'utf8'), damaged, 'untouched');
  });

  it('reads a version 1 state file and converts it', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    await writeFile(join(dir, 'old.json'), JSON.stringify({ name: 'x' }));
    const st = await stat(join(dir, 'old.json'));
    const v1 = { version: 1, files: { 'old.json': { size: st.size, mtimeMs: st.mtimeMs, sha256: 'ab'.repeat(32), jobIds: ['j'], loadedAt: '2026-01-01T00:00:00.000Z' } } };
    await writeFile(join(dir, STATE), JSON.stringify(v1, null, 1));
    const { log } = await startLoader(defer, scheduler, { dir, onLoaded: 'keep' });
    assert.deepEqual(log.loaded, [], 'remembered from version 1');
    const converted = await lines(join(dir, STATE));
    assert.equal(converted[0], '{"godelayqLoaderState":2}');
    assert.equal((JSON.parse(converted[1]!) as { set: string }).set, 'old.json');
  });
});

describe('KeptManifest', () => {
  it('appends one checksummed line per change, to the same file (no rewrite), and reads them back', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const path = join(dir, 'state.json');
    const m = new KeptManifest(path, nodeLoaderFs);
    await m.load();
    const ino = (await stat(path)).ino;
    await Promise.all([m.set('a', entry(1)), m.set('b', entry(2)), m.set('c', entry(3))]);
    await m.delete('b');
    await m.delete('nothing');
    assert.equal((await stat(path)).ino, ino, 'appended, not replaced');
    const text = await lines(path);
    assert.equal(text.length, 5);
    for (const line of text.slice(1)) assert.match(line, /,"crc":"[0-9a-f]{8}"\}$/);
    await m.close();
    const again = new KeptManifest(path, nodeLoaderFs);
    await again.load();
    assert.deepEqual([...again.names()].sort(), ['a', 'c']);
    assert.deepEqual(again.get('c'), entry(3));
    await again.close();
  });

  it('changes made during a write share the next write and fsync (group commit)', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const fs = new SpyFs();
    const m = new KeptManifest(join(dir, 'state.json'), fs);
    await m.load();
    const before = fs.count('fsync');
    await Promise.all(Array.from({ length: 100 }, (_, i) => m.set(`f${i}`, entry(i))));
    const used = fs.count('fsync') - before;
    assert.ok(used >= 1 && used <= 2, `100 changes, ${used} fsync(s)`);
    await m.close();
  });

  it(`compacts once lines exceed ${COMPACT_MIN} and twice the entries, keeping every entry`, async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const path = join(dir, 'state.json');
    const fs = new SpyFs();
    fs.override.fsync = () => Promise.resolve(); // speed only: this test is about the file's content
    const m = new KeptManifest(path, fs);
    await m.load();
    // One at a time: each change is made the moment the previous one is acknowledged (a lost
    // wake-up there once left the second change pending forever).
    for (let i = 0; i < COMPACT_MIN + 10; i++) await m.set(i % 2 === 0 ? 'even' : 'odd', entry(i));
    assert.ok(fs.count('rename') >= 2, 'compacted (beyond the first write at load)');
    const text = await lines(path);
    assert.ok(text.length < 20, `compacted to ${text.length} lines`);
    await m.close();
    const again = new KeptManifest(path, nodeLoaderFs);
    await again.load();
    assert.deepEqual(again.get('even'), entry(COMPACT_MIN + 8));
    assert.deepEqual(again.get('odd'), entry(COMPACT_MIN + 9));
    await again.close();
  });

  it('a failed append rejects that change; the next change rewrites the file whole, with both', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const path = join(dir, 'state.json');
    const fs = new SpyFs();
    const m = new KeptManifest(path, fs);
    await m.load();
    await m.set('a', entry(1));
    // Half a line lands, then the disk fails.
    fs.override.write = async (fd, buffer, offset, length, position) => {
      delete fs.override.write;
      await nodeLoaderFs.write(fd, buffer, offset, Math.floor(length / 2), position);
      throw errno('EIO', 'write');
    };
    await assert.rejects(m.set('b', entry(2)), { code: 'EIO' });
    await m.set('c', entry(3));
    await m.close();
    const again = new KeptManifest(path, nodeLoaderFs);
    await again.load();
    assert.deepEqual([...again.names()].sort(), ['a', 'b', 'c'], 'b is in memory, so the rewrite kept it');
    assert.ok((await lines(path)).every((l) => JSON.parse(l) !== undefined));
    await again.close();
  });

  it('refuses content it did not write', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const path = join(dir, 'state.json');
    for (const bad of ['', 'not json', '{"version":3}', '{"godelayqLoaderState":2}\n{"set":"a"}\n']) {
      await writeFile(path, bad);
      const m = new KeptManifest(path, nodeLoaderFs);
      await assert.rejects(m.load(), (error: unknown) => error instanceof GodelayqError && error.message.includes(path), JSON.stringify(bad));
      assert.equal(await readFile(path, 'utf8'), bad);
    }
  });
});
