import { describe, expect, it } from 'vitest';
import {
  CodecError,
  SEED_VERBS,
  UnknownVerbError,
  WIRE_ERROR_CODES,
  decodeFrame,
  decodeText,
  encodeFrame,
  encodeReply,
  encodeRequest,
  errorCodeOf,
  isSeedForm,
  isWireErrorCode,
  parseReply,
  parseRequest,
  replyId,
  type Reply,
  type Request,
} from '../src/index.js';
import { SAMPLE_STATS } from './arbitraries.js';
import { ascii, expectCodecError, readVectors, utf8 } from './support.js';

const text = (payload: Uint8Array): string => decodeText(payload);
const request = (payload: string): Request => parseRequest(utf8(payload));

describe('parseRequest', () => {
  it('reads the seed commands exactly as the prototype did', () => {
    expect(request('PUT:ping')).toEqual({ verb: 'PUT', body: utf8('ping') });
    expect(request('PUT:a:b:c')).toEqual({ verb: 'PUT', body: utf8('a:b:c') });
    expect(request('PUT:')).toEqual({ verb: 'PUT', body: new Uint8Array(0) });
    expect(request('PUT')).toEqual({ verb: 'PUT', body: new Uint8Array(0) });
    expect(request('GET')).toEqual({ verb: 'GET' });
    expect(request('GET:whatever')).toEqual({ verb: 'GET' });
    expect(request('SIZE')).toEqual({ verb: 'SIZE' });
  });

  it('reads ids, named queues and arguments', () => {
    expect(request('#r1 PUT key=k-1 q=jobs:body with spaces')).toEqual({ id: 'r1', queue: 'jobs', verb: 'PUT', key: 'k-1', body: utf8('body with spaces') });
    expect(request('#7 GET max=10')).toEqual({ id: '7', verb: 'GET', max: 10 });
    expect(request('RESERVE max=5 lease=30000 q=in')).toEqual({ queue: 'in', verb: 'RESERVE', max: 5, leaseMs: 30_000 });
    expect(request('ACK t.1')).toEqual({ verb: 'ACK', token: 't.1' });
    expect(request('NACK t.1 delay=0')).toEqual({ verb: 'NACK', token: 't.1', delayMs: 0 });
    expect(request('EXTEND t.1 lease=5')).toEqual({ verb: 'EXTEND', token: 't.1', leaseMs: 5 });
    expect(request('STATS')).toEqual({ verb: 'STATS' });
  });

  it('keeps the PUT body as a view of the payload', () => {
    const payload = utf8('PUT:xyz');
    const parsed = parseRequest(payload);
    if (parsed.verb !== 'PUT') throw new Error('expected PUT');
    expect(parsed.body.buffer).toBe(payload.buffer);
  });

  it('rejects unknown verbs, case-sensitively, with UnknownVerbError', () => {
    for (const payload of ['put:x', 'Get', 'DELETE', '', ' GET', '#r1', '#r1 ']) {
      const error = expectCodecError(() => request(payload), 'ERR_UNKNOWN_VERB');
      expect(error).toBeInstanceOf(UnknownVerbError);
    }
    expect((expectCodecError(() => request('FLY:x'), 'ERR_UNKNOWN_VERB') as UnknownVerbError).verb).toBe('FLY');
  });

  it('rejects malformed arguments with ERR_BAD_REQUEST', () => {
    const bad = [
      'GET max=0',
      'GET max=1001',
      'GET max=-1',
      'GET max=1e3',
      'GET max=',
      'GET extra',
      'GET max=1 max=2',
      'SIZE q=',
      'SIZE q=bad/name',
      `SIZE q=${'x'.repeat(65)}`,
      `#${'i'.repeat(41)} GET`,
      '# GET',
      'PUT lease=3:x',
      'ACK',
      'ACK a b',
      'NACK t delay=86400001',
      'EXTEND t',
      'EXTEND t lease=0',
      'RESERVE lease=86400001',
      'STATS now',
      'GET __proto__=1',
      'GET constructor=1',
      'GET toString=1',
      'PUT  :x',
    ];
    for (const payload of bad) expectCodecError(() => request(payload), 'ERR_BAD_REQUEST');
  });

  it('encodeRequest writes the canonical form', () => {
    expect(text(encodeRequest({ verb: 'PUT', body: utf8('ping') }))).toBe('PUT:ping');
    expect(text(encodeRequest({ verb: 'GET' }))).toBe('GET');
    expect(text(encodeRequest({ verb: 'SIZE' }))).toBe('SIZE');
    expect(text(encodeRequest({ id: 'a1', verb: 'NACK', token: 't', delayMs: 5, queue: 'q1' }))).toBe('#a1 NACK t delay=5 q=q1');
    expect(text(encodeRequest({ verb: 'RESERVE', max: 2, leaseMs: 100 }))).toBe('RESERVE max=2 lease=100');
  });
});

