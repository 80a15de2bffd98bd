import fc from 'fast-check';
import { PROTOCOL_LIMITS, WIRE_ERROR_CODES, type NodeStats, type QueueStats, type Reply, type Request, type WireErrorCode } from '../src/index.js';

/** Full Unicode without lone surrogates (which UTF-8 cannot carry), empty included. */
export const text = fc.string({ unit: 'binary', maxLength: 200 });
export const bytes = fc.uint8Array({ maxLength: 600 });

export const name = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);
export const id = fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/);
const batch = fc.integer({ min: 1, max: PROTOCOL_LIMITS.maxBatch });
const leaseMs = fc.integer({ min: 1, max: PROTOCOL_LIMITS.maxLeaseMs });

/** `record` drops keys whose arbitrary produced undefined, as exactOptionalPropertyTypes wants. */
function withBase<T extends object>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.tuple(arbitrary, fc.option(id, { nil: undefined }), fc.option(name, { nil: undefined })).map(([request, requestId, queue]) => ({
    ...request,
    ...(requestId === undefined ? {} : { id: requestId }),
    ...(queue === undefined ? {} : { queue }),
  }));
}

/** A valid request of any verb with random arguments. */
export const request: fc.Arbitrary<Request> = fc.oneof(
  withBase(fc.record({ verb: fc.constant('PUT' as const), body: bytes, key: name }, { requiredKeys: ['verb', 'body'] })),
  withBase(fc.record({ verb: fc.constant('GET' as const), max: batch }, { requiredKeys: ['verb'] })),
  withBase(fc.record({ verb: fc.constant('SIZE' as const) })),
  withBase(fc.record({ verb: fc.constant('STATS' as const) })),
  withBase(fc.record({ verb: fc.constant('RESERVE' as const), max: batch, leaseMs }, { requiredKeys: ['verb'] })),
  withBase(fc.record({ verb: fc.constant('ACK' as const), token: name })),
  withBase(fc.record({ verb: fc.constant('NACK' as const), token: name, delayMs: fc.integer({ min: 0, max: PROTOCOL_LIMITS.maxLeaseMs }) }, { requiredKeys: ['verb', 'token'] })),
  withBase(fc.record({ verb: fc.constant('EXTEND' as const), token: name, leaseMs })),
);

export const wireCode = fc.constantFrom(...(Object.keys(WIRE_ERROR_CODES) as WireErrorCode[]));

const count = fc.nat();
const queueStats: fc.Arbitrary<QueueStats> = fc.record({
  size: count,
  leased: count,
  delayed: count,
  bytes: count,
  puts: count,
  gets: count,
  reserves: count,
  acks: count,
  nacks: count,
  redeliveries: count,
  deadLettered: count,
  duplicates: count,
  rejectedFull: count,
});

/** A node's STATS, sometimes with `recent` and with fields a newer node might add. */
export const nodeStats: fc.Arbitrary<NodeStats> = fc
  .tuple(
    fc.record({
      address: fc.constant('127.0.0.1:7000'),
      engine: fc.constantFrom('memory', 'log'),
      uptimeMs: count,
      datagramsIn: count,
      datagramsOut: count,
      framesIn: count,
      badFrames: count,
      unknownVerbs: count,
      badRequests: count,
      errors: count,
      sendErrors: count,
      deadLettersForwarded: count,
      deadLettersPending: count,
      queues: fc.dictionary(name, queueStats, { maxKeys: 3 }),
    }),
    fc.option(fc.array(text, { maxLength: 5 }), { nil: undefined }),
    fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
  )
  .map(([stats, recent, extra]) => ({ ...stats, ...(recent === undefined ? {} : { recent }), ...(extra === undefined ? {} : { newerCounter: extra }) }));

function withReplyId(arbitrary: fc.Arbitrary<Reply>): fc.Arbitrary<Reply> {
  return fc.tuple(arbitrary, fc.option(id, { nil: undefined })).map(([r, replyId]) => (replyId === undefined ? r : { ...r, id: replyId }));
}

/** A reply of any kind, with or without an id. */
export const reply: fc.Arbitrary<Reply> = withReplyId(
  fc.oneof(
    fc.record({ kind: fc.constant('put' as const), bytes: fc.nat(), duplicate: fc.boolean() }),
    fc.record({ kind: fc.constant('message' as const), body: bytes }),
    fc.record({ kind: fc.constant('empty' as const) }),
    fc.record({ kind: fc.constant('messages' as const), bodies: fc.array(bytes, { maxLength: 5 }) }),
    fc.record({
      kind: fc.constant('leased' as const),
      deliveries: fc.array(fc.record({ token: name, deliveries: fc.integer({ min: 1, max: 1e6 }), body: bytes }), { maxLength: 5 }),
    }),
    fc.record({ kind: fc.constant('size' as const), size: fc.nat() }),
    fc.record({ kind: fc.constant('ok' as const) }),
    fc.record({ kind: fc.constant('stats' as const), stats: nodeStats }),
    fc.record({ kind: fc.constant('error' as const), code: wireCode, message: text }),
  ),
);

/** A small, valid STATS body for example-based tests. */
export const SAMPLE_STATS: NodeStats = {
  address: '127.0.0.1:7000',
  engine: 'memory',
  uptimeMs: 12,
  datagramsIn: 3,
  datagramsOut: 3,
  framesIn: 3,
  badFrames: 0,
  unknownVerbs: 0,
  badRequests: 0,
  errors: 0,
  sendErrors: 0,
  deadLettersForwarded: 0,
  deadLettersPending: 0,
  queues: {
    default: { size: 1, leased: 0, delayed: 0, bytes: 4, puts: 1, gets: 0, reserves: 0, acks: 0, nacks: 0, redeliveries: 0, deadLettered: 0, duplicates: 0, rejectedFull: 0 },
  },
  recent: ['ping'],
};
