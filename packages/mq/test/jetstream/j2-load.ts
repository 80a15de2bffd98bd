import { parseLeaseToken } from '@streampy/codec';
import type { QueueClient } from '@streampy/client';
import { codeOf } from './j2-nodes.js';

/**
 * Exactly-once load through several queue nodes in front of the same JetStream queue: producers
 * put keyed messages, each retried through the next node until one acknowledges it (PUT or DUP);
 * consumers reserve through every node and ack through another one. It ends once every
 * acknowledged put has been delivered and the nodes' STATS show the queue empty with nothing
 * leased, so nothing is left that could still arrive (or at the deadline); it reports what it
 * saw, so a test asserts on counts, never on time.
 */

export interface LoadOptions {
  /** One client per node; a put's retries and a delivery's ack go round them. */
  readonly clients: readonly QueueClient[];
  readonly queue: string;
  /** Messages to put, keyed `<run>-<n>`, or these keys; the body is the key. */
  readonly messages: number | readonly string[];
  /** Concurrent producers (over all nodes). Default 4. */
  readonly producers?: number;
  /** Concurrent consumers per node. Default 2. */
  readonly consumersPerNode?: number;
  /** Longest a delivery stays leased: long enough that only a fault redelivers, short enough that a lost ack costs little. Default 10000. */
  readonly leaseMs?: number;
  /** Messages per RESERVE. Default 16. */
  readonly batch?: number;
  /** Called after each acknowledged put with the count so far, awaited: where a test injects its fault. */
  readonly onAcknowledged?: (acknowledged: number) => void | Promise<void>;
  /** The run ends here at the latest (a broken run, not a slow one). Default 120000. */
  readonly deadlineMs?: number;
}

