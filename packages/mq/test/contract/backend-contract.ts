import { formatLeaseToken, parseLeaseToken } from '@streampy/codec';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MessageBatch, type Body, type QueueBackend } from '../../src/backend.js';

/** The rules a backend under test runs with: small, so bounds and windows are reached in a few steps. */
export interface ContractLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly maxDeliveries: number;
  readonly dedupWindowMs: number;
}

export const CONTRACT_LIMITS: ContractLimits = { maxMessages: 4, maxBytes: 64, maxDeliveries: 2, dedupWindowMs: 10_000 };

/** A fresh backend for one test, and control over its time. */
export interface BackendHarness {
  readonly backend: QueueBackend;
  /**
   * Lets `ms` of the backend's time pass, and what falls due in it happen: a manual clock's
   * advance for the local backend; a real sleep (with margin) for a backend whose server keeps time.
   */
  readonly advance: (ms: number) => Promise<void>;
  /** Bodies of the messages this backend dead-lettered so far, in order. */
  readonly deadLetters: () => Promise<string[]>;
  readonly close: () => Promise<void>;
  /**
   * For a backend whose counts live on a server: waits for its work in flight and reads its
   * counts afresh, so `stats()` shows what the operations before did. Default: nothing to wait for.
   */
  readonly sync?: () => Promise<void>;
  /**
   * `exact` (default): `stats().bytes` counts message bodies. `stored`: it counts what the server
   * stores (bodies and its per-message overhead), so it is at least the bodies' bytes, and 0 only when empty.
   */
  readonly bytes?: 'exact' | 'stored';
}

export type HarnessFactory = (limits: ContractLimits) => Promise<BackendHarness>;

