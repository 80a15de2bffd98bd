#!/usr/bin/env node
// End-to-end chaos run: real processes on real sockets, a fault proxy on every link.
//
//   checker --P1--> source mq --P2--> worker --P3--> sink mq --P4--> checker
//
// Starts the two queue nodes, a passthrough worker with the chosen guarantee and four
// `streampy-proxy` processes, runs the checker, prints what was lost / duplicated / corrupted
// and the proxies' counts, stops every child by PID, and exits 0 when the guarantee's promise
// held (1 otherwise, 2 on a usage error, 130 when interrupted).
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { onStopRequest, requestStop } from '../packages/runtime/dist/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (pkg, file) => join(root, 'packages', pkg, 'dist', file);

const HELP = `Usage: pnpm chaos -- --guarantee G [options]

Runs checker -> proxy -> source mq -> proxy -> passthrough worker -> proxy -> sink mq -> proxy -> checker,
every proxy with the same faults, and checks the guarantee's promise.

Options:
  --guarantee G        at-most-once | at-least-once | exactly-once (default at-least-once)
  --messages N         messages the checker sends (default 1000)
  --drop P             drop probability per datagram, every link, both ways (default 0)
  --dup P              duplicate probability (default 0)
  --reorder P          reorder probability (default 0)
  --delay MS|MIN-MAX   delay per datagram in ms (default none)
  --corrupt P          probability of flipping one byte (default 0)
  --seed N             seed of the proxies' faults (default random; printed)
  --lease-ms N         the worker's lease (default 1000, see below)
  --deadline-ms N      bound on the check (default 30000 + 10 ms per message)
  --json               print the report as one JSON line
  --help

The worker leases messages for --lease-ms instead of its 30 s default: when its ACK is lost on
a lossy link, the message comes back only when the lease runs out, so a long lease turns every
lost ACK into a 30 s stall. A short lease redelivers quickly (at-least-once duplicates then
show up in the report; exactly-once's idempotent puts absorb them).
Exit status: 0 the promise held (at-most-once: always; it is reported, not judged),
1 it did not or the run failed, 2 usage error, 130 interrupted.
`;

const { normalizeArgv } = await import(dist('runtime', 'index.js'));
const chaos = await import(dist('chaos', 'index.js'));

