#!/usr/bin/env node
// Memory per queued message: fills a node (in this process) with N 16-byte messages over UDP,
// many PUT frames per datagram, and prints the RSS and heap growth per message as JSON.
// Run after a build: node --expose-gc packages/mq/scripts/measure-memory.mjs [count]
import { createSocket } from 'node:dgram';
import { setImmediate } from 'node:timers/promises';
import { encodeFrames } from '@streampy/codec';
import { createQueueNode } from '../dist/index.js';

const count = Number(process.argv[2] ?? 1_000_000);
const perDatagram = 500;
const gc = globalThis.gc ?? (() => {});
const silent = { name: 'm', level: 'error', file: undefined, enabled: () => false, debug() {}, info() {}, warn() {}, error() {}, close: async () => {} };

const node = await createQueueNode({ logger: silent });
const socket = createSocket('udp4');
await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
let replies = 0;
socket.on('message', () => replies++);

const measure = () => {
  gc();
  const m = process.memoryUsage();
  // `external` already includes `arrayBuffers` (the typed-array columns).
  return { rss: m.rss, heap: m.heapUsed + m.external };
};
const before = measure();
let sent = 0;
while (sent < count) {
  const payloads = [];
  for (let i = 0; i < perDatagram && sent < count; i++, sent++) payloads.push(`PUT:m${String(sent).padStart(15, '0')}`);
  socket.send(encodeFrames(payloads), node.address.port, '127.0.0.1');
  // Wait for the replies so the kernel never drops a datagram.
  const target = Math.ceil(sent / perDatagram);
  for (let spins = 0; replies < target && spins < 10_000; spins++) await setImmediate();
}
const held = node.stats().queues.default.size;
const after = measure();
socket.close();
await node.close();
process.stdout.write(
  `${JSON.stringify({
    messages: held,
    bodyBytes: 16,
    rssBytesPerMessage: Math.round((after.rss - before.rss) / held),
    heapBytesPerMessage: Math.round((after.heap - before.heap) / held),
    overheadPerMessage: Math.round((after.heap - before.heap) / held) - 16,
  })}\n`,
);
