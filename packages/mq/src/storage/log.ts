import type { FileHandle } from 'node:fs/promises';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MqError } from '../errors.js';
import type { FsyncPolicy, RecoveredState, StorageEngine, StoredMessage } from './engine.js';
import {
  MAX_REMOVES_PER_RECORD,
  SEGMENT_MAGIC,
  encodeAppend,
  encodeCleared,
  encodeFloor,
  encodeRemove,
  segmentFileName,
  toIntervals,
} from './log/format.js';
import type { SegmentInfo } from './log/ledger.js';
import { SegmentLedger, UNPLACED } from './log/ledger.js';
import { replayLog } from './log/recover.js';

export { LogCorruptionError } from './log/errors.js';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

export interface LogEngineOptions {
  /** Directory of this queue's log segments (created if missing). */
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  /** Roll to a new segment once the active one holds this many bytes. Default 64 MiB. */
  readonly segmentBytes?: number;
}

/** Counters since open(), for tests and operators. */
export interface LogEngineStats {
  readonly writes: number;
  readonly bytesWritten: number;
  readonly fsyncs: number;
  /** Segment files on disk now, and their total size. */
  readonly segments: number;
  readonly diskBytes: number;
  readonly segmentsDeleted: number;
  /** Bytes of torn or corrupt tail cut off the last segment by open(). */
  readonly tailBytesCut: number;
}

export interface LogEngine extends StorageEngine {
  readonly kind: 'log';
  stats(): LogEngineStats;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
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
  return new SegmentedLog(options.dir, fsync, segmentBytes);
}

class SegmentedLog implements LogEngine {
  readonly kind = 'log';
  readonly syncBeforeAck: boolean;

  private ledger = new SegmentLedger();
  private active: SegmentInfo | undefined;
  private handle: FileHandle | undefined;
  private state: 'new' | 'open' | 'closing' | 'closed' = 'new';
  /** The first I/O error; the engine refuses all later work with it. */
  private failure: Error | undefined;
  /** Every seq appended from now on is at least this; written at the head of each new segment. */
  private seqFloor = 0;

  // Work recorded by append()/remove() and not yet cut into a batch.
  private pendingChunks: Buffer[] = [];
  private pendingAppends: number[] = [];
  private pendingRemoves: number[] = [];
  private pendingRemoveTargets = new Set<number>();
  private waiting: Waiter[] = [];
  /** flush() callers whose writes are all in the batch being written now. */
  private inFlight: Waiter[] | undefined;

  private pumping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private pumpScheduled = false;
  private unsynced = false;
  private syncDue = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private reclaimWanted = false;

  private counters = { writes: 0, bytesWritten: 0, fsyncs: 0, segmentsDeleted: 0, tailBytesCut: 0 };

  constructor(
    private readonly dir: string,
    private readonly policy: FsyncPolicy,
    private readonly segmentBytes: number,
  ) {
    // Every policy acknowledges a put only once its record is written: a killed process then
    // loses nothing it acknowledged. The policy decides when the OS must also reach the disk.
    this.syncBeforeAck = true;
  }

  async open(): Promise<RecoveredState> {
    if (this.state !== 'new') throw new MqError('ERR_CLOSED', 'log engine opened twice');
    const replayed = await replayLog(this.dir);
    this.ledger = replayed.ledger;
    this.counters.tailBytesCut = replayed.cutTail?.bytesCut ?? 0;
    // The clock keeps ids unique even after every segment that showed the old ones was deleted.
    this.seqFloor = Math.max(replayed.seqFloor, Date.now() * 1000);
    const last = replayed.lastSegment;
    if (last === undefined || last.size === 0) await this.startSegment(last?.id ?? 1);
    else {
      this.active = last;
      this.handle = await open(this.segmentPath(last.id), 'a');
    }
    this.state = 'open';
    this.reclaimWanted = this.ledger.reclaimable(last?.id ?? 1).length > 0;
    this.schedule();
    return {
      messages: [...replayed.messages.values()].sort((a, b) => a.seq - b.seq),
      nextSeq: this.seqFloor,
      keys: replayed.keys,
    };
  }

