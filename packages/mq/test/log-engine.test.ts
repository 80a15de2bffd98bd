import { cp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { FsyncPolicy, StoredMessage } from '../src/storage/engine.js';
import { createLogEngine } from '../src/storage/log.js';
import { Model, cleanUp, closeEngine, makeMessage, openEngine as open, segmentFiles, tempDir } from './fixtures/log-helpers.js';

function openEngine(dir: string, fsync: FsyncPolicy = 'never', segmentBytes?: number): ReturnType<typeof open> {
  return open(dir, segmentBytes === undefined ? { fsync } : { fsync, segmentBytes });
}

afterEach(cleanUp);

async function diskUse(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

type Op =
  | { readonly kind: 'append'; readonly keyed: boolean; readonly size: number }
  | { readonly kind: 'remove'; readonly pick: number }
  | { readonly kind: 'removeMissing' }
  | { readonly kind: 'flush' }
  | { readonly kind: 'reopen' };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), keyed: fc.boolean(), size: fc.nat({ max: 300 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'removeMissing' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

const policyArbitrary: fc.Arbitrary<FsyncPolicy> = fc.constantFrom<FsyncPolicy>('always', 'never', 5);

describe('log engine: recovery equals a model', () => {
  it('random appends, removes, flushes and reopens, with tiny segments', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { maxLength: 80 }), policyArbitrary, fc.integer({ min: 64, max: 2048 }), async (ops, fsync, segmentBytes) => {
        const dir = await tempDir();
        const model = new Model();
        let { engine, state } = await openEngine(dir, fsync, segmentBytes);
        model.expectMatches(state);
        let nextSeq = state.nextSeq;
        for (const op of ops) {
          switch (op.kind) {
            case 'append': {
              const message = makeMessage(nextSeq++, op.size, op.keyed);
              engine.append(message);
              model.append(message);
              break;
            }
            case 'remove': {
              const live = [...model.live.keys()];
              const seq = live[op.pick % Math.max(1, live.length)];
              if (seq === undefined) break;
              engine.remove(seq);
              model.live.delete(seq);
              break;
            }
            case 'removeMissing':
              engine.remove(nextSeq + 1000);
              engine.remove(model.maxSeq >= 0 && !model.live.has(model.maxSeq) ? model.maxSeq : -1);
              break;
            case 'flush':
              await engine.flush();
              break;
            case 'reopen':
              await closeEngine(engine);
              ({ engine, state } = await openEngine(dir, fsync, segmentBytes));
              model.expectMatches(state);
              nextSeq = state.nextSeq;
              break;
          }
        }
        await closeEngine(engine);
        ({ engine, state } = await openEngine(dir, fsync, segmentBytes));
        model.expectMatches(state);
        await closeEngine(engine);
        await rm(dir, { recursive: true, force: true });
      }),
      { numRuns: 60 },
    );
  });
});

/**
 * Writes `count` messages one flushed record at a time (with a remove now and then) into one
 * segment and returns the model's snapshot after every record, oldest first.
 */
async function writeRecordByRecord(dir: string, count: number): Promise<{ snapshots: StoredMessage[][]; file: string; bytes: Buffer }> {
  const { engine, state } = await openEngine(dir, 'never');
  const model = new Model();
  const snapshots = [model.snapshot()];
  let nextSeq = state.nextSeq;
  for (let i = 0; i < count; i++) {
    if (i % 4 === 3) engine.remove(Math.min(...model.live.keys()));
    if (i % 4 === 3) model.live.delete(Math.min(...model.live.keys()));
    else {
      const message = makeMessage(nextSeq++, 10 + ((i * 13) % 50), i % 2 === 0);
      engine.append(message);
      model.append(message);
    }
    await engine.flush();
    snapshots.push(model.snapshot());
  }
  await closeEngine(engine);
  const [name] = await segmentFiles(dir);
  if (name === undefined) throw new Error('no segment written');
  const file = join(dir, name);
  return { snapshots, file, bytes: await readFile(file) };
}

/** Opens a copy of `bytes` as the only segment and returns which snapshot it recovered. */
async function recoverFrom(name: string, bytes: Uint8Array, snapshots: StoredMessage[][]): Promise<number> {
  const dir = await tempDir();
  await writeFile(join(dir, name), bytes);
  const { engine, state } = await openEngine(dir);
  const index = snapshots.findIndex((snapshot) => expectEqualSilently(state.messages, snapshot));
  expect(index, 'recovered state is not a prefix of what was written').toBeGreaterThanOrEqual(0);
  // The cut tail is gone for good: a later append lands on a clean record boundary.
  const extra = makeMessage(state.nextSeq, 5, false);
  engine.append(extra);
  await closeEngine(engine);
  const again = await openEngine(dir);
  expect(again.state.messages).toEqual([...(snapshots[index] ?? []), extra]);
  await closeEngine(again.engine);
  await rm(dir, { recursive: true, force: true });
  return index;
}

