/**
 * Damage is contained and reported, never widened: byte flips, zeroed runs, garbage and cuts at
 * seeded random offsets of real segment files. The expected state is computed independently:
 * the pristine file is split into its records, the records the damage touches are dropped, and
 * the rest are replayed.
 */
import { cp, readFile, readdir, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seededRandom } from '@streampy/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredMessage } from '../src/storage/engine.js';
import { verifyDataDir } from '../src/storage/log.js';
import { cobsDecode } from '../src/storage/log/cobs.js';
import type { LogRecord } from '../src/storage/log/records.js';
import { decodePayload } from '../src/storage/log/records.js';
import { Model, cleanUp, closeEngine, makeMessage, openEngine, segmentFiles, tempDir } from './fixtures/log-helpers.js';

afterEach(cleanUp);

/** One record of a pristine format-2 file: bytes [start, end] (end is its closing zero). */
interface Piece {
  readonly start: number;
  readonly end: number;
  readonly record: LogRecord | undefined;
}

/** Splits a pristine segment at its zero bytes: the magic (a pseudo-record), then one piece per record. */
function pieces(bytes: Buffer): Piece[] {
  const out: Piece[] = [];
  let start = 0;
  for (let zero = bytes.indexOf(0); zero !== -1; zero = bytes.indexOf(0, start)) {
    const decoded = start === 0 ? undefined : cobsDecode(bytes, start, zero);
    const record = decoded === undefined ? undefined : decodePayload(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.length - 4), true);
    if (typeof record === 'string') throw new Error(`pristine record at ${start} is bad: ${record}`);
    out.push({ start, end: zero, record });
    start = zero + 1;
  }
  expect(start).toBe(bytes.length);
  return out;
}

/** The pieces damage at `positions` costs: the one holding each byte, and the next one when a closing zero was hit (two records merge). */
function lostPieces(all: readonly Piece[], positions: Iterable<number>): Set<number> {
  const lost = new Set<number>();
  for (const at of positions) {
    const index = all.findIndex((piece) => piece.start <= at && at <= piece.end);
    if (index === -1) continue;
    lost.add(index);
    if (all[index]!.end === at && index + 1 < all.length) lost.add(index + 1);
  }
  return lost;
}

/** Replays segments' records (skipping lost ones) as recovery must: the live messages and keys. */
function replay(segments: readonly { readonly id: number; readonly pieces: readonly Piece[]; readonly lost: ReadonlySet<number> }[]): {
  messages: StoredMessage[];
  keys: Map<string, number>;
} {
  const live = new Map<number, StoredMessage>();
  const segmentOf = new Map<number, number>();
  const keys = new Map<string, number>();
  for (const segment of segments) {
    for (const [index, piece] of segment.pieces.entries()) {
      const record = piece.record;
      if (record === undefined || segment.lost.has(index)) continue;
      if (record.type === 'append') {
        live.set(record.message.seq, record.message);
        segmentOf.set(record.message.seq, segment.id);
        if (record.message.key !== undefined) keys.set(record.message.key, Math.max(keys.get(record.message.key) ?? -Infinity, record.message.enqueuedAt));
      } else if (record.type === 'remove') for (const seq of record.seqs) live.delete(seq);
      else if (record.type === 'keys') for (const [key, at] of record.keys) keys.set(key, Math.max(keys.get(key) ?? -Infinity, at));
      else if (record.type === 'cleared') {
        for (const seq of [...live.keys()]) {
          if (segmentOf.get(seq) === record.segment && !record.keep.some(([first, last]) => first <= seq && seq <= last)) live.delete(seq);
        }
      }
    }
  }
  return { messages: [...live.values()].sort((a, b) => a.seq - b.seq), keys };
}

/** One segment written one flushed record at a time: appends (some keyed) and a remove now and then. */
async function writeOneSegment(dir: string, count: number): Promise<{ file: string; bytes: Buffer; model: Model }> {
  const { engine, state } = await openEngine(dir);
  const model = new Model();
  let nextSeq = state.nextSeq;
  for (let i = 0; i < count; i++) {
    if (i % 4 === 3) {
      const oldest = Math.min(...model.live.keys());
      engine.remove(oldest);
      model.live.delete(oldest);
    } else {
      const message = makeMessage(nextSeq++, 10 + ((i * 13) % 300), i % 2 === 0);
      engine.append(message);
      model.append(message);
    }
    await engine.flush();
  }
  await closeEngine(engine);
  const [name] = await segmentFiles(dir);
  const file = join(dir, name!);
  return { file, bytes: await readFile(file), model };
}

