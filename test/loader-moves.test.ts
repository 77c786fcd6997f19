/**
 * DirectoryLoader's moves (src/loader/fs.ts): never overwriting, the copy
 * fallback where hard links are impossible (EXDEV injected through the fs
 * layer, and for real onto /dev/shm when that is another device), links
 * and special files moved without being opened, and a source replaced
 * between the loader's read and its move left in place.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, statSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityOf, moveNoClobber, moveToErrorDir, utcStamp, withSuffix } from '../src/loader/fs.js';
import { nodeLoaderFs } from '../src/loader/fs-layer.js';
import type { JobMap } from '../src/types.js';
import { T0, virtualScheduler } from './helpers.js';
import { SpyFs, cleanup, drop, errno, fixture, startLoader, tempDir } from './loader-helpers.js';

const idOf = async (path: string) => identityOf(await lstat(path));

/** A SpyFs whose hard links fail as across devices. */
function crossDevice(): SpyFs {
  const fs = new SpyFs();
  fs.override.link = () => Promise.reject(errno('EXDEV', 'link'));
  return fs;
}

describe('moves that never overwrite', () => {
  it('withSuffix and utcStamp', () => {
    assert.equal(withSuffix('a.json', 0), 'a.json');
    assert.equal(withSuffix('a.json', 2), 'a-2.json');
    assert.equal(withSuffix('README', 1), 'README-1');
    assert.equal(utcStamp(T0 + 1), '20270101T000000.001Z');
  });

  for (const [label, layer] of [
    ['hard link', () => new SpyFs()],
    ['copy fallback (EXDEV)', crossDevice],
  ] as const) {
    it(`moveNoClobber takes the first free name and keeps existing files (${label})`, async (t) => {
      const defer = cleanup(t);
      const dir = await tempDir(defer, 'godelayq-move-');
      const fs = layer();
      await mkdir(join(dir, 'archive'));
      await writeFile(join(dir, 'archive', 'x.json'), 'first');
      await writeFile(join(dir, 'archive', 'x-1.json'), 'second');
      await writeFile(join(dir, 'x.json'), 'third');
      const dest = await moveNoClobber(fs, join(dir, 'x.json'), join(dir, 'archive'), 'x.json', await idOf(join(dir, 'x.json')));
      assert.equal(dest, join(dir, 'archive', 'x-2.json'));
      assert.equal(await readFile(join(dir, 'archive', 'x.json'), 'utf8'), 'first');
      assert.equal(await readFile(join(dir, 'archive', 'x-1.json'), 'utf8'), 'second');
      assert.equal(await readFile(dest, 'utf8'), 'third');
      assert.deepEqual(await readdir(dir), ['archive']);
      if (label !== 'hard link') assert.equal(fs.count('fsync'), 1, 'the copy is fsynced before the source goes');
    });

    it(`moveToErrorDir pairs the file with its report, skipping names where either is taken (${label})`, async (t) => {
      const defer = cleanup(t);
      const dir = await tempDir(defer, 'godelayq-move-');
      const fs = layer();
      await mkdir(join(dir, 'error'));
      await writeFile(join(dir, 'error', 'b.json'), 'old bad file');
      await writeFile(join(dir, 'error', 'b-1.json.error.json'), 'orphan report');
      await writeFile(join(dir, 'b.json'), 'new bad file');
      const dest = await moveToErrorDir(fs, join(dir, 'b.json'), join(dir, 'error'), 'b.json', { why: 'test' }, await idOf(join(dir, 'b.json')));
      assert.equal(dest, join(dir, 'error', 'b-2.json'));
      assert.deepEqual(JSON.parse(await readFile(`${dest}.error.json`, 'utf8')), { why: 'test' });
      assert.equal(await readFile(dest!, 'utf8'), 'new bad file');
      assert.equal(await readFile(join(dir, 'error', 'b.json'), 'utf8'), 'old bad file');
      assert.equal(await readFile(join(dir, 'error', 'b-1.json.error.json'), 'utf8'), 'orphan report');
      assert.deepEqual((await readdir(join(dir, 'error'))).sort(), ['b-1.json.error.json', 'b-2.json', 'b-2.json.error.json', 'b.json']);
      assert.deepEqual(await readdir(dir), ['error']);
    });

    it(`a source replaced after the read is left in place, nothing moved (${label})`, async (t) => {
      const defer = cleanup(t);
      const dir = await tempDir(defer, 'godelayq-move-');
      const fs = layer();
      await mkdir(join(dir, 'archive'));
      await writeFile(join(dir, 'a.json'), 'what the loader read');
      const read = await idOf(join(dir, 'a.json'));
      await writeFile(join(dir, '.new'), 'a newcomer');
      await rename(join(dir, '.new'), join(dir, 'a.json'));
      assert.equal(await moveNoClobber(fs, join(dir, 'a.json'), join(dir, 'archive'), 'a.json', read), undefined);
      assert.equal(await readFile(join(dir, 'a.json'), 'utf8'), 'a newcomer');
      assert.deepEqual(await readdir(join(dir, 'archive')), []);
      assert.equal(await moveToErrorDir(fs, join(dir, 'a.json'), join(dir, 'archive'), 'a.json', {}, read), undefined);
      assert.deepEqual(await readdir(join(dir, 'archive')), [], 'no report left behind either');
    });
  }

  it('the copy fallback opens the source without following a link that took its place', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer, 'godelayq-move-');
    const fs = crossDevice();
    await mkdir(join(dir, 'archive'));
    await writeFile(join(dir, 'secret'), 'not for the archive');
    await writeFile(join(dir, 'a.json'), '{}');
    const read = await idOf(join(dir, 'a.json'));
    await rm(join(dir, 'a.json'));
    await symlink(join(dir, 'secret'), join(dir, 'a.json'));
    assert.equal(await moveNoClobber(fs, join(dir, 'a.json'), join(dir, 'archive'), 'a.json', read), undefined);
    assert.deepEqual(await readdir(join(dir, 'archive')), []);
    assert.equal(fs.count('open', 'secret'), 0);
  });

  for (const viaCopy of [false, true]) {
    it(`a symbolic link is moved as a link, its target never opened${viaCopy ? ' (across devices)' : ''}`, async (t) => {
      const defer = cleanup(t);
      const dir = await tempDir(defer, 'godelayq-move-');
      const fs = viaCopy ? crossDevice() : new SpyFs();
      await mkdir(join(dir, 'error'));
      await writeFile(join(dir, 'target'), 'secret');
      await symlink(join(dir, 'target'), join(dir, 'l.json'));
      const dest = await moveToErrorDir(fs, join(dir, 'l.json'), join(dir, 'error'), 'l.json', { bad: true }, await idOf(join(dir, 'l.json')));
      assert.equal(dest, join(dir, 'error', 'l.json'));
      assert.ok((await lstat(dest!)).isSymbolicLink());
      assert.equal(await readlink(dest!), join(dir, 'target'));
      assert.deepEqual((await readdir(dir)).sort(), ['error', 'target']);
      assert.equal(fs.count('open', join(dir, 'target')), 0);
      assert.equal(fs.count('link'), 0, 'never hard-linked (link(2) may follow a symlink on some systems)');
    });
  }

  it('a FIFO is moved by hard link, and left where it is (error thrown, no report) when it cannot be', async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer, 'godelayq-move-');
    await mkdir(join(dir, 'error'));
    execFileSync('mkfifo', [join(dir, 'p.json'), join(dir, 'q.json')]);
    const moved = await moveToErrorDir(new SpyFs(), join(dir, 'p.json'), join(dir, 'error'), 'p.json', {}, await idOf(join(dir, 'p.json')));
    assert.equal(moved, join(dir, 'error', 'p.json'));
    assert.ok((await lstat(moved!)).isFIFO());
    const fs = crossDevice();
    await assert.rejects(moveToErrorDir(fs, join(dir, 'q.json'), join(dir, 'error'), 'q.json', {}, await idOf(join(dir, 'q.json'))), { code: 'EXDEV' });
    assert.deepEqual((await readdir(join(dir, 'error'))).sort(), ['p.json', 'p.json.error.json']);
    assert.ok((await lstat(join(dir, 'q.json'))).isFIFO());
    assert.equal(fs.count('open', 'q.json'), 1, 'only the report was opened');
  });
});