  append(message: StoredMessage): void {
    this.assertWritable();
    this.pendingChunks.push(encodeAppend(message));
    this.pendingAppends.push(message.seq);
    this.ledger.append(message.seq, UNPLACED);
    this.seqFloor = Math.max(this.seqFloor, message.seq + 1);
    this.schedule();
  }

  remove(seq: number): void {
    this.assertWritable();
    const from = this.ledger.remove(seq);
    if (from === undefined) return;
    this.pendingRemoves.push(seq);
    if (from !== UNPLACED) {
      this.pendingRemoveTargets.add(from);
      if (from !== this.active?.id && this.ledger.segments.get(from)?.live.size === 0) this.reclaimWanted = true;
    }
    this.schedule();
  }

  flush(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.state === 'new' || this.state === 'closed') return Promise.reject(new MqError('ERR_CLOSED', `log engine is ${this.state === 'new' ? 'not open' : 'closed'}`));
    return new Promise((resolve, reject) => {
      if (this.hasPendingWrites()) {
        this.waiting.push({ resolve, reject });
        this.schedule();
      } else if (this.inFlight !== undefined) this.inFlight.push({ resolve, reject });
      else resolve();
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'closed';
      return;
    }
    this.state = 'closing';
    try {
      // Drain everything recorded so far, including a roll or reclaim that it triggers.
      while (this.failure === undefined && (this.pumping !== undefined || this.hasWork())) await this.pump();
      if (this.failure !== undefined) throw this.failure;
      clearTimeout(this.syncTimer);
      this.unsynced = true;
      await this.sync();
    } finally {
      clearTimeout(this.syncTimer);
      this.state = 'closed';
      await this.handle?.close();
      this.handle = undefined;
    }
  }

  stats(): LogEngineStats {
    let diskBytes = 0;
    for (const info of this.ledger.segments.values()) diskBytes += info.size;
    return { ...this.counters, segments: this.ledger.segments.size, diskBytes };
  }

  private assertWritable(): void {
    // Loud on purpose: a node that keeps acknowledging puts its disk refuses would lie.
    if (this.failure !== undefined) throw this.failure;
    if (this.state !== 'open') throw new MqError('ERR_CLOSED', `log engine is ${this.state === 'new' ? 'not open' : 'closed'}`);
  }

  private hasPendingWrites(): boolean {
    return this.pendingChunks.length > 0 || this.pendingRemoves.length > 0;
  }

  private hasWork(): boolean {
    return (
      this.hasPendingWrites() ||
      this.waiting.length > 0 ||
      this.syncDue ||
      this.reclaimWanted ||
      (this.active !== undefined && this.active.size >= this.segmentBytes)
    );
  }

