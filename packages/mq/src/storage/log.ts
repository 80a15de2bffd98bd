import { createLogger } from '@streampy/runtime';
import { MqError } from '../errors.js';
import type { EngineCosts, FsyncPolicy, OpenOptions, RecoveredBody, RecoveredState, StorageEngine, StoredMessage } from './engine.js';
import type { DamageLogger, WriterCounters } from './log/counters.js';
import { SegmentedLog } from './log/segmented-log.js';

export { LogCorruptionError } from './log/errors.js';
export { verifyDataDir } from './log/verify.js';
export type { DataDirReport, QueueVerifyReport, SegmentDamage } from './log/verify.js';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** The node's default dedup window: keys are carried across segment deletion this long. */
export const DEFAULT_KEY_WINDOW_MS = 300_000;

export interface LogEngineOptions {
  /** Directory of this queue's log segments (created if missing). */
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  /** Roll to a new segment once the active one holds this many bytes. Default 64 MiB. */
  readonly segmentBytes?: number;
  /**
   * How long an idempotency key must stay known (the node's dedup window): when a segment is
   * deleted, its keys younger than this are written forward. Default 300000 (5 minutes).
   */
  readonly keyWindowMs?: number;
  /** Where damage found at open and failed writes are reported (error level). Default: stderr, JSON lines. */
  readonly logger?: DamageLogger;
  /** The clock, ms since the epoch, for the key window. Default Date.now. */
  readonly now?: () => number;
}

/**
 * Counters since open(), for STATS, tests and operators: I/O, damage found at open (see
 * docs/durability.md) and failures of the write path. A plain record of numbers.
 */
export type LogEngineStats = Readonly<WriterCounters> & {
  /** Segment files on disk now, and their total size. */
  readonly segments: number;
  readonly diskBytes: number;
};

export interface LogEngine extends StorageEngine {
  readonly kind: 'log';
  stats(): LogEngineStats;
}

/** Durable append-only log engine: see docs/durability.md for the format and guarantees. */
export function createLogEngine(options: LogEngineOptions): LogEngine {
  const { fsync } = options;
  if (fsync !== 'always' && fsync !== 'never' && !(typeof fsync === 'number' && Number.isFinite(fsync) && fsync > 0)) {
    throw new MqError('ERR_BAD_OPTION', `fsync policy must be 'always', 'never' or a positive number of ms, got ${String(fsync)}`);
  }
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isInteger(segmentBytes) || segmentBytes < 64) {
    throw new MqError('ERR_BAD_OPTION', `segmentBytes must be an integer of at least 64, got ${segmentBytes}`);
  }
  const keyWindowMs = options.keyWindowMs ?? DEFAULT_KEY_WINDOW_MS;
  if (!(keyWindowMs >= 0)) throw new MqError('ERR_BAD_OPTION', `keyWindowMs must be a number of ms >= 0, got ${keyWindowMs}`);
  const log = new SegmentedLog({
    dir: options.dir,
    policy: fsync,
    segmentBytes,
    keyWindowMs,
    now: options.now ?? Date.now,
    logger: options.logger ?? createLogger({ name: 'streampy-mq.log', level: 'info', format: 'json' }),
  });
  return new LogEngineHandle(log);
}

/**
 * What the log keeps in memory beside the queue's own, for the node's memory budget (measured
 * with scripts/measure-costs.mjs on the log engine less the memory engine, rounded up): a live
 * message's place in the segment ledger (measured 96), a key in its segment's key list, and
 * the segment state and open file of a queue (measured 3.3 KiB).
 */
const LOG_ENGINE_COSTS: EngineCosts = { message: 104, key: 32, queue: 4096 };

/** The StorageEngine face of the writer. */
class LogEngineHandle implements LogEngine {
  readonly kind = 'log';
  // Every policy acknowledges a put only once its record is written: a killed process then
  // loses nothing it acknowledged. The policy decides when the OS must also reach the disk.
  readonly syncBeforeAck = true;
  readonly costs = LOG_ENGINE_COSTS;

  private opening: Promise<RecoveredState<RecoveredBody>> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly log: SegmentedLog) {}

  /** Without options, bodies come as bytes: nothing else was asked for, so none is anything else. */
  open(): Promise<RecoveredState>;
  open(options: OpenOptions): Promise<RecoveredState<RecoveredBody>>;
  open(options?: OpenOptions): Promise<RecoveredState<RecoveredBody>> {
    if (this.closing !== undefined) return Promise.reject(new MqError('ERR_CLOSED', 'log engine is closed'));
    if (this.opening !== undefined) return Promise.reject(new MqError('ERR_ENGINE_STATE', 'log engine opened twice'));
    this.opening = this.log.open(options);
    return this.opening;
  }

  append(message: StoredMessage): void {
    this.log.append(message);
  }

  remove(seq: number): void {
    this.log.remove(seq);
  }

  flush(): Promise<void> {
    return this.log.flush();
  }

  close(): Promise<void> {
    // After an open() still under way, so that close() never races it.
    this.closing ??= (this.opening ?? Promise.resolve()).catch(() => undefined).then(() => this.log.close());
    return this.closing;
  }

  stats(): LogEngineStats {
    let diskBytes = 0;
    for (const info of this.log.ledger.segments.values()) diskBytes += info.size;
    return { ...this.log.counters, segments: this.log.ledger.segments.size, diskBytes };
  }
}