function expectEqualSilently(actual: readonly StoredMessage[], expected: readonly StoredMessage[]): boolean {
  try {
    expect(actual).toEqual(expected);
    return true;
  } catch {
    return false;
  }
}

describe('log engine: torn tails', () => {
  it('a tail cut at any byte of the last records recovers a prefix, never garbage', async () => {
    const dir = await tempDir();
    const { snapshots, file, bytes } = await writeRecordByRecord(dir, 24);
    const name = file.slice(dir.length + 1);
    const full = await recoverFrom(name, bytes, snapshots);
    expect(full).toBe(snapshots.length - 1);
    // Every offset of roughly the last three records, then random offsets anywhere.
    const sweepFrom = Math.max(8, bytes.length - 3 * 80);
    let previous = -1;
    for (let cut = sweepFrom; cut < bytes.length; cut++) {
      const index = await recoverFrom(name, bytes.subarray(0, cut), snapshots);
      expect(index).toBeGreaterThanOrEqual(previous);
      expect(index).toBeLessThan(snapshots.length - 1);
      previous = index;
    }
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bytes.length - 1 }), async (cut) => {
        const index = await recoverFrom(name, bytes.subarray(0, cut), snapshots);
        expect(index).toBeLessThan(snapshots.length - 1);
      }),
      { numRuns: 40 },
    );
  });

  it('a last segment whose header was never completely written is restarted', async () => {
    const dir = await tempDir();
    const { engine, state } = await openEngine(dir, 'never', 256);
    const written = Array.from({ length: 10 }, (_, i) => makeMessage(state.nextSeq + i, 30, false));
    for (const message of written) engine.append(message);
    await closeEngine(engine);
    const names = await segmentFiles(dir);
    const next = String(Number(names.at(-1)!.slice(0, 16)) + 1).padStart(16, '0');
    await writeFile(join(dir, `${next}.seg`), Buffer.from('SPY'));
    const reopened = await openEngine(dir, 'never', 256);
    expect(reopened.state.messages).toEqual(written);
    expect(reopened.engine.stats().tailBytesCut).toBe(3);
  });
});

