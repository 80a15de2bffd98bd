import { mkdir, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MqError } from '../../errors.js';
import type { FsyncPolicy, OpenOptions, RecoveredBody, RecoveredState, StoredMessage } from '../engine.js';
import { ActiveSegment } from './active-segment.js';
import { describeError, storageError } from './errors.js';
import { syncDirectory } from './files.js';
import { FlushTracker } from './flush-tracker.js';
import { SEGMENT_MAGIC, segmentFileName } from './format.js';
import type { PendingAppend, PendingRemove } from './ledger.js';
import { SegmentLedger, UNPLACED, addKey } from './ledger.js';
import { planReclaim } from './reclaim.js';
import { MAX_REMOVES_PER_RECORD, encodeAppend, encodeHeader, encodeRemove, encodeSeal } from './records.js';
import { needsRestart, scanQueueDir } from './recover.js';
import type { DamageLogger, WriterCounters } from './counters.js';
import { emptyDamageCounters } from './counters.js';
import { reportDamage } from './repair.js';

export interface SegmentedLogConfig {
  readonly dir: string;
  readonly policy: FsyncPolicy;
  readonly segmentBytes: number;
  /** How long idempotency keys are carried forward when their segment is deleted. */
  readonly keyWindowMs: number;
  readonly now: () => number;
  readonly logger: DamageLogger;
}

type Step = 'write' | 'sync' | 'roll' | 'reclaim';

const FAILURE_COUNTER = { write: 'writeFailures', sync: 'syncFailures', roll: 'rollFailures', reclaim: 'reclaimFailures' } as const;

/** The log engine's writer: see docs/durability.md for the format and guarantees. */
export class SegmentedLog {
  ledger = new SegmentLedger();
  readonly counters: WriterCounters = {
    ...emptyDamageCounters(),
    writes: 0,
    bytesWritten: 0,
    fsyncs: 0,
    segmentsDeleted: 0,
    writeFailures: 0,
    syncFailures: 0,
    rollFailures: 0,
    reclaimFailures: 0,
    keysCarried: 0,
  };
  state: 'new' | 'open' | 'closing' | 'closed' = 'new';

  private file: ActiveSegment | undefined;
  /** Every seq appended from now on is at least this; written in the header of each new segment. */
  private seqFloor = 0;
  private nextSegmentId = 1;

  // Work recorded by append()/remove() and not yet cut into a batch.
  private pendingChunks: Buffer[] = [];
  private pendingAppends: PendingAppend[] = [];
  private pendingRemoves: PendingRemove[] = [];
  private readonly flushes = new FlushTracker();
  private cutOps = 0;

  private pumping: Promise<void> | undefined;
  private pumpScheduled = false;
  /**
   * Set by a failed step: rolls and reclaims wait until a batch is written again (proof that the
   * disk takes writes), so a full disk costs one failed attempt per batch, not a busy loop.
   * Batches themselves are always tried.
   */
  private stalled = false;
  private readonly failing = new Set<Step>();
  private syncDue = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private reclaimWanted = false;

  constructor(private readonly config: SegmentedLogConfig) {}

  async open(options: OpenOptions = {}): Promise<RecoveredState<RecoveredBody>> {
    await mkdir(this.config.dir, { recursive: true });
    const scan = await scanQueueDir(this.config.dir, options.bodiesAsText === true);
    const { cutTail } = await reportDamage(scan, this.counters, this.config.logger);
    this.ledger = scan.ledger;
    // The clock keeps ids unique even after every segment that showed the old ones was deleted.
    this.seqFloor = Math.max(scan.seqFloor, Date.now() * 1000);
    this.nextSegmentId = scan.maxId + 1;
    const last = scan.last;
    const tail = last?.scan.tail;
    if (last !== undefined && tail !== undefined && cutTail) {
      await truncate(this.segmentPath(last.info.id), tail.start);
      last.info.size = tail.start;
    }
    // Appends continue in the newest segment if it is ours, in format 2, not sealed and not torn
    // beyond repair; otherwise in a new one (a 0.1 log goes on in format 2 this way).
    const reusable = last !== undefined && last.info.id === scan.maxId && last.info.version === 2 && !last.scan.sealed && (tail === undefined || cutTail);
    if (reusable && needsRestart(last.scan)) {
      this.ledger.deleteSegment(last.info.id);
      await this.createSegment(last.info.id);
    } else if (reusable) {
      last.info.crc = last.crc;
      this.file = await ActiveSegment.reopen(this.segmentPath(last.info.id), last.info, this.counters);
    } else await this.createSegment(this.nextSegmentId);
    this.state = 'open';
    this.reclaimWanted = this.ledger.reclaimable(this.activeFile().info.id).length > 0;
    this.schedule();
    return { messages: [...scan.messages.values()].sort((a, b) => a.seq - b.seq), nextSeq: this.seqFloor, keys: scan.keys };
  }

