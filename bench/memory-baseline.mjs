#!/usr/bin/env node
// The memory baseline: a plain Node.js process holding N messages of B bytes as Buffers in an
// array, the least a JavaScript queue could keep per message. Prints one JSON line
// {"bytesPerMessage": ...} (RSS growth / N) and stays up until stopped, holding the messages.
import { readFileSync } from 'node:fs';

const count = Number(process.argv[2] ?? 1_000_000);
const bytes = Number(process.argv[3] ?? 16);
const rss = () => Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;

const before = rss();
const held = new Array(count);
for (let i = 0; i < count; i++) held[i] = Buffer.from(String(i).padStart(bytes, '0'), 'latin1');
const after = rss();
process.stdout.write(`${JSON.stringify({ bytesPerMessage: (after - before) / count, held: held.length })}\n`);
const keepAlive = setInterval(() => held.length, 60_000);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => clearInterval(keepAlive));