describe('log engine: fsync policies', () => {
  it("'always' shares one fsync among every flush() waiting at the time (group commit)", async () => {
    const dir = await tempDir();
    const { engine, state } = await openEngine(dir, 'always');
    const before = engine.stats().fsyncs;
    const puts = 300;
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < puts; i++) {
      engine.append(makeMessage(state.nextSeq + i, 20, true));
      flushes.push(engine.flush());
      // Some puts arrive in later event-loop turns, while a write and fsync are in flight.
      if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(flushes);
    const fsyncs = engine.stats().fsyncs - before;
    expect(fsyncs).toBeGreaterThan(0);
    expect(fsyncs).toBeLessThanOrEqual(puts / 10);
    // Every flush() resolved after its message reached the file.
    const copy = await tempDir();
    await cp(dir, copy, { recursive: true });
    const recovered = await openEngine(copy);
    expect(recovered.state.messages).toHaveLength(puts);
  });

  it("'always' does not resolve flush() before fsync", async () => {
    const dir = await tempDir();
    const { engine, state } = await openEngine(dir, 'always');
    const before = engine.stats().fsyncs;
    engine.append(makeMessage(state.nextSeq, 10, false));
    await engine.flush();
    expect(engine.stats().fsyncs).toBe(before + 1);
    await engine.flush();
    expect(engine.stats().fsyncs).toBe(before + 1);
  });

  it("'never' writes on flush() and never fsyncs until close", async () => {
    const dir = await tempDir();
    const { engine, state } = await openEngine(dir, 'never');
    const before = engine.stats().fsyncs;
    for (let i = 0; i < 50; i++) {
      engine.append(makeMessage(state.nextSeq + i, 10, false));
      await engine.flush();
    }
    expect(engine.stats().fsyncs).toBe(before);
    const copy = await tempDir();
    await cp(dir, copy, { recursive: true });
    expect((await openEngine(copy)).state.messages).toHaveLength(50);
  });

  it('a number of ms fsyncs on a timer after writes', async () => {
    const dir = await tempDir();
    const { engine, state } = await openEngine(dir, 20);
    const before = engine.stats().fsyncs;
    engine.append(makeMessage(state.nextSeq, 10, false));
    await engine.flush();
    const deadline = Date.now() + 10_000;
    while (engine.stats().fsyncs === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(engine.stats().fsyncs).toBe(before + 1);
  });

  it('rejects bad options and use after close', async () => {
    expect(() => createLogEngine({ dir: '/nonexistent', fsync: -1 })).toThrow(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
    expect(() => createLogEngine({ dir: '/nonexistent', fsync: 'always', segmentBytes: 1 })).toThrow(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
    const { engine, state } = await openEngine(await tempDir());
    await closeEngine(engine);
    expect(() => engine.append(makeMessage(state.nextSeq, 1, false))).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    await expect(engine.flush()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});

describe('log engine: reclaim', () => {
  const segmentBytes = 4096;

  it('a long steady run of put/get keeps disk use bounded', async () => {
    const dir = await tempDir();
    let { engine, state } = await openEngine(dir, 'never', segmentBytes);
    const model = new Model();
    let nextSeq = state.nextSeq;
    let maxDisk = 0;
    let bytesWritten = 0;
    let segmentsDeleted = 0;
    const addStats = (): void => {
      bytesWritten += engine.stats().bytesWritten;
      segmentsDeleted += engine.stats().segmentsDeleted;
    };
    for (let i = 0; i < 6000; i++) {
      const message = makeMessage(nextSeq++, 100, i % 3 === 0);
      engine.append(message);
      model.append(message);
      if (model.live.size > 20) {
        const oldest = Math.min(...model.live.keys());
        engine.remove(oldest);
        model.live.delete(oldest);
      }
      if (i % 10 === 9) await engine.flush();
      if (i % 100 === 99) maxDisk = Math.max(maxDisk, await diskUse(dir));
      if (i % 1500 === 1499) {
        await closeEngine(engine);
        addStats();
        ({ engine, state } = await openEngine(dir, 'never', segmentBytes));
        model.expectMatches(state);
      }
    }
    await closeEngine(engine);
    addStats();
    expect(bytesWritten).toBeGreaterThan(100 * segmentBytes);
    expect(segmentsDeleted).toBeGreaterThan(100);
    expect(maxDisk).toBeLessThanOrEqual(4 * segmentBytes);
    model.expectMatches((await openEngine(dir, 'never', segmentBytes)).state);
  });

  it('one message that never leaves pins only its own segment and nothing is resurrected', async () => {
    const dir = await tempDir();
    let { engine, state } = await openEngine(dir, 'always', segmentBytes);
    const model = new Model();
    let nextSeq = state.nextSeq;
    const stuck = makeMessage(nextSeq++, 50, true);
    engine.append(stuck);
    model.append(stuck);
    let maxDisk = 0;
    for (let i = 0; i < 3000; i++) {
      const message = makeMessage(nextSeq++, 80, false);
      engine.append(message);
      model.append(message);
      // Random-ish consumption order, so removes land far from their appends.
      const candidates = [...model.live.keys()].filter((seq) => seq !== stuck.seq);
      if (candidates.length > 15) {
        const seq = candidates[(i * 7) % candidates.length]!;
        engine.remove(seq);
        model.live.delete(seq);
      }
      if (i % 50 === 49) {
        await engine.flush();
        maxDisk = Math.max(maxDisk, await diskUse(dir));
      }
      if (i % 700 === 699) {
        await closeEngine(engine);
        ({ engine, state } = await openEngine(dir, 'always', segmentBytes));
        model.expectMatches(state);
      }
    }
    await closeEngine(engine);
    expect(maxDisk).toBeLessThanOrEqual(8 * segmentBytes);
    const reopened = await openEngine(dir, 'always', segmentBytes);
    model.expectMatches(reopened.state);
    expect(reopened.state.messages[0]).toEqual(stuck);
    expect(reopened.engine.stats().segmentsDeleted).toBe(0);
  });

  it('nextSeq stays above every seq ever used after all their segments are deleted', async () => {
    const dir = await tempDir();
    let { engine } = await openEngine(dir, 'never', 256);
    // Far ahead of the clock, as a node doing over 1000 puts per ms would be.
    const start = Date.now() * 1000 + 1e12;
    for (let i = 0; i < 100; i++) {
      engine.append(makeMessage(start + i, 30, false));
      engine.remove(start + i);
    }
    await closeEngine(engine);
    ({ engine } = await openEngine(dir, 'never', 256));
    expect(engine.stats().segments).toBeLessThanOrEqual(2);
    await closeEngine(engine);
    const { state } = await openEngine(dir, 'never', 256);
    expect(state.messages).toEqual([]);
    expect(state.nextSeq).toBeGreaterThan(start + 99);
  });
});
