#!/usr/bin/env node
// Soak of the durable queue node under SIGKILL: a real `streampy-mq --data-dir D --fsync F`
// serves a producer (PUT), a GET consumer and a RESERVE/ACK consumer at once, is SIGKILLed at a
// seeded random moment, and restarted on the same directory, again and again; at the end the
// queue is drained. Every message is numbered, so each one's story can be checked:
//   acknowledged  puts the node answered (PUT ...)
//   consumed      deliveries the node confirmed as final: a GET reply, an ACK OK, the final drain
//   lost          acknowledged puts never delivered at all
//   duplicated    a message delivered twice within one life of the node, or drained twice
//   resurrected   a message delivered again after a restart although its consumption was confirmed
//   vanished      a message handed out by RESERVE and never acknowledged that never came back
// (an ACK sent when the node died, with no reply, is "ambiguous": either outcome is right; and a
// GET is at-most-once by definition: one in flight at the kill may take its message along, with
// the removal done and no reply sent, so up to `getsUnanswered` losses are GET's, not storage's).
// Prints the counts; exit 1 when duplicated, resurrected, vanished or garbage is not 0, or more
// is lost than unanswered GETs can explain. Bounded by --cycles and --max-seconds. Run after a build:
//   node packages/mq/scripts/soak.mjs --cycles 20 --fsync always [--json]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom } from '@streampy/runtime';
import { call, diskBytes, drain, exitWithNodes, kill, killAll, openSocket, parseOptions, startNode, text, usageError } from './lib/durable-node.mjs';

const PROGRAM = 'soak.mjs';
const HELP = `Usage: ${PROGRAM} [options]

SIGKILLs a durable streampy-mq node again and again while a producer, a GET consumer and a
RESERVE/ACK consumer use it, and counts acknowledged, consumed, lost, duplicated, resurrected
and vanished messages.

Options:
  --cycles N         kill/restart cycles (default 20)
  --max-seconds N    stop starting cycles after this long (default 300)
  --fsync POLICY     always|never|MS, passed to the node (default always)
  --seed N           seed of the kill moments (default 1)
  --min-load-ms N    shortest load before a kill (default 100)
  --max-load-ms N    longest load before a kill (default 400)
  --producers N      puts in flight at once, one socket each (default 2)
  --getters N        GET consumers, one socket each (default 1)
  --reservers N      RESERVE/ACK consumers, one socket each (default 1)
  --data-dir DIR     data directory to use and keep (default: a temporary one, removed)
  --json             print the summary as one JSON line
  --help             print this help
`;

/** Leases outlive every cycle: a message comes back only through a restart, never by expiry. */
const LEASE_MS = 600_000;
const REQUEST_MS = 10_000;

