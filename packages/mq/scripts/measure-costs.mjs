#!/usr/bin/env node
// The per-item memory costs the node's memory budget charges (src/budget.ts), measured on the
// real local backend (from dist/, so build first) against process.memoryUsage():
//   node --expose-gc packages/mq/scripts/measure-costs.mjs [count] [engine: memory|log]
// Prints JSON: live heap (heapUsed + external) per ready message over its body, per leased
// message over a ready one, per idempotency key over its characters, and per empty queue.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@streampy/runtime';
import { MessageBatch } from '../dist/backend.js';
import { LocalBackend } from '../dist/local/backend.js';
import { NoncePool } from '../dist/local/nonces.js';
import { Scheduler } from '../dist/scheduler.js';
import { createLogEngine } from '../dist/storage/log.js';
import { createMemoryEngine } from '../dist/storage/memory.js';

const count = Number(process.argv[2] ?? 200_000);
const engineKind = process.argv[3] ?? 'memory';
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const gc = globalThis.gc;
const silent = { name: 'm', level: 'error', enabled: () => false, debug() {}, info() {}, warn() {}, error() {}, close: async () => {} };
const dir = mkdtempSync(join(tmpdir(), 'streampy-costs-'));
let queues = 0;

function live() {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const context = {
  clock: systemClock,
  scheduler: new Scheduler(systemClock),
  nonces: new NoncePool(),
  limits: { maxMessages: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER, maxDeliveries: 5, dedupWindowMs: 3_600_000, maxDedupKeys: Number.MAX_SAFE_INTEGER },
  deadLetters: { route() {} },
};

async function open() {
  const name = `q${queues++}`;
  const engine = engineKind === 'log' ? createLogEngine({ dir: join(dir, name), fsync: 'never', logger: silent }) : createMemoryEngine();
  return LocalBackend.open(name, engine, context, false);
}

/** Awaits what a put or get answered when the engine makes it wait (the log engine). */
async function settle(values) {
  await Promise.all(values.filter((value) => value instanceof Promise));
}

const bodyBytes = 16;
const body = (i) => Buffer.from(`m${String(i).padStart(bodyBytes - 1, '0')}`);

// Ready messages.
const q = await open();
let before = live();
for (let i = 0; i < count; i += 1000) {
  const pending = [];
  for (let k = i; k < i + 1000 && k < count; k++) pending.push(q.put(body(k), undefined));
  await settle(pending);
}
const readyBytes = (live() - before) / count;

// The same messages leased.
before = live();
for (let taken = 0; taken < count; ) {
  const batch = new MessageBatch().reset(Infinity, 0);
  q.reserve(1000, 3_600_000, batch);
  taken += batch.length;
  if (batch.length === 0) break;
}
const leasedBytes = (live() - before) / count;

// Idempotency keys of 16 characters (their messages taken away again, so only keys stay).
const k = await open();
before = live();
for (let i = 0; i < count; i += 1000) {
  const pending = [];
  for (let n = i; n < i + 1000 && n < count; n++) pending.push(k.put(Buffer.from('x'), `key-${String(n).padStart(12, '0')}`));
  await settle(pending);
}
const keyedBytes = (live() - before) / count;
before = live();
for (let left = count; left > 0; ) {
  const batch = new MessageBatch().reset(Infinity, 0);
  await k.get(1000, batch);
  if (batch.length === 0) break;
  left -= batch.length;
}
const keyBytes = (live() - before + keyedBytes * count) / count;

// Empty queues.
const empty = [];
before = live();
for (let i = 0; i < 200; i++) empty.push(await open());
const queueBytes = (live() - before) / 200;

context.scheduler.stop();
for (const backend of [q, k, ...empty]) await backend.close();
rmSync(dir, { recursive: true, force: true });
const round = (n) => Math.round(n);
process.stdout.write(
  `${JSON.stringify({
    engine: engineKind,
    count,
    bodyBytes,
    readyOverheadPerMessage: round(readyBytes - bodyBytes),
    leaseOverheadPerMessage: round(leasedBytes),
    keyOverheadPerKey: round(keyBytes - 16),
    bytesPerEmptyQueue: round(queueBytes),
  })}\n`,
);
