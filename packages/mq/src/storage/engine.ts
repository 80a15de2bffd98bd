/**
 * Storage engines persist what a queue holds; they hold no guarantee logic. Leases,
 * redelivery, dead letters, dedup and bounds live in the queue above, once, for every engine.
 *
 * The queue keeps its working set in memory and tells the engine what changed: a message
 * appended, a message removed for good (GET, ACK, moved to dead letters). Leases are not
 * persisted, so a message reserved but not acked when the node stopped is live again after
 * recovery: at-least-once across restarts.
 */

export interface StoredMessage {
  /** Unique within its queue, increasing in enqueue order. */
  readonly seq: number;
  readonly body: Uint8Array;
  /** Idempotency key of the PUT that enqueued it, kept so dedup survives restarts. */
  readonly key?: string;
  /** Enqueue time, ms since the epoch. */
  readonly enqueuedAt: number;
}

/** A recovered body as the queue keeps it, made while its bytes were still in the engine's scratch buffer. */
export interface RecoveredText {
  readonly text: string;
  /** How many bytes the body was (its text may take more or fewer). */
  readonly bytes: number;
}

/** What `open({ bodiesAsText: true })` may give as a body: text, or bytes from an engine that ignores the option. */
export type RecoveredBody = Uint8Array | RecoveredText;

/** A recovered message; its body bytes unless `open` was asked for text. */
export interface RecoveredMessage<Body = Uint8Array> extends Omit<StoredMessage, 'body'> {
  readonly body: Body;
}

export interface OpenOptions {
  /**
   * Bodies as text (`RecoveredText`), decoded straight from the record, so recovery holds each body
   * once, as the queue's text, instead of also as bytes in a buffer of its own. Engines may ignore it.
   */
  readonly bodiesAsText?: boolean;
}

export interface RecoveredState<Body = Uint8Array> {
  /**
   * Messages appended and not removed, ascending by `seq`. The queue consumes the array (it pops
   * each message as it restores it), so each body's bytes can be collected as soon as the
   * queue's copy exists, instead of all of them outliving the restore.
   */
  readonly messages: RecoveredMessage<Body>[];
  /** The `seq` to use for the next append (above every seq ever written). */
  readonly nextSeq: number;
  /** Idempotency keys the engine still knows of (live or removed), with their enqueue time. */
  readonly keys: ReadonlyMap<string, number>;
}

/**
 * When written records must also reach the disk: `always` fsyncs before a put is acknowledged
 * (group commit); a number N fsyncs at most every N ms; `never` leaves it to the OS. The log
 * engine writes every record to the OS before acknowledging under every policy, so a killed
 * process loses nothing acknowledged; the policy bounds what a power loss can take.
 */
export type FsyncPolicy = 'always' | 'never' | number;

export interface StorageEngine {
  readonly kind: string;
  /** Recovers the stored state; called once before any other method. */
  open(): Promise<RecoveredState>;
  open(options: OpenOptions): Promise<RecoveredState<RecoveredBody>>;
  /** Records an enqueue. Buffered: durable once a later `flush()` resolves. */
  append(message: StoredMessage): void;
  /** Records that a message left the queue for good. */
  remove(seq: number): void;
  /**
   * Resolves once every append and remove made before the call is as durable as the
   * policy promises. Concurrent callers share one write and one fsync (group commit).
   */
  flush(): Promise<void>;
  /**
   * True when the node must await `flush()` before it answers a request that changed what is
   * stored (the log engine, under every policy): a put is visible and acknowledged, and a GET
   * or ACK answered, only once the flush holding it resolved.
   */
  readonly syncBeforeAck: boolean;
  close(): Promise<void>;
  /** Counters of the engine for STATS (writes, fsyncs, damage found at open, failed writes...), if it keeps any. */
  stats?(): Readonly<Record<string, number>>;
  /** What the engine keeps in memory per item, for the node's memory budget; none when absent. */
  readonly costs?: EngineCosts;
}

/** Bytes of memory an engine keeps beside the queue's own, measured as in budget.ts. */
export interface EngineCosts {
  /** Per stored message (the log engine: its place in the segment ledger). */
  readonly message: number;
  /** Per idempotency key it remembers (the log engine: the segment's key list). */
  readonly key: number;
  /** Per queue (the log engine: its segment state and open file). */
  readonly queue: number;
}

/** Makes the engine of one named queue. */
export type EngineFactory = (queueName: string) => StorageEngine;
