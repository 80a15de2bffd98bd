#!/usr/bin/env node
import {
  UsageError,
  choiceFlag,
  createLogger,
  formatHostPort,
  hostPortFlag,
  integerFlag,
  logLevelFlag,
  onStopRequest,
  runCommand,
  startMetricsServer,
  type CommandLine,
  type HostPort,
  type LatencyHistogram,
  type ParseArgsOptionsConfig,
} from '@streampy/runtime';
import { isStreampyError } from '@streampy/codec';
import { AllowList, allowListFor } from './access.js';
import { MqError } from './errors.js';
import { nodeMetrics } from './metrics.js';
import type { NatsOptions } from './config.js';
import { createQueueNode, type QueueNodeOptions } from './node.js';
import type { FsyncPolicy } from './storage/engine.js';
import { verifyCommand } from './verify-cli.js';

const PROGRAM = 'streampy-mq';

const HELP = `Usage: ${PROGRAM} [host:port] [options]

Runs a streampy queue node on UDP (see PROTOCOL.md for the wire).

Options:
  --address HOST:PORT        where to listen (default 127.0.0.1:10000; port 0 = the OS picks)
  --allow CIDR[,CIDR...]     answer only these sources (IPv4/IPv6 networks; a bare address is
                             one host); default: loopback only on a loopback address
  --auth-key-file FILE       every datagram must be signed with a key in FILE ("<key id>
                             <64 hex digits>" per line; the first signs replies)
  --auth-window MS           how far a signed datagram's clock may be from ours (default 10000)
  --data-dir DIR             durable storage: one log per queue under DIR, recovered at start
  --fsync always|never|MS    fsync policy with --data-dir (default 10: at most every 10 ms)
  --max-messages N           messages a queue holds at most; puts beyond get ERR FULL
  --max-bytes N              body bytes a queue holds at most
  --max-memory BYTES         the node's memory budget across every queue: bodies, keys, leases,
                             bookkeeping; puts beyond get ERR FULL (default: the smaller of
                             512 MiB and a quarter of the V8 heap limit; at least 1048576)
  --max-dedup-keys N         idempotency keys a queue remembers at most; at the bound keyed
                             puts get ERR FULL, no key inside its window is forgotten (default
                             100000; 0 = keys are not remembered)
  --nats URL[,URL...]        keep the queues in NATS JetStream (nats://127.0.0.1:4222): every
                             node given the same servers and prefix serves the same queues
  --nats-creds FILE          authenticate to NATS with a .creds file
  --nats-user USER           ... or a user, with --nats-password PASS (or $STREAMPY_NATS_PASSWORD)
  --nats-token TOKEN         ... or a token (or $STREAMPY_NATS_TOKEN)
  --replicas N               replicas of each queue's stream, 1-5 (default 1; 3 survives the
                             loss of one server of a three-server cluster)
  --nats-prefix NAME         streams are named NAME_<queue> (default STREAMPY)
  --nats-timeout MS          how long a JetStream call may take before the request answers
                             ERR UNAVAILABLE (default 2000)
  --lease-ms N               lease of a RESERVE without lease= (default 30000; with --nats also
                             the consumer's ack wait: how long a lease outlives a stopped node)
  --max-deliveries N         deliveries before a message is dead-lettered (default 5)
  --dead-letter Q|HOST:PORT  local dead-letter queue name (default dead) or another node
  --dedup-window MS          how long idempotency keys are remembered (default 300000)
  --verify                   with --data-dir: report damage in the data dir and exit (0 sound or
                             only torn tails, 1 damaged, 2 unreadable); never serves or writes
  --json                     with --verify: the report as JSON
  --metrics-address H:P      serve Prometheus metrics at http://H:P/metrics (port 0: the OS
                             picks; printed before the listening line)
  --log-dir DIR              also write JSON log lines to DIR/MQ.<host>-<port>.<uuid>.log
  --log-level LEVEL          debug|info|warn|error (default info; debug logs edge latency)
  --log-format FORMAT        json|pretty (default: pretty on a terminal, else json)
  -v, --version              print the version
  -h, --help                 print this help

With --nats there is no --data-dir (JetStream is the storage); see docs/jetstream.md.
Listening on any address but loopback needs --allow or --auth-key-file (else: exit 2).
Prints "${PROGRAM} listening on <host>:<port>" once bound; on SIGINT, SIGTERM or the IPC stop
message {"type":"streampy:stop"} (from a parent that started it with an IPC channel) it stops,
prints "${PROGRAM} stopped; queue size <n>" and exits 0.
`;



