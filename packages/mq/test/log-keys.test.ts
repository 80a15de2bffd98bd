/**
 * The dedup window keeps its word in storage: idempotency keys stay known for their whole window
 * after the segments holding their messages are deleted, across restarts, and are let go after it.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredMessage } from '../src/storage/engine.js';
import type { LogEngine } from '../src/storage/log.js';
import { cleanUp, closeEngine, openEngine, tempDir } from './fixtures/log-helpers.js';

afterEach(cleanUp);

const WINDOW_MS = 60_000;

function message(seq: number, at: number, key?: string): StoredMessage {
  const body = new Uint8Array(40).fill(seq & 0xff);
  return key === undefined ? { seq, enqueuedAt: at, body } : { seq, enqueuedAt: at, key, body };
}

/** Puts and consumes `count` unkeyed messages: the log rolls and deletes its old segments. */
async function churn(engine: LogEngine, from: number, count: number, at: number): Promise<number> {
  for (let i = 0; i < count; i++) {
    engine.append(message(from + i, at));
    engine.remove(from + i);
    if (i % 10 === 9) await engine.flush();
  }
  await engine.flush();
  return from + count;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

describe('idempotency keys in the log', () => {
  it('stay known after their segment is deleted, for their whole window, across restarts; then go', async () => {
    const dir = await tempDir();
    let clock = 1_800_000_000_000;
    const options = { segmentBytes: 1024, keyWindowMs: WINDOW_MS, now: () => clock };
    let { engine, state } = await openEngine(dir, options);
    let seq = state.nextSeq;
    const keys = Array.from({ length: 20 }, (_, i) => `order-${i}`);
    const putAt = clock;
    for (const key of keys) {
      engine.append(message(seq, putAt, key));
      engine.remove(seq++);
    }
    await engine.flush();
    seq = await churn(engine, seq, 300, clock);
    // The segment that held the keyed puts is gone; their keys were written forward.
    expect(await exists(join(dir, '0000000000000001.seg'))).toBe(false);
    expect(engine.stats().keysCarried).toBeGreaterThanOrEqual(keys.length);
    await closeEngine(engine);
    ({ engine, state } = await openEngine(dir, options));
    for (const key of keys) expect(state.keys.get(key)).toBe(putAt);

    // Later in the window: the segments holding the carried keys are deleted in turn, and the
    // keys go forward again.
    clock += WINDOW_MS / 2;
    const carriedBefore = engine.stats().keysCarried;
    seq = await churn(engine, seq, 300, clock);
    expect(engine.stats().keysCarried).toBeGreaterThan(carriedBefore);
    await closeEngine(engine);
    ({ engine, state } = await openEngine(dir, options));
    for (const key of keys) expect(state.keys.get(key)).toBe(putAt);

    // Past the window nothing carries them any more: the log does not grow with old keys.
    clock += WINDOW_MS;
    await churn(engine, seq, 300, clock);
    await closeEngine(engine);
    ({ state } = await openEngine(dir, options));
    for (const key of keys) expect(state.keys.has(key)).toBe(false);
  });

  it('a key put again later keeps its latest time when carried', async () => {
    const dir = await tempDir();
    let clock = 1_800_000_000_000;
    const options = { segmentBytes: 1024, keyWindowMs: WINDOW_MS, now: () => clock };
    const { engine, state } = await openEngine(dir, options);
    let seq = state.nextSeq;
    engine.append(message(seq, clock, 'again'));
    engine.remove(seq++);
    seq = await churn(engine, seq, 100, clock);
    clock += 10_000;
    engine.append(message(seq, clock, 'again'));
    engine.remove(seq++);
    await churn(engine, seq, 300, clock);
    await closeEngine(engine);
    const reopened = await openEngine(dir, options);
    expect(reopened.state.keys.get('again')).toBe(clock);
  });
});
