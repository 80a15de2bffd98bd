import type { FileHandle } from 'node:fs/promises';
import { open, unlink } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { syncDirectory } from './files.js';
import type { IoCounters } from './counters.js';
import type { SegmentInfo } from './ledger.js';

/** Size and running CRC of a segment at one moment: what a failed write goes back to. */
export interface SegmentMark {
  readonly size: number;
  readonly crc: number;
}

/**
 * The segment file appends go to. Writes are positional at the segment's known size, so a
 * failed or partial write (disk full, I/O error) is cut off again and the file holds only whole
 * batches: a failed batch leaves no trace, and the next write starts on a record boundary.
 */
export class ActiveSegment {
  /** Bytes written since the last fsync. */
  unsynced = false;
  /**
   * Whether a batch of appends or removes went into it. Only then is it rolled when full: records
   * the engine writes on its own (reclaim's) must not roll a fresh segment, or rolling and
   * reclaiming could feed each other forever with tiny segments.
   */
  holdsBatches: boolean;
  /** The file's size when a seal record was last appended (a roll not finished yet). */
  sealedAt = -1;
  /** The file may hold bytes of a failed write past `info.size`; they are cut before the next write. */
  private dirtyTail = false;

  private constructor(
    readonly info: SegmentInfo,
    private readonly handle: FileHandle,
    holdsBatches: boolean,
    private readonly counters: IoCounters,
  ) {
    this.holdsBatches = holdsBatches;
  }

  /** Creates the file with `header` (synced, with its directory entry); on failure nothing of it is left. */
  static async create(path: string, dir: string, info: SegmentInfo, header: Buffer, counters: IoCounters): Promise<ActiveSegment> {
    const handle = await open(path, 'w+');
    try {
      await handle.write(header, 0, header.length, 0);
      await handle.sync();
      await syncDirectory(dir);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw error;
    }
    info.size = header.length;
    info.crc = crc32(header);
    counters.writes++;
    counters.bytesWritten += header.length;
    counters.fsyncs++;
    return new ActiveSegment(info, handle, false, counters);
  }

  /** Goes on appending to an existing file whose first `info.size` bytes (CRC `info.crc`) are kept. */
  static async reopen(path: string, info: SegmentInfo, counters: IoCounters): Promise<ActiveSegment> {
    return new ActiveSegment(info, await open(path, 'r+'), true, counters);
  }

  mark(): SegmentMark {
    return { size: this.info.size, crc: this.info.crc };
  }

  async append(bytes: Buffer): Promise<void> {
    const { info } = this;
    if (this.dirtyTail) {
      await this.handle.truncate(info.size);
      this.dirtyTail = false;
    }
    let offset = 0;
    try {
      while (offset < bytes.length) {
        const { bytesWritten } = await this.handle.write(bytes, offset, bytes.length - offset, info.size + offset);
        offset += bytesWritten;
        this.counters.writes++;
      }
    } catch (error) {
      if (offset > 0) this.dirtyTail = true;
      throw error;
    }
    info.size += bytes.length;
    info.crc = crc32(bytes, info.crc);
    this.counters.bytesWritten += bytes.length;
    if (bytes.length > 0) this.unsynced = true;
  }

  /** Forgets every byte written after `mark` (a failed batch): cut now, or before the next write if that fails too. */
  async cutBack(mark: SegmentMark): Promise<void> {
    const grew = this.info.size !== mark.size || this.dirtyTail;
    this.info.size = mark.size;
    this.info.crc = mark.crc;
    if (!grew) return;
    this.dirtyTail = true;
    try {
      await this.handle.truncate(mark.size);
      this.dirtyTail = false;
    } catch {
      // Still marked: the next append cuts first, and fails (writing nothing) while it cannot.
    }
  }

  /** fsyncs what was written since the last fsync (with `force`, whether or not anything was). */
  async sync(force = false): Promise<void> {
    if (!this.unsynced && !force) return;
    this.unsynced = false;
    try {
      await this.handle.sync();
    } catch (error) {
      this.unsynced = true;
      throw error;
    }
    this.counters.fsyncs++;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
