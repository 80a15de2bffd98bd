/* global TextEncoder, TextDecoder */
// The protocol rows of `pnpm bench`: the codec's request parser, reply reader, request encoder
// and reply writer, each against the same information carried as JSON (JSON.parse of the
// decoded text, or JSON.stringify then UTF-8): what a plain JSON wire would cost in the same loop.
import { ReplyWriter, encodeFrames, encodeRequestFrameInto, parseReply, parseRequest } from '../dist/index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const body16 = 'ping-pong-0123ab';
const json = (value) => encoder.encode(JSON.stringify(value));
const fromJson = (bytes) => JSON.parse(decoder.decode(bytes));

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

const items = Array.from({ length: 10 }, (_, i) => `3k9a${i}.1.Nonce123456789ab 1:${body16}`);
const typed = { verb: 'GET', id: 'x' };
const target = new Uint8Array(65_536);
const writer = new ReplyWriter(65_507);
const bodyBytes = encoder.encode(body16);
const putRequest = { verb: 'PUT', body: bodyBytes };

const readReply = (payload) => parseReply(payload, typed, false);

/** [name, our payload, the same information as JSON, our parser]. */
const parses = [
  ['parse request #id PUT:16 B', encoder.encode(`#k3x1a PUT:${body16}`), { id: 'k3x1a', verb: 'PUT', body: body16 }, parseRequest],
  ['parse request #id RESERVE max lease', encoder.encode('#k3x1a RESERVE max=10 lease=30000'), { id: 'k3x1a', verb: 'RESERVE', max: 10, leaseMs: 30000 }, parseRequest],
  ['parse request #id ACK token', encoder.encode('#k3x1a ACK 3k9ab.2.Nonce123456789ab'), { id: 'k3x1a', verb: 'ACK', token: '3k9ab.2.Nonce123456789ab' }, parseRequest],
  ['parse reply #id PUT n bytes', encoder.encode('#k3x1a PUT 16 bytes'), { id: 'k3x1a', kind: 'put', bytes: 16, duplicate: false }, readReply],
  ['parse reply #id MSG:16 B', encoder.encode(`#k3x1a MSG:${body16}`), { id: 'k3x1a', kind: 'message', body: body16 }, readReply],
  [
    'parse reply LEASED 10 x 16 B',
    concat(encoder.encode('#k3x1a LEASED 10:'), encodeFrames(items)),
    { id: 'k3x1a', kind: 'leased', deliveries: items.map((_, i) => ({ token: `3k9a${i}.1.Nonce123456789ab`, deliveries: 1, body: body16 })) },
    readReply,
  ],
].map(([name, ours, equivalent, parse]) => ({
  name,
  setup: () => [ours, json(equivalent)],
  ours: (bytes) => (parse(bytes) === undefined ? 0 : 1),
  base: (bytes) => (fromJson(bytes) === undefined ? 0 : 1),
}));

export const protocolCases = [
  ...parses,
  {
    name: 'encode request frame PUT 16 B',
    ours: () => encodeRequestFrameInto(target, 0, putRequest, 'k3x1a'),
    base: () => encoder.encodeInto(JSON.stringify({ id: 'k3x1a', verb: 'PUT', body: body16 }), target).written,
  },
  {
    name: 'write reply #id MSG:16 B (text)',
    ours: () => {
      writer.messageText('k3x1a', body16, 16, false);
      const n = writer.length;
      writer.reset();
      return n;
    },
    base: () => encoder.encodeInto(JSON.stringify({ id: 'k3x1a', kind: 'message', body: body16 }), target).written,
  },
];