interface Leased {
  readonly body: string;
  readonly token: string;
  readonly delivery: number;
  readonly messageId: string;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const textOf = (body: Body): string => (typeof body === 'string' ? body : new TextDecoder().decode(body));

/** Compares `harness.backend.stats()`, once synced, with `expected` (its `bytes` as the harness counts them). */
async function expectStats(harness: BackendHarness, expected: Readonly<Record<string, number>>): Promise<void> {
  await harness.sync?.();
  const wanted: Record<string, unknown> = { ...expected };
  const bodyBytes = expected.bytes;
  if (harness.bytes === 'stored' && bodyBytes !== undefined && bodyBytes > 0) {
    wanted.bytes = { asymmetricMatch: (actual: unknown) => typeof actual === 'number' && actual >= bodyBytes, toString: () => `at least ${bodyBytes}` };
  }
  expect(harness.backend.stats()).toMatchObject(wanted);
}

async function get(backend: QueueBackend, max = 1): Promise<string[]> {
  const batch = new MessageBatch().reset(Infinity, 0);
  await backend.get(max, batch);
  return batch.bodies.map(textOf);
}

async function reserve(backend: QueueBackend, max = 1, leaseMs = 1_000): Promise<Leased[]> {
  const batch = new MessageBatch().reset(Infinity, 0);
  await backend.reserve(max, leaseMs, batch);
  return batch.bodies.map((body, i) => {
    const messageId = batch.messageIds[i] as string;
    const delivery = batch.deliveries[i] as number;
    const nonce = batch.nonces[i] as string;
    return { body: textOf(body), token: formatLeaseToken({ messageId, delivery, nonce }), delivery, messageId };
  });
}

async function one(backend: QueueBackend, leaseMs = 1_000): Promise<Leased> {
  const leased = await reserve(backend, 1, leaseMs);
  expect(leased).toHaveLength(1);
  return leased[0] as Leased;
}

async function putAll(backend: QueueBackend, ...bodies: string[]): Promise<void> {
  for (const body of bodies) expect(await backend.put(bytes(body), undefined)).toEqual({ outcome: 'stored' });
}

/**
 * The queue semantics every `QueueBackend` is held to, whatever keeps its state. Time passes
 * only through `advance`, with margins wide enough for a backend on a real clock.
 */
export function describeBackendContract(name: string, makeHarness: HarnessFactory, options: { readonly dedupWindowMs?: number } = {}): void {
  // A backend on a real clock may ask for a shorter window, so the test sleeps less.
  const dedupWindowMs = options.dedupWindowMs ?? CONTRACT_LIMITS.dedupWindowMs;
  const open = async (limits: Partial<ContractLimits> = {}): Promise<BackendHarness> => {
    const harness = await makeHarness({ ...CONTRACT_LIMITS, dedupWindowMs, ...limits });
    onTestFinished(() => harness.close());
    return harness;
  };

  describe(`QueueBackend contract: ${name}`, () => {
    it('hands out messages first in, first out, and answers empty when there are none', async () => {
      const harness = await open();
      const { backend } = harness;
      expect(await get(backend)).toEqual([]);
      expect(await reserve(backend, 5)).toEqual([]);
      expect(await backend.size()).toBe(0);
      await putAll(backend, 'a', 'b', 'c');
      expect(await backend.size()).toBe(3);
      expect(await get(backend)).toEqual(['a']);
      expect(await get(backend, 10)).toEqual(['b', 'c']);
      expect(await get(backend)).toEqual([]);
      await expectStats(harness, { size: 0, puts: 3, gets: 3, bytes: 0 });
    });

    it('stores a keyed put once within the dedup window, and again after it', async () => {
      const harness = await open();
      const { backend, advance } = harness;
      expect(await backend.put(bytes('x'), 'k1')).toEqual({ outcome: 'stored' });
      expect(await backend.put(bytes('x'), 'k1')).toEqual({ outcome: 'duplicate' });
      expect(await backend.put(bytes('y'), 'k2')).toEqual({ outcome: 'stored' });
      await advance(dedupWindowMs / 2);
      expect(await backend.put(bytes('x'), 'k1')).toEqual({ outcome: 'duplicate' });
      expect(await backend.size()).toBe(2);
      await advance(dedupWindowMs);
      expect(await backend.put(bytes('x'), 'k1')).toEqual({ outcome: 'stored' });
      expect(await get(backend, 10)).toEqual(['x', 'y', 'x']);
      await expectStats(harness, { puts: 3, duplicates: 2 });
    });

    it('leases a message until it is acked, once', async () => {
      const harness = await open();
      const { backend } = harness;
      await putAll(backend, 'job');
      const lease = await one(backend);
      expect(lease).toMatchObject({ body: 'job', delivery: 1 });
      expect(parseLeaseToken(lease.token)).toMatchObject({ messageId: lease.messageId, delivery: 1 });
      expect(await backend.size()).toBe(0);
      await expectStats(harness, { size: 0, leased: 1, bytes: 3, reserves: 1 });
      expect(await backend.ack(lease.token)).toBe(true);
      expect(await backend.ack(lease.token)).toBe(false);
      await expectStats(harness, { size: 0, leased: 0, bytes: 0, acks: 1 });
    });

    it('redelivers a message nacked without delay at once, at the head, with deliveries + 1 and the same id', async () => {
      const harness = await open();
      const { backend } = harness;
      await putAll(backend, 'first', 'second');
      const lease = await one(backend);
      expect(await backend.nack(lease.token, 0)).toBe(true);
      const again = await one(backend);
      expect(again).toMatchObject({ body: 'first', delivery: 2, messageId: lease.messageId });
      expect(again.token).not.toBe(lease.token);
      expect(await backend.ack(lease.token)).toBe(false);
      expect(await backend.ack(again.token)).toBe(true);
      await expectStats(harness, { nacks: 1, redeliveries: 1, acks: 1, size: 1 });
    });

    it('holds a message nacked with a delay until the delay has passed', async () => {
      const harness = await open();
      const { backend, advance } = harness;
      await putAll(backend, 'later');
      const lease = await one(backend);
      expect(await backend.nack(lease.token, 2_000)).toBe(true);
      await expectStats(harness, { size: 0, leased: 0, delayed: 1, bytes: 5 });
      expect(await backend.ack(lease.token)).toBe(false);
      await advance(1_000);
      expect(await backend.size()).toBe(0);
      await advance(2_000);
      expect(await backend.size()).toBe(1);
      await expectStats(harness, { delayed: 0, size: 1 });
      expect(await one(backend)).toMatchObject({ body: 'later', delivery: 2 });
    });

    it('redelivers a message whose lease expired, with deliveries + 1; the old token is stale', async () => {
      const harness = await open();
      const { backend, advance } = harness;
      await putAll(backend, 'a', 'b');
      const lease = await one(backend, 1_000);
      await advance(500);
      expect(await backend.size()).toBe(1);
      await advance(1_500);
      expect(await backend.size()).toBe(2);
      expect(await backend.ack(lease.token)).toBe(false);
      expect(await backend.extend(lease.token, 1_000)).toBe(false);
      expect(await one(backend)).toMatchObject({ body: 'a', delivery: 2, messageId: lease.messageId });
      await expectStats(harness, { redeliveries: 1, reserves: 2 });
    });

    it('keeps an extended lease past its first deadline', async () => {
      const harness = await open();
      const { backend, advance } = harness;
      await putAll(backend, 'long');
      const lease = await one(backend, 1_000);
      await advance(500);
      expect(await backend.extend(lease.token, 4_000)).toBe(true);
      await advance(2_000);
      expect(await backend.size()).toBe(0);
      await expectStats(harness, { leased: 1 });
      expect(await backend.ack(lease.token)).toBe(true);
      expect(await backend.extend(lease.token, 1_000)).toBe(false);
      await expectStats(harness, { extends: 1, redeliveries: 0 });
    });

    it('dead-letters a message after maxDeliveries expired leases, and one nacked on its last delivery', async () => {
      const harness = await open({ maxDeliveries: 2 });
      const { backend, advance, deadLetters } = harness;
      await putAll(backend, 'poison');
      for (let delivery = 1; delivery <= 2; delivery++) {
        expect(await one(backend, 1_000)).toMatchObject({ body: 'poison', delivery });
        await advance(2_000);
      }
      expect(await backend.size()).toBe(0);
      expect(await deadLetters()).toEqual(['poison']);
      await putAll(backend, 'bad');
      expect(await backend.nack((await one(backend)).token, 0)).toBe(true);
      expect(await backend.nack((await one(backend)).token, 0)).toBe(true);
      expect(await deadLetters()).toEqual(['poison', 'bad']);
      await expectStats(harness, { size: 0, leased: 0, delayed: 0, bytes: 0, deadLettered: 2 });
    });

    it('refuses unknown, malformed, forged and stale tokens', async () => {
      const harness = await open();
      const { backend } = harness;
      await putAll(backend, 'mine');
      const lease = await one(backend);
      const parts = parseLeaseToken(lease.token);
      expect(parts).toBeDefined();
      const { messageId, delivery, nonce } = parts ?? { messageId: '', delivery: 0, nonce: '' };
      const flipped = (nonce[0] === 'A' ? 'B' : 'A') + nonce.slice(1);
      const forged = [
        'nonsense',
        '',
        `${messageId}.${delivery}`,
        formatLeaseToken({ messageId, delivery, nonce: flipped }),
        formatLeaseToken({ messageId, delivery: delivery + 1, nonce }),
        `0${messageId}.${delivery}.${nonce}`,
        `${messageId}.0${delivery}.${nonce}`,
        `${lease.token}x`,
      ];
      for (const token of forged) {
        expect(await backend.ack(token), token).toBe(false);
        expect(await backend.nack(token, 0), token).toBe(false);
        expect(await backend.extend(token, 1_000), token).toBe(false);
      }
      await expectStats(harness, { leased: 1, acks: 0, nacks: 0 });
      expect(await backend.ack(lease.token)).toBe(true);
      expect(await backend.ack(lease.token)).toBe(false);
    });

    it('refuses puts beyond maxMessages and maxBytes as full, counting leased and delayed messages', async () => {
      const harness = await open({ maxMessages: 2, maxBytes: 10 });
      const { backend } = harness;
      await putAll(backend, 'aaaa', 'bbbb');
      const full = await backend.put(bytes('c'), undefined);
      expect(full.outcome).toBe('full');
      expect(full.outcome === 'full' && full.reason).toMatch(/full/);
      const lease = await one(backend);
      expect((await backend.put(bytes('c'), 'key')).outcome).toBe('full');
      expect(await backend.nack(lease.token, 60_000)).toBe(true);
      expect((await backend.put(bytes('c'), 'key')).outcome).toBe('full');
      expect(await get(backend)).toEqual(['bbbb']);
      // The key of a refused put was not remembered.
      expect(await backend.put(bytes('c'), 'key')).toEqual({ outcome: 'stored' });
      expect((await backend.put(bytes('d'), undefined)).outcome).toBe('full');
      await expectStats(harness, { rejectedFull: 4, size: 1, delayed: 1, bytes: 5 });
    });

    it('keeps a batch within its room: the first message always, then those that fit', async () => {
      const harness = await open({ maxBytes: 1_000 });
      const { backend } = harness;
      await putAll(backend, 'x'.repeat(40), 'y'.repeat(40), 'z');
      // Room for one 40-byte item and its frame header, not two.
      const batch = new MessageBatch().reset(60, 0);
      await backend.get(10, batch);
      expect(batch.bodies.map(textOf)).toEqual(['x'.repeat(40)]);
      const tiny = new MessageBatch().reset(1, 0);
      await backend.reserve(10, 1_000, tiny);
      expect(tiny.bodies.map(textOf)).toEqual(['y'.repeat(40)]);
      expect(await backend.size()).toBe(1);
    });
  });
}