type Damage = (bytes: Buffer, random: () => number) => Set<number>;

/** Flips `count` random bytes (each by a random nonzero mask). */
const flips =
  (count: number): Damage =>
  (bytes, random) => {
    const hit = new Set<number>();
    for (let i = 0; i < count; i++) {
      const at = Math.floor(random() * bytes.length);
      bytes[at]! ^= 1 + Math.floor(random() * 255);
      hit.add(at);
    }
    return hit;
  };

/** Overwrites a random run of 1..64 bytes with zeros (as a lost sector reads) or with garbage. */
const run =
  (fill: 'zeros' | 'garbage'): Damage =>
  (bytes, random) => {
    const length = 1 + Math.floor(random() * 64);
    const at = Math.floor(random() * (bytes.length - length));
    const hit = new Set<number>();
    for (let i = at; i < at + length; i++) {
      const value = fill === 'zeros' ? 0 : Math.floor(random() * 256);
      if (bytes[i] !== value) hit.add(i);
      bytes[i] = value;
    }
    return hit;
  };

/** Damages a copy of the segment, opens it, and checks it recovered exactly the records the damage did not touch. */
async function damageAndRecover(name: string, pristine: Buffer, damage: Damage, random: () => number): Promise<void> {
  const all = pieces(pristine);
  const bytes = Buffer.from(pristine);
  const hit = damage(bytes, random);
  const lost = lostPieces(all, hit);
  const expected = replay([{ id: 1, pieces: all, lost }]);
  const dir = await tempDir();
  const file = join(dir, name);
  await writeFile(file, bytes);
  const report = await verifyDataDir(dir);
  const { engine, state, lines } = await openEngine(dir);
  expect(state.messages).toEqual(expected.messages);
  expect(state.keys).toEqual(expected.keys);
  const stats = engine.stats();
  if (lost.size === 0) {
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(report.damaged).toBe(false);
  } else {
    // Reported: at error level, naming the file and the bytes; counted; the original bytes kept.
    const errors = lines.filter((line) => line.level === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((line) => line.fields.file === file)).toBe(true);
    expect(errors.map((line) => `${String(line.fields.ranges)} ${String(line.fields.range)}`).join(' ')).toMatch(/bytes \d+-\d+/);
    expect(stats.damagedSegments).toBe(1);
    expect(stats.bytesSkipped + stats.tailBytesCut).toBeGreaterThan(0);
    expect(await readFile(`${file}.damaged`)).toEqual(bytes);
    expect(report.damaged || report.tornTails === 1).toBe(true);
    expect(report.queues[0]?.damage.every((entry) => entry.file === file)).toBe(true);
  }
  // Appends go on from there, and the next start sees the same plus them, with nothing new to report.
  const extra = makeMessage(state.nextSeq, 5, true);
  engine.append(extra);
  await closeEngine(engine);
  const again = await openEngine(dir);
  expect(again.state.messages).toEqual([...expected.messages, extra]);
  expect((await readdir(dir)).filter((entry) => entry.includes('.damaged')).length).toBeLessThanOrEqual(1);
  await closeEngine(again.engine);
  await rm(dir, { recursive: true, force: true });
}