describe('seed form', () => {
  it('is a seed verb without id, queue or arguments', () => {
    expect(SEED_VERBS).toEqual(['PUT', 'GET', 'SIZE']);
    expect(isSeedForm(request('PUT:x'))).toBe(true);
    expect(isSeedForm(request('PUT'))).toBe(true);
    expect(isSeedForm(request('GET'))).toBe(true);
    expect(isSeedForm(request('GET:junk'))).toBe(true);
    expect(isSeedForm(request('SIZE'))).toBe(true);
    for (const typed of ['#1 PUT:x', 'PUT key=k:x', 'PUT q=a:x', 'GET max=2', '#1 GET', 'SIZE q=a', '#1 SIZE', 'RESERVE', 'STATS', 'ACK t', 'NACK t', 'EXTEND t lease=1']) {
      expect(isSeedForm(request(typed)), typed).toBe(false);
    }
  });

  interface Scenario {
    name: string;
    steps: { send: string; reply: string }[];
  }

  /** The smallest queue that answers through the codec: enough to replay the seed scenarios. */
  function answer(queue: Uint8Array[], frame: Uint8Array): Uint8Array {
    const req = parseRequest(decodeFrame(frame));
    let reply: Reply;
    switch (req.verb) {
      case 'PUT':
        queue.push(req.body.slice());
        reply = { kind: 'put', bytes: req.body.length, duplicate: false };
        break;
      case 'GET': {
        const body = queue.shift();
        reply = body === undefined ? { kind: 'empty' } : { kind: 'message', body };
        break;
      }
      case 'SIZE':
        reply = { kind: 'size', size: queue.length };
        break;
      default:
        throw new Error(`not a seed verb: ${req.verb}`);
    }
    return encodeFrame(encodeReply(reply, isSeedForm(req)));
  }

  const { scenarios } = readVectors<{ scenarios: Scenario[] }>('commands.json');

  it.each(scenarios.map((s) => [s.name, s] as const))('seed replies are byte-exact: %s', (_name, scenario) => {
    const queue: Uint8Array[] = [];
    for (const step of scenario.steps) {
      const sent = encodeFrame(step.send);
      expect(isSeedForm(parseRequest(decodeFrame(sent)))).toBe(true);
      expect(answer(queue, sent), `${step.send} -> ${step.reply}`).toEqual(encodeFrame(step.reply));
    }
  });

  it('seed replies on the wire', () => {
    expect(text(encodeReply({ kind: 'put', bytes: 4, duplicate: true }, true))).toBe('PUT 4 bytes');
    expect(encodeFrame(encodeReply({ kind: 'empty' }, true))).toEqual(ascii('10'));
    expect(encodeFrame(encodeReply({ kind: 'size', size: 0 }, true))).toEqual(ascii('110'));
    expect(encodeReply({ kind: 'message', body: utf8('é') }, true)).toEqual(utf8('é'));
    expect(text(encodeReply({ kind: 'error', code: 'UNKNOWN_VERB', message: 'unknown verb "X"' }, true))).toBe('ERR UNKNOWN_VERB unknown verb "X"');
  });

  it('parses seed replies by the verb they answer', () => {
    expect(parseReply(utf8('PUT 4 bytes'), { verb: 'PUT', body: utf8('ping') })).toEqual({ kind: 'put', bytes: 4, duplicate: false });
    expect(parseReply(utf8('ping'), { verb: 'GET' })).toEqual({ kind: 'message', body: utf8('ping') });
    expect(parseReply(utf8('EMPTY'), { verb: 'GET' })).toEqual({ kind: 'message', body: utf8('EMPTY') });
    expect(parseReply(new Uint8Array(0), { verb: 'GET' })).toEqual({ kind: 'empty' });
    expect(parseReply(utf8('12'), { verb: 'SIZE' })).toEqual({ kind: 'size', size: 12 });
    expect(parseReply(utf8('ERR FULL queue is full'), { verb: 'PUT', body: utf8('x') })).toEqual({ kind: 'error', code: 'FULL', message: 'queue is full' });
    expectCodecError(() => parseReply(utf8('PUT x bytes'), { verb: 'PUT', body: utf8('x') }), 'ERR_BAD_REPLY');
    expectCodecError(() => parseReply(utf8('SIZE 3'), { verb: 'SIZE' }), 'ERR_BAD_REPLY');
    expectCodecError(() => parseReply(Uint8Array.of(0xff), { verb: 'SIZE' }), 'ERR_INVALID_UTF8');
  });
});

