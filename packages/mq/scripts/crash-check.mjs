#!/usr/bin/env node
// Crash check for the durable queue node: starts `streampy-mq --data-dir D --fsync F`, PUTs
// `PUT:<n>` from a few sockets at once, SIGKILLs it at a random moment, restarts it on the same
// directory and drains it with GET. Every acknowledged put must come back exactly once and in
// an order the acknowledgements allow. Prints a summary; exit 1 on any violation (loss only
// counts as one under --fsync always, the policy that promises it). Run after a build:
//   node packages/mq/scripts/crash-check.mjs --cycles 200 --fsync always [--json]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom } from '@streampy/runtime';
import { diskBytes, drain, exitWithNodes, kill, killAll, openSocket, parseOptions, request, startNode, text, usageError } from './lib/durable-node.mjs';

const HELP = `Usage: crash-check.mjs [options]

Kills a durable streampy-mq node with SIGKILL under PUT load, restarts it and checks that
every acknowledged put survived exactly once, in order.

Options:
  --cycles N         kill/restart cycles (default 50)
  --fsync POLICY     always|never|MS, passed to the node (default always)
  --seed N           seed of the kill moments (default 1)
  --min-load-ms N    shortest load before a kill (default 10)
  --max-load-ms N    longest load before a kill (default 250)
  --in-flight N      puts in flight at once, one socket each (default 4)
  --data-dir DIR     data directory to use and keep (default: a temporary one, removed)
  --json             print the summary as one JSON line
  --help             print this help
`;

function readOptions() {
  const parsed = parseOptions('crash-check.mjs', HELP, {
    cycles: { default: 50, min: 1 },
    fsync: { type: 'string', default: 'always' },
    seed: { default: 1, min: 0 },
    'min-load-ms': { default: 10, min: 0 },
    'max-load-ms': { default: 250, min: 1 },
    'in-flight': { default: 4, min: 1 },
    'data-dir': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (parsed.maxLoadMs < parsed.minLoadMs) usageError('crash-check.mjs', '--max-load-ms must be >= --min-load-ms');
  return parsed;
}

/**
 * Puts from `inFlight` sockets, one outstanding put each, until `stop()` is called, the node
 * killed and the replies already on their way read. Records the logical time of each send and ack.
 */
function startLoad(port, inFlight, ledger) {
  let stopped = false;
  const sockets = [];
  const workers = Array.from({ length: inFlight }, async () => {
    const socket = await openSocket();
    sockets.push(socket);
    while (!stopped) {
      const n = ledger.nextN++;
      ledger.sent.set(n, { sentAt: ledger.clock++, ackedAt: Infinity });
      const reply = await request(socket, port, `PUT:${n}`, 60_000, ledger.unblock);
      if (reply !== undefined && text(reply).startsWith('PUT ')) {
        ledger.sent.get(n).ackedAt = ledger.clock++;
        ledger.accepted.add(n);
      }
    }
  });
  return async () => {
    stopped = true;
    // Replies the node sent before it died are still in our sockets' buffers: they count.
    await sleep(50);
    for (const settle of [...ledger.unblock]) settle(undefined);
    await Promise.all(workers);
    for (const socket of sockets) socket.close();
  };
}

/** Checks one drained queue against what was sent and acknowledged; updates the totals. */
function check(bodies, ledger, totals) {
  let minAckAfter = Infinity;
  const positions = bodies.map((body) => (/^\d+$/.test(body) ? Number(body) : NaN));
  for (let i = positions.length - 1; i >= 0; i--) {
    const n = positions[i];
    const record = ledger.sent.get(n);
    if (record === undefined) {
      totals.garbage++;
      continue;
    }
    // A message acknowledged before this one was even sent must not come after it.
    if (minAckAfter < record.sentAt) totals.orderViolations++;
    minAckAfter = Math.min(minAckAfter, record.ackedAt);
  }
  for (const n of positions) {
    if (!ledger.sent.has(n)) continue;
    if (ledger.drained.has(n)) totals.duplicated++;
    else {
      ledger.drained.add(n);
      if (ledger.accepted.has(n)) totals.recovered++;
      else totals.unackedRecovered++;
    }
  }
}

async function main() {
  const options = readOptions();
  const random = seededRandom(options.seed);
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'streampy-crash-')));
  const ledger = { nextN: 0, clock: 0, sent: new Map(), accepted: new Set(), drained: new Set(), unblock: new Set() };
  const totals = { recovered: 0, unackedRecovered: 0, duplicated: 0, orderViolations: 0, garbage: 0 };
  let maxDiskBytes = 0;
  try {
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const node = await startNode(dataDir, options.fsync);
      check(await drain(node.port, ledger.nextN + 10), ledger, totals);
      const stop = startLoad(node.port, options.inFlight, ledger);
      await sleep(options.minLoadMs + random() * (options.maxLoadMs - options.minLoadMs));
      await kill(node, 'SIGKILL');
      await stop();
      maxDiskBytes = Math.max(maxDiskBytes, await diskBytes(dataDir));
    }
    const last = await startNode(dataDir, options.fsync);
    check(await drain(last.port, ledger.nextN + 10), ledger, totals);
    await kill(last, 'SIGTERM');
  } finally {
    killAll();
    if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
  }
  const lost = [...ledger.accepted].filter((n) => !ledger.drained.has(n)).length;
  const summary = {
    fsync: options.fsync,
    seed: options.seed,
    cycles: options.cycles,
    sent: ledger.sent.size,
    accepted: ledger.accepted.size,
    recovered: totals.recovered,
    lost,
    duplicated: totals.duplicated,
    unackedRecovered: totals.unackedRecovered,
    orderViolations: totals.orderViolations,
    garbage: totals.garbage,
    maxDiskBytes,
  };
  if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    for (const [key, value] of Object.entries(summary)) process.stdout.write(`${key.padEnd(17)} ${value}\n`);
  }
  const failed = summary.duplicated > 0 || summary.orderViolations > 0 || summary.garbage > 0 || (options.fsync === 'always' && lost > 0);
  process.exitCode = failed ? 1 : 0;
}

main().catch(exitWithNodes('crash-check'));
