import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '@streampy/testing';
import { MessageRing, emptySlot } from '../src/local/ring.js';
import { DeadlineHeap, Scheduler, type Deadline, type Timed } from '../src/scheduler.js';

describe('MessageRing', () => {
  it('behaves like an array deque through growth, wrap-around and shrinking', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('back' as const), n: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ kind: fc.constant('front' as const), n: fc.integer({ min: 1, max: 50 }) }),
      fc.record({ kind: fc.constant('shift' as const), n: fc.integer({ min: 1, max: 3000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const ring = new MessageRing();
        const model: number[] = [];
        const slot = emptySlot();
        let seq = 0;
        for (const { kind, n } of ops) {
          for (let i = 0; i < n; i++) {
            if (kind === 'shift') {
              const had = model.length > 0;
              if (ring.shift(slot) !== had) expect.fail(`shift returned ${String(!had)} with ${model.length} queued`);
              if (had) {
                const e = model.shift() as number;
                const same = slot.seq === e && slot.body === `b${e}` && slot.bytes === e % 1000 && slot.enqueuedAt === e * 2 && slot.deliveries === e % 7;
                if (!same) expect(slot).toEqual({ seq: e, body: `b${e}`, bytes: e % 1000, enqueuedAt: e * 2, deliveries: e % 7 });
              }
            } else {
              seq++;
              if (kind === 'back') {
                ring.pushBack(seq, `b${seq}`, seq % 1000, seq * 2, seq % 7);
                model.push(seq);
              } else {
                ring.pushFront(seq, `b${seq}`, seq % 1000, seq * 2, seq % 7);
                model.unshift(seq);
              }
            }
          }
          expect(ring.length).toBe(model.length);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('DeadlineHeap', () => {
  it('pops in deadline order after arbitrary pushes, removals and updates', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.nat(3), fc.integer({ min: 0, max: 1000 })), { maxLength: 200 }), (ops) => {
        const heap = new DeadlineHeap<Timed & { id: number }>();
        const live = new Map<number, Timed & { id: number }>();
        ops.forEach(([dueAt, action, other], id) => {
          const item = { id, dueAt, heapIndex: -1 };
          heap.push(item);
          live.set(id, item);
          const target = live.get(other % (id + 1));
          if (!target) return;
          if (action === 1) {
            heap.remove(target);
            live.delete(target.id);
          } else if (action === 2) {
            target.dueAt = other;
            heap.update(target);
          }
        });
        expect(heap.size).toBe(live.size);
        const popped: number[] = [];
        for (let item = heap.pop(); item; item = heap.pop()) {
          expect(item.heapIndex).toBe(-1);
          popped.push(item.dueAt);
        }
        expect(popped).toEqual([...live.values()].map((item) => item.dueAt).sort((a, b) => a - b));
      }),
      { numRuns: 200 },
    );
  });
});

describe('Scheduler', () => {
  it('expires deadlines in order on its clock, one timer at a time, and never after cancel or stop', () => {
    const clock = new ManualClock(1_000);
    const scheduler = new Scheduler(clock);
    const expired: string[] = [];
    const deadline = (name: string, dueAt: number): Deadline => ({ dueAt, heapIndex: -1, expire: () => expired.push(`${name}@${clock.now()}`) });
    const late = deadline('late', 1_300);
    const early = deadline('early', 1_100);
    const cancelled = deadline('cancelled', 1_150);
    scheduler.schedule(late);
    scheduler.schedule(early);
    scheduler.schedule(cancelled);
    expect(clock.pending).toBe(1);
    scheduler.cancel(cancelled);
    clock.advance(150);
    expect(expired).toEqual(['early@1100']);
    // Moved later before it fell due, as an EXTEND does.
    late.dueAt = 1_500;
    scheduler.schedule(late);
    clock.advance(250);
    expect(expired).toEqual(['early@1100']);
    clock.advance(100);
    expect(expired).toEqual(['early@1100', 'late@1500']);
    scheduler.schedule(deadline('stopped', 1_600));
    scheduler.stop();
    clock.advance(1_000);
    expect(expired).toHaveLength(2);
    expect(scheduler.size).toBe(0);
  });
});
