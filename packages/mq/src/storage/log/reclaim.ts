/**
 * What deleting sealed segments with nothing live takes. Before the unlink, one durable write
 * into the active segment carries forward what must outlive them:
 * - a `cleared` record per older segment their removes point into (else deleting them would
 *   resurrect those messages);
 * - the idempotency keys they hold that are still inside the dedup window (else a retried put
 *   would be stored twice once its first copy's segment is gone);
 * - a `reclaimed` record naming them, so recovery tells a deleted segment from a missing one.
 */
import type { PendingRemove, SegmentInfo, SegmentLedger } from './ledger.js';
import { MAX_KEYS_PER_RECORD, encodeCleared, encodeKeys, encodeReclaimed, toIntervals } from './records.js';

export interface ReclaimPlan {
  readonly doomed: readonly SegmentInfo[];
  /** Segments that get a `cleared` record. */
  readonly targets: readonly SegmentInfo[];
  readonly keys: readonly (readonly [key: string, at: number])[];
  /** The records to write (and sync) before any unlink. */
  readonly bytes: Buffer;
  /** Some candidates wait for a pending remove to be written: reclaim again after the next batch. */
  readonly again: boolean;
}

/**
 * Plans the deletion of every reclaimable segment but those a pending (not yet written) remove
 * points into. `keyHorizon`: keys enqueued at or before it have left the dedup window.
 */
export function planReclaim(ledger: SegmentLedger, activeId: number, pendingRemoves: readonly PendingRemove[], keyHorizon: number): ReclaimPlan | undefined {
  const pendingFrom = new Set(pendingRemoves.map((remove) => remove.from));
  const candidates = ledger.reclaimable(activeId);
  const doomed = candidates.filter((segment) => !pendingFrom.has(segment.id));
  if (doomed.length === 0) return undefined;
  const targets = new Set<SegmentInfo>();
  for (const segment of doomed) for (const target of ledger.dependencies(segment)) targets.add(target);
  const keys = keysToCarry(doomed, keyHorizon);
  const chunks: Buffer[] = [];
  for (const target of targets) {
    // A message whose remove is still pending is not durably removed: that write may fail.
    const notRemoved = [...target.live, ...pendingRemoves.filter((remove) => remove.from === target.id).map((remove) => remove.seq)];
    chunks.push(encodeCleared(target.id, toIntervals(notRemoved)));
  }
  for (let i = 0; i < keys.length; i += MAX_KEYS_PER_RECORD) chunks.push(encodeKeys(keys.slice(i, i + MAX_KEYS_PER_RECORD)));
  chunks.push(encodeReclaimed(doomed.map((segment) => segment.id)));
  return { doomed, targets: [...targets], keys, bytes: Buffer.concat(chunks), again: doomed.length < candidates.length };
}

/** The keys of `segments` enqueued after `horizon`, each once with its latest time. */
function keysToCarry(segments: readonly SegmentInfo[], horizon: number): [string, number][] {
  const keys = new Map<string, number>();
  for (const segment of segments) {
    for (const [i, key] of segment.keys.entries()) {
      const at = segment.keyTimes[i]!;
      if (at > horizon && (keys.get(key) ?? -Infinity) < at) keys.set(key, at);
    }
  }
  return [...keys];
}