describe('DirectoryLoader across devices', () => {
  it('archives and rejects by copying when hard links fail with EXDEV', async (t) => {
    const { defer, dir, scheduler } = await fixture(t);
    const fs = crossDevice();
    const { loader, log } = await startLoader(defer, scheduler, { dir, fs, settleMs: 0, graceMs: 0 });
    await drop(dir, 'good.json', { name: 'x', payload: 'fine' });
    await drop(dir, 'bad.json', '{ nope');
    await loader.scan();
    assert.equal(log.loaded.length, 1);
    assert.equal(log.failed.length, 1);
    assert.deepEqual(log.errors, []);
    assert.ok(fs.count('link') >= 2, 'links were tried');
    assert.deepEqual(JSON.parse(await readFile(log.loaded[0]!.archivedTo!, 'utf8')), { name: 'x', payload: 'fine' });
    assert.equal(await readFile(join(dir, 'error', 'bad.json'), 'utf8'), '{ nope');
    assert.match(await readFile(join(dir, 'error', 'bad.json.error.json'), 'utf8'), /valid JSON/);
    assert.deepEqual((await readdir(dir)).sort(), ['archive', 'error']);
  });

  const shm = '/dev/shm';
  const otherDevice = ((): boolean => {
    try {
      return lstatSync(shm).isDirectory() && statSync(shm).dev !== statSync(tmpdir()).dev;
    } catch {
      return false;
    }
  })();
  it('archives onto a real other device (/dev/shm)', { skip: otherDevice ? false : `${shm} is missing or on the same device as ${tmpdir()}` }, async (t) => {
    const defer = cleanup(t);
    const dir = await tempDir(defer);
    const archiveDir = await mkdtemp(join(shm, 'godelayq-archive-'));
    defer(() => rm(archiveDir, { recursive: true, force: true }));
    const { scheduler } = await virtualScheduler<JobMap>();
    defer(() => scheduler.stop());
    const fs = new SpyFs(nodeLoaderFs);
    const { loader, log } = await startLoader(defer, scheduler, { dir, archiveDir, fs, settleMs: 0 });
    await drop(dir, 'a.json', { name: 'x', payload: 'across' });
    await loader.scan();
    assert.equal(log.loaded.length, 1);
    assert.deepEqual(log.errors, []);
    assert.equal(log.loaded[0]!.archivedTo?.startsWith(archiveDir), true);
    assert.deepEqual(JSON.parse(await readFile(log.loaded[0]!.archivedTo!, 'utf8')), { name: 'x', payload: 'across' });
    assert.ok(fs.count('fsync') >= 1, 'copied (and fsynced), since link(2) cannot cross devices');
    assert.deepEqual((await readdir(dir)).sort(), ['error']);
  });
});
