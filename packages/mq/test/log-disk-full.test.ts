/**
 * Disk full, for real: the log on a small tmpfs, filled up by another file and freed again.
 * Mounting needs root; elsewhere these tests are skipped, and say so.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, rm, stat, truncate, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '@streampy/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredMessage } from '../src/storage/engine.js';
import { Model, cleanUp, closeEngine, makeMessage, openEngine } from './fixtures/log-helpers.js';

const MOUNT_BYTES = 1024 * 1024;
let mountPoint: string | undefined;

/** Mounts a 1 MiB tmpfs, or returns why it cannot. */
async function mountSmallDisk(): Promise<string | undefined> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'not root on Linux';
  const dir = await mkdtemp(join(tmpdir(), 'streampy-full-'));
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${MOUNT_BYTES}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (result.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    return `mount -t tmpfs failed: ${(result.stderr || String(result.error)).trim()}`;
  }
  mountPoint = dir;
  return undefined;
}

const whyNot = await mountSmallDisk();
if (whyNot !== undefined) process.stderr.write(`log-disk-full.test.ts: skipped, a real small disk needs root (${whyNot})\n`);

afterAll(async () => {
  await cleanUp();
  if (mountPoint === undefined) return;
  spawnSync('umount', [mountPoint]);
  await rm(mountPoint, { recursive: true, force: true });
});

/** Fills the disk with `file` until the OS refuses more (ENOSPC). */
async function fill(file: string): Promise<void> {
  const handle = await open(file, 'a');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (let i = 0; i < (2 * MOUNT_BYTES) / chunk.length; i++) await handle.write(chunk);
    throw new Error('the disk never filled up');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
}

async function segmentBytesOnDisk(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) if (name.endsWith('.seg')) total += (await stat(join(dir, name))).size;
  return total;
}