describe('typed replies', () => {
  const typed: Request = { id: 'r9', verb: 'GET', max: 2 };

  it('say what they are in a status word and echo the id', () => {
    const cases: [Reply, string][] = [
      [{ kind: 'put', id: 'r9', bytes: 4, duplicate: false }, '#r9 PUT 4 bytes'],
      [{ kind: 'put', bytes: 4, duplicate: true }, 'PUT 4 bytes DUP'],
      [{ kind: 'message', id: 'r9', body: utf8('a:b') }, '#r9 MSG:a:b'],
      [{ kind: 'empty', id: 'r9' }, '#r9 EMPTY'],
      [{ kind: 'size', size: 3 }, 'SIZE 3'],
      [{ kind: 'ok', id: 'r9' }, '#r9 OK'],
      [{ kind: 'messages', bodies: [utf8('x'), utf8('')] }, 'MSGS 2:11x10'],
      [{ kind: 'leased', deliveries: [{ token: 't1', deliveries: 2, body: utf8('hi') }] }, 'LEASED 1:17t1 2:hi'],
      [{ kind: 'stats', stats: SAMPLE_STATS }, `STATS:${JSON.stringify(SAMPLE_STATS)}`],
      [{ kind: 'error', id: 'r9', code: 'BAD_REQUEST', message: 'max must be between 1 and 1000, got 0' }, '#r9 ERR BAD_REQUEST max must be between 1 and 1000, got 0'],
    ];
    for (const [reply, wire] of cases) {
      expect(text(encodeReply(reply))).toBe(wire);
      expect(parseReply(utf8(wire), typed)).toEqual(reply);
    }
  });

  it('replyId reads the correlation id cheaply', () => {
    expect(replyId(utf8('#r9 OK'))).toBe('r9');
    expect(replyId(utf8('OK'))).toBeUndefined();
    expect(replyId(utf8('# OK'))).toBeUndefined();
    expect(replyId(utf8('#r9'))).toBeUndefined();
  });

  it('rejects malformed replies with ERR_BAD_REPLY', () => {
    for (const wire of ['', 'NOPE', 'PUT four bytes', 'SIZE', 'SIZE -1', 'MSGS 2:11x', 'LEASED 1:13abc', 'STATS:[1]', 'STATS:{', 'ERR', 'ERR lower case']) {
      expect(() => parseReply(utf8(wire), typed), wire).toThrow(CodecError);
    }
    expectCodecError(() => parseReply(utf8('MSGS 2:11x'), typed), 'ERR_BAD_REPLY');
    expectCodecError(() => parseReply(utf8('MSGS 1:15x'), typed), 'ERR_TRUNCATED');
  });

  it('maps an unknown wire error code to INTERNAL', () => {
    expect(parseReply(utf8('ERR WEIRD something'), typed)).toEqual({ kind: 'error', code: 'INTERNAL', message: 'something' });
  });
});

describe('wire error codes', () => {
  it('is one table, mapped to ERR_ codes', () => {
    expect(Object.keys(WIRE_ERROR_CODES).sort()).toEqual(['BAD_FRAME', 'BAD_REQUEST', 'FULL', 'INTERNAL', 'TOO_LARGE', 'UNAVAILABLE', 'UNKNOWN_LEASE', 'UNKNOWN_VERB']);
    expect(errorCodeOf('FULL')).toBe('ERR_FULL');
    expect(isWireErrorCode('FULL')).toBe(true);
    expect(isWireErrorCode('toString')).toBe(false);
    expect(isWireErrorCode('ERR_FULL')).toBe(false);
  });
});