describe('log damage in the newest segment', () => {
  it('one flipped byte anywhere loses only the record it hits (a closing zero: the two it joins)', async () => {
    const { file, bytes } = await writeOneSegment(await tempDir(), 60);
    const random = seededRandom(20261201);
    for (let i = 0; i < 120; i++) await damageAndRecover(file.slice(-20), bytes, flips(1), random);
  }, 120_000);

  it('several flipped bytes, zeroed runs and garbage runs lose only the records they touch', async () => {
    const { file, bytes } = await writeOneSegment(await tempDir(), 60);
    const random = seededRandom(7);
    for (let i = 0; i < 40; i++) await damageAndRecover(file.slice(-20), bytes, flips(2 + (i % 4)), random);
    for (let i = 0; i < 40; i++) await damageAndRecover(file.slice(-20), bytes, run('zeros'), random);
    for (let i = 0; i < 40; i++) await damageAndRecover(file.slice(-20), bytes, run('garbage'), random);
  }, 120_000);

  it('a damaged record boundary (its first COBS code, the only length there is) costs only that record', async () => {
    const { file, bytes } = await writeOneSegment(await tempDir(), 30);
    const all = pieces(bytes);
    const middle = all[Math.floor(all.length / 2)]!;
    for (const value of [0x01, 0x7f, 0xff]) {
      await damageAndRecover(
        file.slice(-20),
        bytes,
        (copy) => {
          copy[middle.start] = value === copy[middle.start] ? value ^ 2 : value;
          return new Set([middle.start]);
        },
        () => 0,
      );
    }
  });

  it('a cut at a seeded random offset keeps every whole record before it and cuts the rest as a torn write', async () => {
    const { file, bytes } = await writeOneSegment(await tempDir(), 40);
    const all = pieces(bytes);
    const random = seededRandom(99);
    for (let i = 0; i < 60; i++) {
      const cut = 1 + Math.floor(random() * (bytes.length - 1));
      const kept = all.filter((piece) => piece.end < cut).length;
      const lost = new Set(all.map((_, index) => index).filter((index) => index >= kept));
      const expected = replay([{ id: 1, pieces: all, lost }]);
      const dir = await tempDir();
      await writeFile(join(dir, file.slice(-20)), bytes.subarray(0, cut));
      const { engine, state } = await openEngine(dir);
      expect(state.messages).toEqual(expected.messages);
      if (kept >= 2) expect(engine.stats().tailBytesCut).toBe(cut - (all[kept - 1]!.end + 1));
      await closeEngine(engine);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Several segments: 40 messages, half of them removed, segments of 600 bytes, all kept by a message that never leaves. */
async function writeSegments(dir: string): Promise<{ names: string[]; pristine: Map<string, Buffer>; model: Model }> {
  const { engine, state } = await openEngine(dir, { segmentBytes: 600 });
  const model = new Model();
  let nextSeq = state.nextSeq;
  for (let i = 0; i < 40; i++) {
    const message = makeMessage(nextSeq++, 40, i % 3 === 0);
    engine.append(message);
    model.append(message);
    if (i % 2 === 1) {
      // Removes the message before the last: every segment keeps one live message.
      const seq = message.seq - 1;
      engine.remove(seq);
      model.live.delete(seq);
    }
    await engine.flush();
  }
  await closeEngine(engine);
  const names = await segmentFiles(dir);
  const pristine = new Map<string, Buffer>();
  for (const name of names) pristine.set(name, await readFile(join(dir, name)));
  return { names, pristine, model };
}

function replayDir(names: readonly string[], pristine: ReadonlyMap<string, Buffer>, lost: ReadonlyMap<string, ReadonlySet<number>>): ReturnType<typeof replay> {
  return replay(names.map((name) => ({ id: Number(name.slice(0, 16)), pieces: pieces(pristine.get(name)!), lost: lost.get(name) ?? new Set() })));
}

describe('log damage in older segments and missing segments', () => {
  it('a flipped byte in a sealed segment loses only its records there; the seal reports it; the rest is served', async () => {
    const base = await tempDir();
    const { names, pristine } = await writeSegments(base);
    expect(names.length).toBeGreaterThan(3);
    const random = seededRandom(3);
    for (let i = 0; i < 30; i++) {
      const victim = names[1 + Math.floor(random() * (names.length - 2))]!;
      const bytes = Buffer.from(pristine.get(victim)!);
      const hit = flips(1)(bytes, random);
      const expected = replayDir(names, pristine, new Map([[victim, lostPieces(pieces(pristine.get(victim)!), hit)]]));
      const dir = await tempDir();
      await cp(base, dir, { recursive: true });
      await writeFile(join(dir, victim), bytes);
      const report = await verifyDataDir(dir);
      expect(report.damaged).toBe(true);
      expect(report.queues[0]?.damage.some((entry) => entry.kind === 'segment' && entry.detail.includes('seal'))).toBe(true);
      const { engine, state, lines } = await openEngine(dir, { segmentBytes: 600 });
      expect(state.messages).toEqual(expected.messages);
      expect(lines.some((line) => line.level === 'error' && line.fields.file === join(dir, victim) && String(line.fields.problems).includes('seal'))).toBe(true);
      expect(engine.stats().segmentProblems).toBe(1);
      expect(await readFile(join(dir, `${victim}.damaged`))).toEqual(bytes);
      await closeEngine(engine);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a deleted segment is reported missing and contained to it', async () => {
    const base = await tempDir();
    const { names, pristine } = await writeSegments(base);
    for (const victim of [names[0]!, names[2]!]) {
      const dir = await tempDir();
      await cp(base, dir, { recursive: true });
      await unlink(join(dir, victim));
      const everything = pieces(pristine.get(victim)!).map((_, index) => index);
      const expected = replayDir(names, pristine, new Map([[victim, new Set(everything)]]));
      const report = await verifyDataDir(dir);
      expect(report.damaged).toBe(true);
      expect(report.queues[0]?.damage.map((entry) => [entry.file, entry.kind])).toEqual([[join(dir, victim), 'missing']]);
      const { engine, state, lines } = await openEngine(dir, { segmentBytes: 600 });
      expect(state.messages).toEqual(expected.messages);
      expect(state.messages.length).toBeGreaterThan(0);
      expect(lines.filter((line) => line.event.includes('missing')).map((line) => [line.level, line.fields])).toEqual([['error', { dir, missing: victim }]]);
      expect(engine.stats().missingSegments).toBe(1);
      await closeEngine(engine);
    }
  });

  it('a sealed segment cut short is reported; the records before the cut are served', async () => {
    const base = await tempDir();
    const { names, pristine } = await writeSegments(base);
    const victim = names[1]!;
    const all = pieces(pristine.get(victim)!);
    const cut = all[Math.floor(all.length / 2)]!.start + 3;
    const lost = new Set(all.map((_, index) => index).filter((index) => all[index]!.end >= cut));
    const expected = replayDir(names, pristine, new Map([[victim, lost]]));
    await truncate(join(base, victim), cut);
    const { engine, state, lines } = await openEngine(base, { segmentBytes: 600 });
    expect(state.messages).toEqual(expected.messages);
    expect(lines.some((line) => line.level === 'error' && String(line.fields.problems).includes('does not end with its seal'))).toBe(true);
    // A sealed segment is never cut: the bytes stay for the operator.
    expect((await readFile(join(base, victim))).length).toBe(cut);
    expect(engine.stats().tailBytesCut).toBe(0);
  });

  it('a misplaced segment file is left alone and reported; a data dir is verified without changing a byte', async () => {
    const base = await tempDir();
    const { names, pristine, model } = await writeSegments(base);
    const stranger = '0000000000000000.seg';
    await writeFile(join(base, stranger), pristine.get(names[1]!)!);
    const before = new Map<string, Buffer>();
    for (const name of await readdir(base)) before.set(name, await readFile(join(base, name)));
    const report = await verifyDataDir(base);
    const after = new Map<string, Buffer>();
    for (const name of await readdir(base)) after.set(name, await readFile(join(base, name)));
    expect(after).toEqual(before);
    expect(report).toMatchObject({ dir: base, damaged: true, tornTails: 0 });
    expect(report.queues).toHaveLength(1);
    expect(report.queues[0]).toMatchObject({ queue: '.', segments: names.length + 1, formats: [2], messages: model.live.size, gapCheck: 'checked' });
    expect(report.queues[0]?.damage.map((entry) => [entry.file, entry.kind, entry.detail.startsWith('misplaced file')])).toEqual([[join(base, stranger), 'segment', true]]);
    const { state } = await openEngine(base, { segmentBytes: 600 });
    expect(state.messages).toEqual(model.snapshot());
    expect(await readFile(join(base, stranger))).toEqual(pristine.get(names[1]!));
  });

  it('a clean data dir of several queues verifies clean', async () => {
    const base = await tempDir();
    for (const queue of ['a', 'b']) {
      const { engine, state } = await openEngine(join(base, queue), { segmentBytes: 600 });
      for (let i = 0; i < 30; i++) engine.append(makeMessage(state.nextSeq + i, 50, i % 2 === 0));
      await closeEngine(engine);
    }
    const report = await verifyDataDir(base);
    expect(report.damaged).toBe(false);
    expect(report.tornTails).toBe(0);
    expect(report.queues.map((queue) => [queue.queue, queue.messages, queue.keys, queue.damage.length, queue.gapCheck])).toEqual([
      ['a', 30, 15, 0, 'checked'],
      ['b', 30, 15, 0, 'checked'],
    ]);
    await expect(verifyDataDir(join(base, 'nope'))).rejects.toMatchObject({ code: 'ERR_BAD_OPTION' });
  });
});