describe.skipIf(whyNot !== undefined)('log engine on a full disk (a real 1 MiB tmpfs; needs root, skipped otherwise)', () => {
  let dir = '';
  let filler = '';
  beforeAll(async () => {
    dir = join(mountPoint!, 'queue');
    filler = join(mountPoint!, 'filler');
    await mkdir(dir);
  });

  it('failed batches are reported to their flush() and leave no trace; freed space works again without a restart; nothing acknowledged is lost', async () => {
    const random = seededRandom(4242);
    const options = { fsync: 'always' as const, segmentBytes: 64 * 1024 };
    const { engine, state } = await openEngine(dir, options);
    const model = new Model();
    let nextSeq = state.nextSeq;
    let full = false;
    let failedBatches = 0;
    let failedRemoves = 0;
    let recoveredWithoutRestart = 0;
    for (let step = 0; step < 240; step++) {
      if (step % 30 === 10) {
        await fill(filler);
        full = true;
        // The active file's last page may still have room (tmpfs allocates whole pages): top it
        // up with tiny puts, so that removes (small records) fail too.
        for (let i = 0; i < 200; i++) {
          const tiny = makeMessage(nextSeq++, 1, false);
          engine.append(tiny);
          if (!(await engine.flush().then(() => true, () => false))) {
            failedBatches++;
            break;
          }
          model.append(tiny);
        }
      } else if (step % 30 === 25) {
        await unlink(filler);
        full = false;
      }
      const appended: StoredMessage[] = [];
      const removed: number[] = [];
      if (random() < 0.6 || model.live.size === 0) {
        for (let i = 0, n = 1 + Math.floor(random() * 30); i < n; i++) {
          const message = makeMessage(nextSeq++, 100 + Math.floor(random() * 3000), random() < 0.5);
          engine.append(message);
          appended.push(message);
        }
      } else {
        for (const seq of model.live.keys()) {
          if (random() < 0.5) continue;
          engine.remove(seq);
          removed.push(seq);
        }
      }
      const outcome = await engine.flush().then(
        () => 'ok' as const,
        (error: unknown) => error,
      );
      if (outcome === 'ok') {
        for (const message of appended) model.append(message);
        for (const seq of removed) model.live.delete(seq);
        if (step % 30 === 25 || step % 30 === 26) recoveredWithoutRestart++;
      } else {
        expect(outcome).toMatchObject({ code: 'ERR_STORAGE' });
        expect(full).toBe(true);
        failedBatches++;
        failedRemoves += removed.length;
      }
    }
    expect(failedBatches).toBeGreaterThan(10);
    expect(failedRemoves).toBeGreaterThan(0);
    expect(recoveredWithoutRestart).toBeGreaterThan(10);
    const stats = engine.stats();
    expect(stats.writeFailures).toBe(failedBatches);
    expect(stats.segmentsDeleted).toBeGreaterThan(0);
    await rm(filler, { force: true });
    // Messages whose remove failed are still there, and can be removed now.
    const stillLive = [...model.live.keys()].slice(0, 3);
    for (const seq of stillLive) {
      engine.remove(seq);
      model.live.delete(seq);
    }
    await engine.flush();
    await closeEngine(engine);
    // Whatever failed left no bytes behind: the files hold exactly what the engine counted, and
    // the next start finds no damage (a failed write's leftovers would read as damaged records).
    expect(await segmentBytesOnDisk(dir)).toBe(engine.stats().diskBytes);
    const reopened = await openEngine(dir, options);
    model.expectMatches(reopened.state);
    expect(reopened.lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(reopened.engine.stats().damagedSegments).toBe(0);
    await closeEngine(reopened.engine);
  }, 120_000);

  it('a batch larger than the space left is cut back after its partial write', async () => {
    const queue = join(mountPoint!, 'partial');
    const { engine, state } = await openEngine(queue, { fsync: 'never' });
    const kept = makeMessage(state.nextSeq, 1000, true);
    engine.append(kept);
    await engine.flush();
    const before = await segmentBytesOnDisk(queue);
    // Leave room for part of the next batch only: 64 KiB for 400 KB.
    await fill(filler);
    await truncate(filler, (await stat(filler)).size - 64 * 1024);
    const big = Array.from({ length: 200 }, (_, i) => makeMessage(state.nextSeq + 1 + i, 2000, false));
    for (const message of big) engine.append(message);
    const writesBefore = engine.stats().writes;
    await expect(engine.flush()).rejects.toMatchObject({ code: 'ERR_STORAGE' });
    // Part of the batch was written (a short write) before the disk said no, and was cut off again.
    expect(engine.stats().writes).toBeGreaterThan(writesBefore);
    expect(await segmentBytesOnDisk(queue)).toBe(before);
    await unlink(filler);
    const after = makeMessage(state.nextSeq + 500, 10, false);
    engine.append(after);
    await engine.flush();
    await closeEngine(engine);
    const reopened = await openEngine(queue);
    expect(reopened.state.messages).toEqual([kept, after]);
    expect(reopened.engine.stats().damagedSegments).toBe(0);
  });

  it('a segment roll and a reclaim that meet a full disk are tried again once there is room', async () => {
    const queue = join(mountPoint!, 'roll');
    // Rolls are due before a 4 KiB page is full: the seal fits, the next file's first page does not.
    // A clock and window under which every key here is young (makeMessage's enqueue times).
    const options = { fsync: 'always' as const, segmentBytes: 3000, now: () => 1_700_001_000_000, keyWindowMs: 10_000_000 };
    const { engine, state } = await openEngine(queue, options);
    const model = new Model();
    let nextSeq = state.nextSeq;
    // Segment 1: keyed messages, consumed at once, so deleting it must carry its keys forward.
    for (let i = 0; i < 60; i++) {
      const message = makeMessage(nextSeq++, 40, true);
      engine.append(message);
      model.append(message);
    }
    await engine.flush();
    await fill(filler);
    // Tiny puts until a batch fails: the active segment passes 3000 bytes on the way (a roll
    // that cannot create its next file), and its last page fills up.
    let acknowledged = 0;
    for (let i = 0; i < 400; i++) {
      const tiny = makeMessage(nextSeq++, 1, false);
      engine.append(tiny);
      if (!(await engine.flush().then(() => true, () => false))) break;
      model.append(tiny);
      acknowledged++;
    }
    expect(acknowledged).toBeGreaterThan(0);
    console.log('A', acknowledged, engine.stats());
    expect(engine.stats().rollFailures).toBeGreaterThan(0);
    const rollsFailed = engine.stats().rollFailures;
    await unlink(filler);
    // Room again: the next batch goes through, and the roll and reclaim with it.
    for (const seq of [...model.live.keys()].slice(0, 60)) {
      engine.remove(seq);
      model.live.delete(seq);
    }
    const after = makeMessage(nextSeq, 10, false);
    engine.append(after);
    model.append(after);
    console.log('B');
    await engine.flush();
    console.log('C');
    await closeEngine(engine);
    console.log('D');
    const stats = engine.stats();
    expect(stats.rollFailures).toBe(rollsFailed);
    expect(stats.segments).toBeGreaterThan(1);
    expect(stats.segmentsDeleted).toBeGreaterThan(0);
    expect(stats.keysCarried).toBeGreaterThanOrEqual(60);
    const reopened = await openEngine(queue, options);
    model.expectMatches(reopened.state);
    // Deleted segments' keys are still known after the restart.
    for (const [key, at] of model.everyKey) expect(reopened.state.keys.get(key)).toBe(at);
    expect(reopened.lines.filter((line) => line.level === 'error')).toEqual([]);
  });
});