  /**
   * Starts the writer at the end of this event-loop turn, so every append of the turn (all
   * the datagrams one poll delivered) shares one write and, under 'always', one fsync.
   */
  private schedule(): void {
    if (this.pumpScheduled || this.pumping !== undefined || this.failure !== undefined) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      if (this.state !== 'closed') void this.pump();
    });
  }

  /** Runs the writer unless it is running; resolves when it has nothing left to do. */
  private pump(): Promise<void> {
    if (this.pumping === undefined) {
      this.pumping = this.drainWork().finally(() => {
        this.pumping = undefined;
        // Work recorded between the loop's last check and now would otherwise wait forever.
        if (this.hasWork()) this.schedule();
      });
    }
    return this.pumping;
  }

  /** The only code that touches the files: one step at a time, until nothing is left to do. */
  private async drainWork(): Promise<void> {
    try {
      while (this.failure === undefined && this.hasWork()) {
        if (this.hasPendingWrites() || this.waiting.length > 0) await this.writeBatch();
        if (this.syncDue) {
          this.syncDue = false;
          await this.sync();
        }
        if (this.active !== undefined && this.active.size >= this.segmentBytes) await this.roll();
        if (this.reclaimWanted) await this.reclaim();
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private async writeBatch(): Promise<void> {
    const active = this.activeSegment();
    const chunks = this.pendingChunks;
    for (let i = 0; i < this.pendingRemoves.length; i += MAX_REMOVES_PER_RECORD) {
      chunks.push(encodeRemove(this.pendingRemoves.slice(i, i + MAX_REMOVES_PER_RECORD)));
    }
    this.ledger.place(this.pendingAppends, active);
    for (const target of this.pendingRemoveTargets) if (target !== active.id) active.removesInto.add(target);
    const waiters = this.waiting;
    this.pendingChunks = [];
    this.pendingAppends = [];
    this.pendingRemoves = [];
    this.pendingRemoveTargets = new Set();
    this.waiting = [];
    this.inFlight = waiters;
    try {
      await this.write(Buffer.concat(chunks));
      if (this.policy === 'always') await this.sync();
      else if (typeof this.policy === 'number') this.armSyncTimer(this.policy);
    } catch (error) {
      this.inFlight = undefined;
      for (const waiter of waiters) waiter.reject(error);
      throw error;
    }
    this.inFlight = undefined;
    for (const waiter of waiters) waiter.resolve();
  }

  private async write(bytes: Buffer): Promise<void> {
    const active = this.activeSegment();
    const handle = this.activeHandle();
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
      this.counters.writes++;
    }
    active.size += bytes.length;
    this.counters.bytesWritten += bytes.length;
    if (bytes.length > 0) this.unsynced = true;
  }

  private async sync(): Promise<void> {
    if (!this.unsynced || this.handle === undefined) return;
    this.unsynced = false;
    await this.handle.sync();
    this.counters.fsyncs++;
  }

  private armSyncTimer(ms: number): void {
    if (this.syncTimer !== undefined || !this.unsynced) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.syncDue = true;
      this.schedule();
    }, ms);
    // A pending fsync must not keep a finished process alive; close() syncs anyway.
    this.syncTimer.unref();
  }

  /**
   * Seals the active segment and starts the next. The sealed one is fsynced whatever the
   * policy, so only the last segment can ever have a torn tail: recovery may then treat damage
   * anywhere else as corruption.
   */
  private async roll(): Promise<void> {
    const sealed = this.activeSegment();
    this.unsynced = true;
    await this.sync();
    await this.activeHandle().close();
    this.handle = undefined;
    await this.startSegment(sealed.id + 1);
    if (sealed.live.size === 0) this.reclaimWanted = true;
  }

  private async startSegment(id: number): Promise<void> {
    const handle = await open(this.segmentPath(id), 'a');
    this.handle = handle;
    const segment = this.ledger.segments.get(id) ?? this.ledger.addSegment(id, 0);
    this.active = segment;
    await this.write(Buffer.concat([SEGMENT_MAGIC, encodeFloor(this.seqFloor)]));
    await this.sync();
    await this.syncDirectory();
  }

  /**
   * Deletes sealed segments with nothing live. Their remove records may be all that keeps
   * messages of older, still present segments removed, so those removes are first carried
   * forward as one `cleared` record per such segment, made durable before any unlink.
   */
  private async reclaim(): Promise<void> {
    this.reclaimWanted = false;
    const active = this.activeSegment();
    const doomed = this.ledger.reclaimable(active.id);
    if (doomed.length === 0) return;
    const targets = new Set<SegmentInfo>();
    for (const segment of doomed) for (const target of this.ledger.dependencies(segment)) targets.add(target);
    if (targets.size > 0) {
      await this.write(Buffer.concat([...targets].map((target) => encodeCleared(target.id, toIntervals(target.live)))));
      for (const target of targets) active.removesInto.add(target.id);
    }
    this.unsynced = true;
    await this.sync();
    for (const segment of doomed) {
      await unlink(this.segmentPath(segment.id));
      this.ledger.deleteSegment(segment.id);
      this.counters.segmentsDeleted++;
    }
    await this.syncDirectory();
  }

  private async syncDirectory(): Promise<void> {
    const handle = await open(this.dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private fail(error: unknown): void {
    this.failure = error instanceof Error ? error : new Error(String(error));
    for (const waiter of this.waiting) waiter.reject(this.failure);
    this.waiting = [];
  }

  private activeSegment(): SegmentInfo {
    if (this.active === undefined) throw new MqError('ERR_CLOSED', 'log engine is not open');
    return this.active;
  }

  private activeHandle(): FileHandle {
    if (this.handle === undefined) throw new MqError('ERR_CLOSED', 'log engine is not open');
    return this.handle;
  }

  private segmentPath(id: number): string {
    return join(this.dir, segmentFileName(id));
  }
}