  append(message: StoredMessage): void {
    this.assertWritable();
    this.pendingChunks.push(encodeAppend(message));
    this.pendingAppends.push({ seq: message.seq, key: message.key, at: message.enqueuedAt });
    this.ledger.append(message.seq, UNPLACED);
    this.seqFloor = Math.max(this.seqFloor, message.seq + 1);
    this.flushes.record();
    this.wake();
  }

  remove(seq: number): void {
    this.assertWritable();
    const from = this.ledger.remove(seq);
    if (from === undefined) return;
    this.pendingRemoves.push({ seq, from });
    if (from !== UNPLACED && from !== this.file?.info.id && this.ledger.segments.get(from)?.live.size === 0) this.reclaimWanted = true;
    this.flushes.record();
    this.wake();
  }

  flush(): Promise<void> {
    if (this.state === 'new' || this.state === 'closed') return Promise.reject(this.stateError());
    const done = this.flushes.wait();
    if (this.hasPendingOps()) this.schedule();
    return done;
  }

  /** Writes out everything recorded (retrying a failed step a few times), syncs and closes the file. */
  async close(): Promise<void> {
    if (this.state === 'new' || this.state === 'closed') {
      this.state = 'closed';
      return;
    }
    this.state = 'closing';
    try {
      for (let pass = 0; pass < 3 && (this.pumping !== undefined || this.hasWork()); pass++) {
        this.stalled = false;
        await this.pump();
      }
      if (this.hasPendingOps()) {
        const error = storageError('writing the log at close', new Error('the disk kept refusing the last writes'));
        this.flushes.settle(this.cutOps + 1, this.flushes.recorded, error);
        throw error;
      }
      clearTimeout(this.syncTimer);
      await this.file?.sync(true);
    } finally {
      clearTimeout(this.syncTimer);
      this.state = 'closed';
      await this.file?.close();
    }
  }

  private assertWritable(): void {
    if (this.state !== 'open') throw this.stateError();
  }

  /** Use before open() is a programming error; use after close() meets a closed object. */
  private stateError(): MqError {
    return this.state === 'new' ? new MqError('ERR_ENGINE_STATE', 'log engine is not open') : new MqError('ERR_CLOSED', 'log engine is closed');
  }

  private hasPendingOps(): boolean {
    return this.pendingChunks.length > 0 || this.pendingRemoves.length > 0;
  }

  private hasWork(): boolean {
    return this.hasPendingOps() || this.syncDue || this.reclaimWanted || this.rollDue();
  }

  /** Batches always; rolls and reclaims unless a failure stalled them. */
  private wantsToRun(): boolean {
    return this.hasPendingOps() || this.syncDue || (!this.stalled && this.hasWork());
  }

  private rollDue(): boolean {
    const file = this.file;
    return file !== undefined && file.holdsBatches && file.info.size >= this.config.segmentBytes;
  }

  private wake(): void {
    this.schedule();
  }