function readOptions() {
  const options = parseOptions(PROGRAM, HELP, {
    cycles: { default: 20, min: 1 },
    'max-seconds': { default: 300, min: 1 },
    fsync: { type: 'string', default: 'always' },
    seed: { default: 1, min: 0 },
    'min-load-ms': { default: 100, min: 0 },
    'max-load-ms': { default: 400, min: 1 },
    producers: { default: 2, min: 1 },
    getters: { default: 1, min: 0 },
    reservers: { default: 1, min: 0 },
    'data-dir': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (options.maxLoadMs < options.minLoadMs) usageError(PROGRAM, '--max-load-ms must be >= --min-load-ms');
  return options;
}

/** Every message's story: was its put acknowledged, and each delivery with the node's life and outcome. */
class Ledger {
  nextN = 0;
  acknowledged = new Set();
  /** n -> [{ life, how: 'get' | 'reserve' | 'drain', outcome: 'consumed' | 'handed-out' | 'ambiguous' }] */
  deliveries = new Map();
  garbage = 0;
  getsUnanswered = 0;

  deliver(body, life, how, outcome) {
    const n = /^\d+$/.test(body) ? Number(body) : NaN;
    if (!(n < this.nextN)) {
      this.garbage++;
      return undefined;
    }
    const list = this.deliveries.get(n) ?? [];
    list.push({ life, how, outcome });
    this.deliveries.set(n, list);
    return list.at(-1);
  }

  summary() {
    const counts = { lost: 0, duplicated: 0, resurrected: 0, vanished: 0, ambiguous: 0, consumed: 0, unacknowledgedDelivered: 0 };
    for (const n of this.acknowledged) if (!this.deliveries.has(n)) counts.lost++;
    for (const [n, list] of this.deliveries) {
      if (!this.acknowledged.has(n)) counts.unacknowledgedDelivered++;
      const lives = new Map();
      let confirmedIn;
      let ambiguousIn;
      for (const [i, delivery] of list.entries()) {
        // Two deliveries in one life: stored twice (a lease outlives the life, so it cannot be a redelivery).
        if (lives.has(delivery.life)) counts.duplicated++;
        lives.set(delivery.life, true);
        if (confirmedIn !== undefined && delivery.life > confirmedIn) counts.resurrected++;
        else if (ambiguousIn !== undefined && delivery.life > ambiguousIn) counts.ambiguous++;
        if (delivery.outcome === 'consumed') {
          counts.consumed++;
          confirmedIn ??= delivery.life;
        }
        if (delivery.outcome === 'ambiguous') ambiguousIn ??= delivery.life;
        if (delivery.outcome === 'handed-out' && i === list.length - 1) counts.vanished++;
      }
    }
    return counts;
  }
}

/** The three actors against one node life, until `stop()`: the node is killed, then the replies on their way are read. */
function startLoad(port, { producers, getters, reservers }, ledger, life) {
  let stopped = false;
  const cancel = new Set();
  const sockets = [];
  const actor = (run) =>
    (async () => {
      const socket = await openSocket();
      sockets.push(socket);
      while (!stopped) await run(socket);
    })();
  const put = async (socket) => {
    const n = ledger.nextN++;
    const reply = await call(socket, port, { verb: 'PUT', body: Buffer.from(String(n)) }, REQUEST_MS, cancel);
    if (reply?.kind === 'put') ledger.acknowledged.add(n);
  };
  const get = async (socket) => {
    const reply = await call(socket, port, { verb: 'GET' }, REQUEST_MS, cancel);
    if (reply === undefined) ledger.getsUnanswered++;
    else if (reply.kind === 'message') ledger.deliver(text(reply.body), life, 'get', 'consumed');
    else await sleep(2);
  };
  const reserveAndAck = async (socket) => {
    const reply = await call(socket, port, { verb: 'RESERVE', leaseMs: LEASE_MS }, REQUEST_MS, cancel);
    if (reply?.kind !== 'leased' || reply.deliveries.length === 0) {
      await sleep(2);
      return;
    }
    for (const delivery of reply.deliveries) {
      const entry = ledger.deliver(text(delivery.body), life, 'reserve', 'handed-out');
      if (stopped || entry === undefined) continue;
      const ack = await call(socket, port, { verb: 'ACK', token: delivery.token }, REQUEST_MS, cancel);
      // No reply: the node died around the ACK; it may or may not have been applied.
      entry.outcome = ack === undefined ? 'ambiguous' : ack.kind === 'ok' ? 'consumed' : 'handed-out';
    }
  };
  const actors = [
    ...Array.from({ length: producers }, () => actor(put)),
    ...Array.from({ length: getters }, () => actor(get)),
    ...Array.from({ length: reservers }, () => actor(reserveAndAck)),
  ];
  return async () => {
    stopped = true;
    // Replies the node sent before it died are still in our sockets' buffers: they count.
    await sleep(50);
    for (const settle of [...cancel]) settle(undefined);
    await Promise.all(actors);
    for (const socket of sockets) socket.close();
  };
}

async function main() {
  const options = readOptions();
  const random = seededRandom(options.seed);
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'streampy-soak-')));
  const ledger = new Ledger();
  const started = Date.now();
  let cycles = 0;
  let maxDiskBytes = 0;
  try {
    while (cycles < options.cycles && Date.now() - started < options.maxSeconds * 1000) {
      const node = await startNode(dataDir, options.fsync);
      const stop = startLoad(node.port, options, ledger, cycles);
      await sleep(options.minLoadMs + random() * (options.maxLoadMs - options.minLoadMs));
      await kill(node, 'SIGKILL');
      await stop();
      maxDiskBytes = Math.max(maxDiskBytes, await diskBytes(dataDir));
      cycles++;
    }
    const last = await startNode(dataDir, options.fsync);
    for (const body of await drain(last.port, ledger.nextN + 10)) ledger.deliver(body, cycles, 'drain', 'consumed');
    await kill(last, 'SIGTERM');
  } finally {
    killAll();
    if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
  }
  const counts = ledger.summary();
  const summary = {
    fsync: options.fsync,
    seed: options.seed,
    cycles,
    seconds: Math.round((Date.now() - started) / 1000),
    sent: ledger.nextN,
    acknowledged: ledger.acknowledged.size,
    consumed: counts.consumed,
    lost: counts.lost,
    lostBeyondUnansweredGets: Math.max(0, counts.lost - ledger.getsUnanswered),
    duplicated: counts.duplicated,
    resurrected: counts.resurrected,
    vanished: counts.vanished,
    ambiguous: counts.ambiguous,
    unacknowledgedDelivered: counts.unacknowledgedDelivered,
    getsUnanswered: ledger.getsUnanswered,
    garbage: ledger.garbage,
    maxDiskBytes,
  };
  if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else for (const [key, value] of Object.entries(summary)) process.stdout.write(`${key.padEnd(24)} ${value}\n`);
  const failed = summary.lostBeyondUnansweredGets + summary.duplicated + summary.resurrected + summary.vanished + summary.garbage > 0;
  process.exitCode = failed ? 1 : 0;
}

main().catch(exitWithNodes('soak'));
