/**
 * Writing a snapshot's temp file (json-file/snapshot.ts `writeSnapshotTemp`),
 * the step before it is published: with `sync` the file is fsynced after its
 * last write, then it is read back, and its size and CRC-32 must be what
 * was sent. A disk that reports a write it did not make as it was asked
 * (a flipped byte, bytes missing) fails the snapshot, and the temp file is
 * removed, so the store keeps its previous generation. An abort (the store
 * closing) stops the write and removes the file too.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { GodelayqError } from '../src/errors.js';
import { type FsLayer, nodeFs } from '../src/store/json-file/fs.js';
import { SnapshotAbortedError, readSnapshot, writeSnapshotTemp } from '../src/store/json-file/snapshot.js';
import type { JobRecord } from '../src/store/store.js';
import { CT0, newRecord, removeTempDirs, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

const records = (n: number): JobRecord[] => Array.from({ length: n }, (_, i) => ({ ...newRecord(`job-${i}`, { payload: { i, text: 'x'.repeat(200) } }), seq: i + 1 }) as JobRecord);
const options = (sync: boolean, aborted?: () => boolean) => ({ nextSeq: 1000, storeId: 'snapWriteStoreAA', nonce: 'nonce123', sync, createdAt: new Date(CT0).toISOString(), ...(aborted ? { aborted } : {}) });

/** nodeFs, logging every write, fsync and open as `call fd-or-path`. */
function spy(log: string[], change: Partial<FsLayer> = {}): FsLayer {
  return {
    ...nodeFs,
    open: async (file, flags, mode) => {
      const fd = await nodeFs.open(file, flags, mode);
      log.push(`open ${String(flags)} ${fd}`);
      return fd;
    },
    write: (fd, buffer, offset, length, position) => {
      log.push(`write ${fd}`);
      return (change.write ?? nodeFs.write)(fd, buffer, offset, length, position);
    },
    fsync: (fd) => {
      log.push(`fsync ${fd}`);
      return nodeFs.fsync(fd);
    },
    fdatasync: (fd) => {
      log.push(`fdatasync ${fd}`);
      return nodeFs.fdatasync(fd);
    },
  };
}

describe('writeSnapshotTemp', () => {
  it('with sync, fsyncs the file after its last write and before reading it back; without, never', async () => {
    for (const sync of [true, false]) {
      const dir = await tempDir('godelayq-snapw-', true);
      const log: string[] = [];
      const jobs = records(50);
      const { tempPath, bytes } = await writeSnapshotTemp(spy(log), dir, 3, jobs, options(sync));
      const fd = (log[0] as string).split(' ')[2] as string;
      assert.equal(log[0], `open wx ${fd}`);
      const lastWrite = log.lastIndexOf(`write ${fd}`);
      const fsyncs = log.filter((l) => l === `fsync ${fd}`).length;
      const readBack = log.findIndex((l) => l.startsWith('open r '));
      assert.ok(lastWrite > 0 && readBack > lastWrite, log.join(', '));
      if (sync) {
        const at = log.lastIndexOf(`fsync ${fd}`);
        assert.ok(at > lastWrite && at < readBack, `fsync after the last write, before the read-back: ${log.join(', ')}`);
      } else assert.equal(fsyncs, 0, log.join(', '));
      // What it wrote is a snapshot of those jobs.
      assert.equal((await readFile(tempPath)).length, bytes);
      const ids: string[] = [];
      await readSnapshot(nodeFs, tempPath, 3, (record) => ids.push(record.id));
      assert.deepEqual(ids, jobs.map((r) => r.id));
    }
  });

  it('with sync, flushes a big snapshot every 8 MiB while writing it (little stays dirty); without, never', async () => {
    const MiB = 1 << 20;
    // About 21 MiB of job lines: two flushes on the way, then the final fsync.
    const big = Array.from({ length: 10_000 }, (_, i) => ({ ...newRecord(`big-${i}`, { payload: { i, text: 'y'.repeat(2_000) } }), seq: i + 1 }) as JobRecord);
    for (const sync of [true, false]) {
      const dir = await tempDir('godelayq-snapw-', true);
      const log: string[] = [];
      let written = 0;
      const flushedAt: number[] = [];
      const layer = spy(log, {
        write: async (fd, buffer, offset, length, position) => {
          written += length;
          return nodeFs.write(fd, buffer, offset, length, position);
        },
      });
      const counted: FsLayer = {
        ...layer,
        fdatasync: (fd) => {
          flushedAt.push(written);
          return layer.fdatasync(fd);
        },
      };
      const { bytes } = await writeSnapshotTemp(counted, dir, 3, big, options(sync));
      assert.ok(bytes > 20 * MiB, `${bytes} bytes`);
      if (!sync) {
        assert.deepEqual(flushedAt, []);
        continue;
      }
      assert.equal(flushedAt.length, Math.floor(bytes / (8 * MiB)), `flushed at ${flushedAt.join(', ')} of ${bytes}`);
      // Each after 8 MiB more, give or take the chunk that crossed the mark.
      flushedAt.forEach((at, k) => {
        const since = at - (k === 0 ? 0 : (flushedAt[k - 1] as number));
        assert.ok(since >= 8 * MiB && since < 10 * MiB, `flush ${k} after ${since} bytes`);
      });
    }
  });

  const lies: [string, FsLayer['write']][] = [
    [
      'a flipped byte',
      async (fd, buffer, offset, length, position) => {
        const copy = Buffer.from(buffer.subarray(offset, offset + length));
        if (length > 100) copy[length - 40] = (copy[length - 40] as number) ^ 0x01;
        return nodeFs.write(fd, copy, 0, length, position);
      },
    ],
    [
      'bytes missing',
      async (fd, buffer, offset, length, position) => {
        if (length > 100) await nodeFs.write(fd, buffer, offset, length - 3, position);
        else await nodeFs.write(fd, buffer, offset, length, position);
        return length;
      },
    ],
  ];
  for (const [what, write] of lies) {
    it(`fails when the disk reports a write it did not make as asked (${what}), and removes the temp file`, async () => {
      const dir = await tempDir('godelayq-snapw-', true);
      await assert.rejects(writeSnapshotTemp(spy([], { write }), dir, 3, records(50), options(false)), (e: unknown) => {
        assert.ok(e instanceof GodelayqError, String(e));
        assert.match(e.message, /expected \d+ bytes (on disk, got \d+|with CRC-32 \d+ when read back, got \d+ bytes with \d+)/);
        return true;
      });
      assert.deepEqual(await readdir(dir), []);
    });
  }

  it('stops at an abort and removes the temp file', async () => {
    const dir = await tempDir('godelayq-snapw-', true);
    const log: string[] = [];
    // The store closes once the first chunk is written.
    const aborted = (): boolean => log.some((l) => l.startsWith('write'));
    await assert.rejects(writeSnapshotTemp(spy(log), dir, 3, records(3000), options(false, aborted)), SnapshotAbortedError);
    assert.deepEqual(await readdir(dir), []);
    // 3,000 jobs of ~300 bytes are about a MiB: one chunk at most was written before the abort was seen.
    assert.ok(log.filter((l) => l.startsWith('write')).length <= 2, log.join(', '));
  });
});
