#!/usr/bin/env node
// Crash check for the durable queue node: starts `streampy-mq --data-dir D --fsync F`, PUTs
// `PUT:<n>` from a few sockets at once, SIGKILLs it at a random moment, restarts it on the same
// directory and drains it with GET. Every acknowledged put must come back exactly once and in
// an order the acknowledgements allow. Prints a summary; exit 1 on any violation (loss only
// counts as one under --fsync always, the policy that promises it). Run after a build:
//   node packages/mq/scripts/crash-check.mjs --cycles 200 --fsync always [--json]
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeFrameText, encodeFrame } from '@streampy/codec';
import { seededRandom } from '@streampy/runtime';
import { normalizeArgv } from '@streampy/runtime';

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

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function usage(message) {
  process.stderr.write(`crash-check: ${message}\n`);
  process.exit(2);
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      args: normalizeArgv(process.argv.slice(2)),
      options: {
        cycles: { type: 'string', default: '50' },
        fsync: { type: 'string', default: 'always' },
        seed: { type: 'string', default: '1' },
        'min-load-ms': { type: 'string', default: '10' },
        'max-load-ms': { type: 'string', default: '250' },
        'in-flight': { type: 'string', default: '4' },
        'data-dir': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    usage(error.message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const count = (name, min) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min) usage(`--${name} must be an integer >= ${min}`);
    return value;
  };
  const fsync = values.fsync;
  if (fsync !== 'always' && fsync !== 'never' && !(Number(fsync) > 0)) usage('--fsync must be always, never or a number of ms');
  const options = {
    cycles: count('cycles', 1),
    fsync,
    seed: count('seed', 0),
    minLoadMs: count('min-load-ms', 0),
    maxLoadMs: count('max-load-ms', 1),
    inFlight: count('in-flight', 1),
    dataDir: values['data-dir'],
    json: values.json,
  };
  if (options.maxLoadMs < options.minLoadMs) usage('--max-load-ms must be >= --min-load-ms');
  return options;
}

const running = new Set();

/** Starts a node and resolves with it once it printed where it listens. */
async function startNode(dataDir, fsync) {
  const child = spawn(process.execPath, [cli, '--address', '127.0.0.1:0', '--data-dir', dataDir, '--fsync', fsync, '--log-level', 'warn', '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => running.delete(child));
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout });
  const port = await Promise.race([
    new Promise((resolve) => {
      lines.on('line', (line) => {
        const match = /^streampy-mq listening on .*:(\d+)$/.exec(line);
        if (match) resolve(Number(match[1]));
      });
    }),
    exited.then(({ code, signal }) => {
      throw new Error(`node exited (${signal ?? code}) before listening: ${stderr.trim()}`);
    }),
    sleep(15_000).then(() => {
      throw new Error(`node did not listen within 15 s: ${stderr.trim()}`);
    }),
  ]);
  return { child, port, exited };
}

async function kill(node, signal) {
  if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill(signal);
  await node.exited;
}

async function openSocket() {
  const socket = createSocket('udp4');
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  return socket;
}

/** Sends one request and resolves with the reply's payload text (undefined after `timeoutMs`). */
function request(socket, port, payload, timeoutMs) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      resolve(undefined);
    }, timeoutMs);
    const onMessage = (datagram) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(decodeFrameText(datagram));
    };
    socket.on('message', onMessage);
    socket.send(encodeFrame(payload), port, '127.0.0.1');
  });
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
      const reply = await new Promise((resolve) => {
        const settle = (value) => {
          ledger.unblock.delete(settle);
          resolve(value);
        };
        ledger.unblock.add(settle);
        socket.once('message', (datagram) => settle(decodeFrameText(datagram)));
        socket.send(encodeFrame(`PUT:${n}`), port, '127.0.0.1');
      });
      if (typeof reply === 'string' && reply.startsWith('PUT ')) {
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

/** GETs until the queue is empty; the bodies in queue order. */
async function drain(port, limit) {
  const socket = await openSocket();
  try {
    const bodies = [];
    for (let i = 0; i <= limit; i++) {
      const reply = await request(socket, port, 'GET', 5_000);
      if (reply === undefined) throw new Error('no reply to GET within 5 s');
      if (reply === '') return bodies;
      bodies.push(reply);
    }
    throw new Error(`queue still not empty after ${limit} GETs`);
  } finally {
    socket.close();
  }
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

async function diskBytes(dir) {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

async function main() {
  const options = parseOptions();
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
    for (const child of running) child.kill('SIGKILL');
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

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const child of running) child.kill('SIGKILL');
    process.exit(1);
  });
}

main().catch((error) => {
  for (const child of running) child.kill('SIGKILL');
  process.stderr.write(`crash-check: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