function fsyncPolicy(text: string | undefined): FsyncPolicy | undefined {
  if (text === undefined || text === 'always' || text === 'never') return text;
  if (/^\d{1,9}$/.test(text) && Number(text) > 0) return Number(text);
  throw new UsageError(`--fsync must be always, never or a positive number of ms, got "${text}"`);
}

/** A `host:port` flag's value, given (`--address` may also come positionally). */
function address(flag: string, text: string): HostPort {
  return hostPortFlag(flag, text) as HostPort;
}

const OPTIONS = {
  address: { type: 'string' },
  allow: { type: 'string', multiple: true },
  'auth-key-file': { type: 'string' },
  'auth-window': { type: 'string' },
  'data-dir': { type: 'string' },
  fsync: { type: 'string' },
  'max-messages': { type: 'string' },
  'max-bytes': { type: 'string' },
  'max-memory': { type: 'string' },
  'max-dedup-keys': { type: 'string' },
  verify: { type: 'boolean' },
  json: { type: 'boolean' },
  'lease-ms': { type: 'string' },
  'max-deliveries': { type: 'string' },
  'dead-letter': { type: 'string' },
  'dedup-window': { type: 'string' },
  'metrics-address': { type: 'string' },
  'log-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  nats: { type: 'string' },
  'nats-creds': { type: 'string' },
  'nats-user': { type: 'string' },
  'nats-password': { type: 'string' },
  'nats-token': { type: 'string' },
  replicas: { type: 'string' },
  'nats-prefix': { type: 'string' },
  'nats-timeout': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

async function main({ values, positionals }: CommandLine<typeof OPTIONS>): Promise<number> {
  if (values.json && !values.verify) throw new UsageError('--json needs --verify');
  if (values.verify) return verifyCommand(values['data-dir'], values.json === true);
  if (positionals.length > 1) throw new UsageError(`expected at most one address, got ${positionals.length} arguments`);
  if (positionals.length === 1 && values.address !== undefined) throw new UsageError('give the address once: positionally or with --address');
  const listen = address('address', positionals[0] ?? values.address ?? '127.0.0.1:10000');
  const level = logLevelFlag('log-level', values['log-level'], 'info');
  const format = choiceFlag('log-format', values['log-format'], ['json', 'pretty'] as const);
  const fsync = fsyncPolicy(values.fsync);
  const dataDir = values['data-dir'];
  if (fsync !== undefined && dataDir === undefined) throw new UsageError('--fsync needs --data-dir');
  const deadLetter = values['dead-letter'];
  const allow = values.allow;
  const keyFile = values['auth-key-file'];
  if (values['auth-window'] !== undefined && keyFile === undefined) throw new UsageError('--auth-window needs --auth-key-file');
  let allowList: AllowList | undefined;
  try {
    allowList = allow === undefined ? undefined : AllowList.parse(allow);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  try {
    allowListFor(listen, allowList, keyFile !== undefined);
  } catch (error) {
    // The "refuses to start": one line, exit 2, no usage hint (the sentence says what to give).
    if (!isStreampyError(error, 'ERR_BAD_OPTION')) throw error;
    process.stderr.write(`${PROGRAM}: ${error.message}\n`);
    return 2;
  }

  const nats = natsOptions(values);
  if (nats !== undefined && dataDir !== undefined) throw new UsageError('--data-dir and --nats exclude each other: with --nats the queues are stored in JetStream');

  const metricsAddress = values['metrics-address'];
  hostPortFlag('metrics-address', metricsAddress);
  const latency = metricsAddress === undefined ? undefined : new Map<string, LatencyHistogram>();
  const logDir = values['log-dir'];
  const options: QueueNodeOptions = {
    ...(latency === undefined ? {} : { latency }),
    address: listen,
    logger: (bound) =>
      createLogger({
        name: `MQ.${bound.host}-${bound.port}`,
        level,
        ...(format === undefined ? {} : { format }),
        ...(logDir === undefined ? {} : { dir: logDir }),
      }),
    ...(dataDir === undefined ? {} : { dataDir, fsync: fsync ?? 10 }),
    ...(nats === undefined ? {} : { nats }),
    ...optional('maxMessages', integerFlag('max-messages', values['max-messages'], 1)),
    ...optional('maxBytes', integerFlag('max-bytes', values['max-bytes'], 1)),
    ...optional('maxMemory', integerFlag('max-memory', values['max-memory'], 1024 * 1024)),
    ...optional('maxDedupKeys', integerFlag('max-dedup-keys', values['max-dedup-keys'], 0)),
    ...optional('leaseMs', integerFlag('lease-ms', values['lease-ms'], 1)),
    ...optional('maxDeliveries', integerFlag('max-deliveries', values['max-deliveries'], 1)),
    ...optional('dedupWindowMs', integerFlag('dedup-window', values['dedup-window'], 0)),
    ...optional('authWindowMs', integerFlag('auth-window', values['auth-window'], 1, 3_600_000)),
    ...(allow === undefined ? {} : { allow }),
    ...(keyFile === undefined ? {} : { auth: keyFile }),
    ...(deadLetter === undefined ? {} : { deadLetter: deadLetter.includes(':') ? address('dead-letter', deadLetter) : deadLetter }),
  };

  const node = await createQueueNode(options).catch((error: unknown) => {
    throw error instanceof MqError && error.code === 'ERR_BAD_OPTION' ? new UsageError(error.message) : error;
  });
  // Listening for stop requests (signals, or the IPC stop message) before saying so: a script
  // that signals on seeing the line must not find the default handler still in place.
  const stopped = new Promise<void>((resolve) => onStopRequest(() => resolve()));
  const metrics =
    metricsAddress === undefined || latency === undefined
      ? undefined
      : await startMetricsServer({ address: metricsAddress, metrics: nodeMetrics(() => ({ stats: node.stats(), latency })) });
  if (metrics !== undefined) process.stdout.write(`${PROGRAM} metrics on ${metrics.url}\n`);
  process.stdout.write(`${PROGRAM} listening on ${formatHostPort(node.address)}\n`);
  await stopped;
  await metrics?.close();
  const { size } = await node.close();
  process.stdout.write(`${PROGRAM} stopped; queue size ${size}\n`);
  return 0;
}

/** The NATS flags as node options, or undefined without --nats (then no other NATS flag may be given). */
function natsOptions(values: CommandLine<typeof OPTIONS>['values']): NatsOptions | undefined {
  const url = values.nats;
  const password = values['nats-password'] ?? process.env.STREAMPY_NATS_PASSWORD;
  const token = values['nats-token'] ?? process.env.STREAMPY_NATS_TOKEN;
  const creds = values['nats-creds'];
  const user = values['nats-user'];
  if (url === undefined) {
    const given = NATS_FLAGS.find((flag) => values[flag] !== undefined);
    if (given !== undefined) throw new UsageError(`--${given} needs --nats`);
    return undefined;
  }
  if (values['nats-password'] !== undefined && user === undefined) throw new UsageError('--nats-password needs --nats-user');
  const ways = [creds, user, values['nats-token']].filter((given) => given !== undefined).length;
  if (ways > 1) throw new UsageError('give one of --nats-creds, --nats-user or --nats-token');
  const replicas = integerFlag('replicas', values.replicas, 1, 5);
  const timeoutMs = integerFlag('nats-timeout', values['nats-timeout'], 100, 600_000);
  const prefix = values['nats-prefix'];
  return {
    servers: url,
    ...(creds === undefined ? {} : { creds }),
    ...(user === undefined ? {} : { user, ...(password === undefined ? {} : { password }) }),
    ...(user === undefined && creds === undefined && token !== undefined ? { token } : {}),
    ...(replicas === undefined ? {} : { replicas }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(prefix === undefined ? {} : { prefix }),
  };
}

const NATS_FLAGS = ['nats-creds', 'nats-user', 'nats-password', 'nats-token', 'replicas', 'nats-prefix', 'nats-timeout'] as const;

function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

runCommand({ program: PROGRAM, help: HELP, packageJson: new URL('../package.json', import.meta.url), positionals: true, options: OPTIONS }, main);