  /**
   * Starts the writer at the end of this event-loop turn, so every append of the turn (all
   * the datagrams one poll delivered) shares one write and, under 'always', one fsync.
   */
  private schedule(): void {
    if (this.pumpScheduled || this.pumping !== undefined) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      if (this.state !== 'closed') void this.pump();
    });
  }

  /** Runs the writer unless it is running; resolves when it has nothing left to do. */
  private pump(): Promise<void> {
    this.pumping ??= this.drainWork().finally(() => {
      this.pumping = undefined;
      // Work recorded between the loop's last check and now would otherwise wait forever.
      if (this.wantsToRun()) this.schedule();
    });
    return this.pumping;
  }

  /** The only code that touches the files: one step at a time, until nothing is left or a step fails. */
  private async drainWork(): Promise<void> {
    while (this.wantsToRun()) {
      if (this.hasPendingOps()) {
        if (!(await this.step('write', () => this.writeBatch()))) continue;
        this.stalled = false;
      }
      if (this.syncDue) {
        this.syncDue = false;
        if (!(await this.step('sync', () => this.activeFile().sync()))) this.armSyncTimer();
      }
      if (this.stalled) continue;
      if (this.rollDue() && !(await this.step('roll', () => this.roll()))) continue;
      if (this.reclaimWanted) await this.step('reclaim', () => this.reclaim());
    }
  }

  /** Runs one step; a failure is logged (once until it works again), counted, and stalls the writer. */
  private async step(name: Step, run: () => Promise<void>): Promise<boolean> {
    try {
      await run();
    } catch (error) {
      this.counters[FAILURE_COUNTER[name]]++;
      if (!this.failing.has(name)) this.config.logger.error(`log ${name} failed; will retry`, { dir: this.config.dir, error: describeError(error) });
      this.failing.add(name);
      // A failed timed fsync is retried by its timer; rolls and reclaims after the next good batch.
      if (name !== 'sync') this.stalled = true;
      return false;
    }
    if (this.failing.delete(name)) this.config.logger.warn(`log ${name} works again`, { dir: this.config.dir });
    return true;
  }

  /** Writes every record recorded since the last batch in one write (and, under 'always', one fsync). */
  private async writeBatch(): Promise<void> {
    const file = this.activeFile();
    const active = file.info;
    const chunks = this.pendingChunks;
    const removes = this.pendingRemoves;
    for (let i = 0; i < removes.length; i += MAX_REMOVES_PER_RECORD) chunks.push(encodeRemove(removes.slice(i, i + MAX_REMOVES_PER_RECORD).map((remove) => remove.seq)));
    const appends = this.pendingAppends;
    const first = this.cutOps + 1;
    const last = this.flushes.recorded;
    this.cutOps = last;
    this.pendingChunks = [];
    this.pendingAppends = [];
    this.pendingRemoves = [];
    const keysBefore = active.keys.length;
    this.ledger.place(appends, active);
    for (const { from } of removes) if (from !== UNPLACED && from !== active.id) active.removesInto.add(from);
    const mark = file.mark();
    try {
      file.holdsBatches = true;
      await file.append(Buffer.concat(chunks));
      if (this.config.policy === 'always') await file.sync();
      else this.armSyncTimer();
    } catch (error) {
      // Nothing of the batch stays: its bytes are cut off and its changes undone, so the node
      // can undo the requests it failed and a later remove of the same message is written again.
      await file.cutBack(mark);
      this.ledger.unplace(appends, removes, active, active.keys.length - keysBefore);
      this.flushes.settle(first, last, storageError('storage write', error));
      throw error;
    }
    this.flushes.settle(first, last);
  }

  private armSyncTimer(): void {
    const ms = this.config.policy;
    if (typeof ms !== 'number' || this.syncTimer !== undefined || this.file?.unsynced !== true) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.syncDue = true;
      this.schedule();
    }, ms);
    // A pending fsync must not keep a finished process alive; close() syncs anyway.
    this.syncTimer.unref();
  }

  /**
   * Seals the active segment (a seal record: the CRC of all its bytes, synced whatever the
   * policy, so only the newest segment can ever have a torn tail) and starts the next. If the
   * next cannot be created, appends go on after the seal and the roll is tried again later.
   */
  private async roll(): Promise<void> {
    const file = this.activeFile();
    const mark = file.mark();
    // A roll that failed after its seal left the seal last in the file: it still covers everything.
    if (file.sealedAt !== mark.size) {
      try {
        await file.append(encodeSeal(mark.size, mark.crc));
        await file.sync();
      } catch (error) {
        await file.cutBack(mark);
        throw error;
      }
      file.sealedAt = file.info.size;
    }
    await this.createSegment(Math.max(this.nextSegmentId, file.info.id + 1));
    await file.close().catch(() => undefined);
    if (file.info.live.size === 0) this.reclaimWanted = true;
  }

  /** Creates segment `id`, its header naming every other segment there is, and makes it the active one. */
  private async createSegment(id: number): Promise<void> {
    const present = [...this.ledger.segments.keys()].filter((other) => other !== id).sort((a, b) => a - b);
    const header = Buffer.concat([SEGMENT_MAGIC, encodeHeader(id, this.seqFloor, present)]);
    const info = { id, version: 2 as const, size: 0, crc: 0, live: new Set<number>(), removesInto: new Set<number>(), keys: [], keyTimes: [] };
    this.file = await ActiveSegment.create(this.segmentPath(id), this.config.dir, info, header, this.counters);
    this.ledger.segments.set(id, info);
    this.nextSegmentId = Math.max(this.nextSegmentId, id + 1);
  }

  /** Deletes sealed segments with nothing live, once what must outlive them is durable (log/reclaim.ts). */
  private async reclaim(): Promise<void> {
    this.reclaimWanted = false;
    const file = this.activeFile();
    const plan = planReclaim(this.ledger, file.info.id, this.pendingRemoves, this.config.now() - this.config.keyWindowMs);
    if (plan === undefined) return;
    if (plan.again) this.reclaimWanted = true;
    const mark = file.mark();
    try {
      await file.append(plan.bytes);
      await file.sync();
    } catch (error) {
      await file.cutBack(mark);
      this.reclaimWanted = true;
      throw error;
    }
    for (const target of plan.targets) file.info.removesInto.add(target.id);
    for (const [key, at] of plan.keys) addKey(file.info, key, at);
    this.counters.keysCarried += plan.keys.length;
    try {
      for (const segment of plan.doomed) {
        await unlink(this.segmentPath(segment.id)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
        this.ledger.deleteSegment(segment.id);
        this.counters.segmentsDeleted++;
      }
    } catch (error) {
      this.reclaimWanted = true;
      throw error;
    }
    await syncDirectory(this.config.dir);
  }

  private activeFile(): ActiveSegment {
    if (this.file === undefined) throw new MqError('ERR_ENGINE_STATE', 'log engine is not open');
    return this.file;
  }

  private segmentPath(id: number): string {
    return join(this.config.dir, segmentFileName(id));
  }
}
