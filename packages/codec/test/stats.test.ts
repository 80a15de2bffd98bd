import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError, parseNodeStats } from '../src/index.js';
import { SAMPLE_STATS, nodeStats } from './arbitraries.js';
import { expectCodecError } from './support.js';

describe('parseNodeStats', () => {
  it('accepts a node STATS body, the same object, extra fields kept', () => {
    const body = JSON.parse(JSON.stringify({ ...SAMPLE_STATS, newer: { counter: 1 } })) as unknown;
    expect(parseNodeStats(body)).toBe(body);
    expect(parseNodeStats(body)).toMatchObject({ newer: { counter: 1 } });
    const { recent: _recent, ...withoutRecent } = SAMPLE_STATS;
    expect(parseNodeStats(withoutRecent)).toEqual(withoutRecent);
    expect(parseNodeStats({ ...SAMPLE_STATS, queues: {} }).queues).toEqual({});
    const durable = { ...SAMPLE_STATS.queues.default, extends: 3, storage: { fsyncs: 12, writeFailures: 0 } };
    expect(parseNodeStats({ ...SAMPLE_STATS, queues: { default: durable } }).queues.default?.storage?.fsyncs).toBe(12);
    const memory = { limit: 512, used: 100, peak: 200, refused: 3 };
    expect(parseNodeStats({ ...SAMPLE_STATS, memory }).memory).toEqual(memory);
  });

  it('accepts every well-formed STATS body', () => {
    fc.assert(
      fc.property(nodeStats, (stats) => {
        const body = JSON.parse(JSON.stringify(stats)) as unknown;
        expect(parseNodeStats(body)).toEqual(body);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses what is not an object', () => {
    for (const value of [null, undefined, 1, 'x', [], [SAMPLE_STATS], true]) {
      const error = expectCodecError(() => parseNodeStats(value), 'ERR_BAD_REPLY');
      expect(error.message).toBe('STATS reply is not a JSON object');
    }
  });

  it('refuses a missing field', () => {
    for (const field of ['address', 'engine', 'uptimeMs', 'errors', 'deadLettersPending', 'queues'] as const) {
      const { [field]: _gone, ...rest } = SAMPLE_STATS;
      const error = expectCodecError(() => parseNodeStats(rest), 'ERR_BAD_REPLY');
      expect(error.message, field).toContain(field);
    }
    const { size: _size, ...queue } = SAMPLE_STATS.queues.default as object as Record<string, number>;
    expect(expectCodecError(() => parseNodeStats({ ...SAMPLE_STATS, queues: { default: queue } }), 'ERR_BAD_REPLY').message).toContain('queues.default.size');
  });

  it('refuses fields of the wrong type', () => {
    const wrong: Record<string, unknown>[] = [
      { address: 7000 },
      { engine: null },
      { uptimeMs: '12' },
      { badFrames: null },
      { queues: [] },
      { queues: 'default' },
      { queues: { default: 3 } },
      { queues: { default: { ...SAMPLE_STATS.queues.default, acks: '0' } } },
      { recent: 'ping' },
      { recent: [1] },
      { queues: { default: { ...SAMPLE_STATS.queues.default, extends: '2' } } },
      { memory: 5 },
      { deniedDatagrams: '1' },
      { authFailures: { badMac: null } },
      { memory: { limit: 1, used: 0, peak: 0 } },
      { queues: { default: { ...SAMPLE_STATS.queues.default, storage: [] } } },
      { queues: { default: { ...SAMPLE_STATS.queues.default, storage: { fsyncs: 'many' } } } },
    ];
    for (const patch of wrong) {
      expect(() => parseNodeStats({ ...SAMPLE_STATS, ...patch }), JSON.stringify(patch)).toThrow(CodecError);
    }
  });
});