export interface LoadReport {
  readonly messages: number;
  /** Puts some node acknowledged (PUT or DUP). */
  readonly acknowledged: number;
  /** Of those, acknowledged as DUP: a retry of a put whose first reply was lost. */
  readonly acknowledgedAsDuplicate: number;
  readonly putAttempts: number;
  /** Failed put attempts by code (ERR_UNAVAILABLE, ERR_TIMEOUT...). */
  readonly putErrors: Readonly<Record<string, number>>;
  /** Deliveries received (copies). */
  readonly deliveries: number;
  /** Deliveries of keys this run did not put (left by an earlier one); acked, not judged. */
  readonly foreign: number;
  /** Acknowledged puts never delivered. */
  readonly lost: readonly string[];
  /** Keys delivered as two different stored messages: a put stored twice. */
  readonly duplicated: readonly string[];
  /** Messages delivered again, as a newer delivery, after an ack of theirs was accepted. */
  readonly resurrected: readonly string[];
  /**
   * Replies that came after a newer delivery of their message: a RESERVE answered so late (retried
   * past the lease) that its lease had already ended. Their ACK is refused; not a second copy stored.
   */
  readonly stale: number;
  /** Deliveries of a message already delivered, whose ack had not been accepted (allowed: a fault ate it). */
  readonly redelivered: number;
  /** Acks accepted through a node other than the one the lease came from. */
  readonly crossNodeAcks: number;
  /** Failed ack attempts by code. */
  readonly ackErrors: Readonly<Record<string, number>>;
  readonly reserveErrors: Readonly<Record<string, number>>;
  readonly timedOut: boolean;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const count = (table: Record<string, number>, error: unknown): void => {
  const code = codeOf(error);
  table[code] = (table[code] ?? 0) + 1;
};

export async function runExactlyOnceLoad(options: LoadOptions): Promise<LoadReport> {
  const { clients, queue } = options;
  const run = Math.random().toString(36).slice(2, 8);
  const keys = typeof options.messages === 'number' ? Array.from({ length: options.messages }, (_, n) => `${run}-${n}`) : options.messages;
  const messages = keys.length;
  const deadline = Date.now() + (options.deadlineMs ?? 120_000);
  const leaseMs = options.leaseMs ?? 10_000;
  const batch = options.batch ?? 16;
  const expired = (): boolean => Date.now() >= deadline;

  const acknowledged = new Set<string>();
  let acknowledgedAsDuplicate = 0;
  let putAttempts = 0;
  const putErrors: Record<string, number> = {};
  const ackErrors: Record<string, number> = {};
  const reserveErrors: Record<string, number> = {};
  /** key -> the stored message ids it was delivered as. */
  const storedAs = new Map<string, Set<string>>();
  /** Message id -> the delivery count whose ack the node accepted. */
  const ackedMessages = new Map<string, number>();
  /** Message id -> the highest delivery count seen. */
  const newest = new Map<string, number>();
  let stale = 0;
  const deliveredKeys = new Set<string>();
  const resurrected: string[] = [];
  let deliveries = 0;
  let foreign = 0;
  const wanted = new Set(keys);
  let redelivered = 0;
  let crossNodeAcks = 0;
  let next = 0;
  let producing = options.producers ?? 4;

  const produce = async (): Promise<void> => {
    for (let n = next++; n < messages && !expired(); n = next++) {
      const key = keys[n]!;
      for (let attempt = 0; !expired(); attempt++) {
        putAttempts++;
        try {
          const result = await clients[(n + attempt) % clients.length]!.put(key, { key, queue });
          acknowledged.add(key);
          if (result.duplicate) acknowledgedAsDuplicate++;
          await options.onAcknowledged?.(acknowledged.size);
          break;
        } catch (error) {
          count(putErrors, error);
          await pause(Math.min(250, 10 * 2 ** attempt));
        }
      }
    }
    producing--;
  };

  const settle = async (token: string, from: number): Promise<boolean> => {
    // Ack through the next node: a lease from one node is good on any other.
    for (let attempt = 0; attempt < 20 && !expired(); attempt++) {
      const via = (from + 1 + attempt) % clients.length;
      try {
        await clients[via]!.ack(token, { queue });
        if (via !== from) crossNodeAcks++;
        return true;
      } catch (error) {
        count(ackErrors, error);
        // An unknown lease is gone for good (it ended, the message comes back); other errors may pass.
        if (codeOf(error) === 'ERR_UNKNOWN_LEASE') return false;
        await pause(Math.min(250, 10 * 2 ** attempt));
      }
    }
    return false;
  };

  // An ack whose reply was lost may have landed (its retry then finds no lease): such a message is
  // delivered, and gone or coming back; STATS says which, so the run ends on an empty queue.
  let drained = false;
  let lastDrainCheck = 0;
  const finished = (): boolean => drained;
  const checkDrained = async (): Promise<void> => {
    if (producing > 0 || Date.now() - lastDrainCheck < 200) return;
    if (![...acknowledged].every((key) => deliveredKeys.has(key))) return;
    lastDrainCheck = Date.now();
    try {
      const held = (await clients[0]!.stats()).queues[queue];
      drained = held !== undefined && held.size === 0 && held.leased === 0 && held.delayed === 0;
    } catch {
      // Not known yet: ask again later.
    }
  };

  const consume = async (from: number): Promise<void> => {
    while (!expired() && !finished()) {
      let leased;
      try {
        leased = await clients[from]!.reserve({ queue, max: batch, leaseMs });
      } catch (error) {
        count(reserveErrors, error);
        await pause(50);
        continue;
      }
      if (leased.length === 0) {
        await checkDrained();
        await pause(20);
        continue;
      }
      for (const delivery of leased) {
        deliveries++;
        const key = new TextDecoder().decode(delivery.body);
        if (!wanted.has(key)) foreign++;
        const token = parseLeaseToken(delivery.token);
        const messageId = token?.messageId ?? `unparsed:${delivery.token}`;
        const count = token?.delivery ?? 0;
        const ids = storedAs.get(key) ?? new Set<string>();
        if (ids.has(messageId)) {
          if (count <= (newest.get(messageId) ?? 0)) stale++;
          else if (ackedMessages.has(messageId)) resurrected.push(key);
          else redelivered++;
        }
        newest.set(messageId, Math.max(count, newest.get(messageId) ?? 0));
        ids.add(messageId);
        storedAs.set(key, ids);
        deliveredKeys.add(key);
        if (await settle(delivery.token, from)) ackedMessages.set(messageId, count);
      }
    }
  };

  const consumers = clients.flatMap((_, from) => Array.from({ length: options.consumersPerNode ?? 2 }, () => consume(from)));
  await Promise.all([...Array.from({ length: options.producers ?? 4 }, produce), ...consumers]);

  return {
    messages,
    acknowledged: acknowledged.size,
    acknowledgedAsDuplicate,
    putAttempts,
    putErrors,
    deliveries,
    foreign,
    lost: [...acknowledged].filter((key) => !deliveredKeys.has(key)),
    duplicated: [...storedAs].filter(([, ids]) => ids.size > 1).map(([key]) => key),
    resurrected,
    redelivered,
    stale,
    crossNodeAcks,
    ackErrors,
    reserveErrors,
    timedOut: expired(),
  };
}