function usage(message) {
  process.stderr.write(`chaos: ${message}\nTry 'pnpm chaos -- --help'.\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    args: normalizeArgv(process.argv.slice(2)),
    strict: true,
    options: {
      guarantee: { type: 'string', default: 'at-least-once' },
      messages: { type: 'string', default: '1000' },
      drop: { type: 'string', default: '0' },
      dup: { type: 'string', default: '0' },
      reorder: { type: 'string', default: '0' },
      delay: { type: 'string' },
      corrupt: { type: 'string', default: '0' },
      seed: { type: 'string' },
      'lease-ms': { type: 'string', default: '1000' },
      'deadline-ms': { type: 'string' },
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

function integer(name, text, min, max) {
  const value = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) usage(`--${name} must be an integer from ${min} to ${max}, got "${text}"`);
  return value;
}

if (!chaos.isGuarantee(values.guarantee)) usage(`--guarantee must be at-most-once, at-least-once or exactly-once, got "${values.guarantee}"`);
const guarantee = values.guarantee;
const messages = integer('messages', values.messages, 1, 1_000_000);
const leaseMs = integer('lease-ms', values['lease-ms'], 50, 3_600_000);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : integer('seed', values.seed, 0, 2 ** 31);
const deadlineMs = values['deadline-ms'] === undefined ? 30_000 + 10 * messages : integer('deadline-ms', values['deadline-ms'], 1000, 86_400_000);
const faults = {};
try {
  faults.drop = chaos.parseProbability('--drop', values.drop);
  faults.dup = chaos.parseProbability('--dup', values.dup);
  faults.reorder = chaos.parseProbability('--reorder', values.reorder);
  faults.corrupt = chaos.parseProbability('--corrupt', values.corrupt);
  if (values.delay !== undefined) faults.delay = chaos.parseDelay('--delay', values.delay);
} catch (error) {
  usage(error.message);
}
const faultFlags = ['--drop', values.drop, '--dup', values.dup, '--reorder', values.reorder, '--corrupt', values.corrupt];
if (values.delay !== undefined) faultFlags.push('--delay', values.delay);

// ---- child processes ----------------------------------------------------------------------

const logDir = mkdtempSync(join(tmpdir(), 'streampy-chaos-'));
const children = [];

/** Starts `node <cli> ...args`; resolves with the child once a stdout line matches `ready`. */
function start(name, cli, args, ready) {
  const logFile = join(logDir, `${name}.log`);
  const logFd = openSync(logFile, 'a');
  // The IPC channel is how a child is asked to stop on every OS (kill() is not graceful on Windows).
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', logFd, 'ipc'] });
  closeSync(logFd);
  const entry = { name, child, logFile, lines: [], exited: false };
  children.push(entry);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  entry.exit = exited.then((status) => {
    entry.exited = true;
    return status;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 15 s (log: ${logFile})`)), 15_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      entry.lines.push(line);
      if (ready.test(line)) {
        clearTimeout(timer);
        resolve({ entry, line });
      }
    });
    entry.exit.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready; log: ${logFile}\n${tail(logFile)}`));
    });
  });
}

function tail(file) {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}

/** The stop message (SIGTERM if it has no channel left), then SIGKILL after a grace period; resolves when the child is gone. */
async function stop(entry) {
  if (entry.exited) return;
  if (!requestStop(entry.child)) entry.child.kill('SIGTERM');
  const timer = setTimeout(() => entry.child.kill('SIGKILL'), 5000);
  await entry.exit;
  clearTimeout(timer);
}

async function stopAll() {
  // The worker first, so it stops cleanly while its queues still answer; then proxies, then nodes.
  const order = ['worker', 'proxy', 'mq'];
  for (const kind of order) await Promise.all(children.filter((c) => c.name.startsWith(kind)).map(stop));
  await Promise.all(children.map(stop));
}

// Last resort if the script dies without cleaning up.
process.on('exit', () => {
  for (const entry of children) if (!entry.exited) entry.child.kill('SIGKILL');
});

const abort = new globalThis.AbortController();
let interrupted = false;
// Ctrl-C, SIGTERM or its own parent's stop message; a second signal exits at once.
onStopRequest(() => {
  interrupted = true;
  abort.abort();
});

const addressOf = (line) => /listening on (\S+)/.exec(line)?.[1];

async function mq(name) {
  const { line } = await start(name, dist('mq', 'cli.js'), ['--address', '127.0.0.1:0', '--max-deliveries', '65535', '--log-level', 'warn'], /listening on /);
  return addressOf(line);
}

async function proxy(name, target, index) {
  const args = ['--target', target, ...faultFlags, '--seed', String(seed + index), '--json', '--log-level', 'warn'];
  const { line, entry } = await start(name, dist('chaos', 'proxy-cli.js'), args, /listening on /);
  return { address: addressOf(line), entry };
}

/** The proxy's final counts: the JSON line it prints when stopped. */
function proxyCounts(entry) {
  for (const line of [...entry.lines].reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      const { toTarget, toClient } = JSON.parse(line);
      return { toTarget, toClient };
    } catch {
      // not the counts line
    }
  }
  return undefined;
}

async function run() {
  const source = await mq('mq-source');
  const sink = await mq('mq-sink');
  const links = {
    'checker->source': await proxy('proxy-checker-source', source, 1),
    'worker->source': await proxy('proxy-worker-source', source, 2),
    'worker->sink': await proxy('proxy-worker-sink', sink, 3),
    'checker->sink': await proxy('proxy-checker-sink', sink, 4),
  };
  await start(
    'worker',
    dist('worker', 'cli.js'),
    [
      '--input-address', links['worker->source'].address,
      '--output-address', links['worker->sink'].address,
      '--function', 'passthrough',
      '--guarantee', guarantee,
      '--lease-ms', String(leaseMs),
      // Throughput over lossy links comes from many requests in flight and short timeouts.
      // Small batches: a message waiting in a big leased batch can outlive its short lease and
      // be redelivered while its first copy is still being processed (measured: batch 32 gave
      // about 3 extra copies per message under at-least-once, batch 4 about 0.4).
      '--concurrency', '64',
      '--batch', '4',
      '--timeout-ms', '150',
      '--retries', '4',
      '--log-level', 'warn',
    ],
    /running/,
  );
  const report = await chaos.runCheck({
    source: links['checker->source'].address,
    sink: links['checker->sink'].address,
    messages,
    deadlineMs,
    signal: abort.signal,
  });
  await stopAll();
  const proxies = Object.fromEntries(Object.entries(links).map(([link, { entry }]) => [link, proxyCounts(entry)]));
  return { report, proxies };
}

let exitCode;
try {
  const { report, proxies } = await run();
  const verdict = chaos.judge(guarantee, report);
  if (interrupted) exitCode = 130;
  else exitCode = verdict.held ? 0 : 1;
  const { sent, delivered, unique, lost, duplicated, corrupted, redelivered, timedOut, seconds } = report;
  if (values.json) {
    const pids = Object.fromEntries(children.map((c) => [c.name, c.child.pid]));
    const out = { guarantee, messages, faults, seed, sent, delivered, unique, lost, duplicated, corrupted, redelivered, timedOut, seconds, held: verdict.held, verdict, proxies, pids };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } else {
    process.stdout.write(`chaos run: ${guarantee}, ${messages} messages, faults on every link: ${chaos.describeFaults({ drop: faults.drop, duplicate: faults.dup, reorder: faults.reorder, corrupt: faults.corrupt, ...(faults.delay === undefined ? {} : { delayMs: faults.delay }) })}, seed ${seed}\n\n`);
    process.stdout.write(chaos.formatCheckReport(report));
    const complete = Object.fromEntries(Object.entries(proxies).filter(([, counts]) => counts !== undefined));
    process.stdout.write(`\nproxy counts\n${chaos.formatProxyStats(complete)}`);
    process.stdout.write(`\n${verdict.guarantee}: ${verdict.held ? 'HELD' : 'BROKEN'} (${verdict.promise}; ${verdict.detail})\n`);
  }
  if (exitCode === 0) rmSync(logDir, { recursive: true, force: true });
  else process.stderr.write(`chaos: child logs in ${logDir}\n`);
} catch (error) {
  process.stderr.write(`chaos: ${error instanceof Error ? (process.env.CHAOS_DEBUG ? error.stack : error.message) : String(error)}\n(child logs in ${logDir})\n`);
  exitCode = interrupted ? 130 : 1;
} finally {
  await stopAll();
}
process.exit(exitCode);
