import { GUARANTEES } from '@streampy/worker';
import { delay, fsync, hostPort, integer, listOf, logFormat, logLevel, name, oneOf, probability, text, type ValueType } from './values.js';

/**
 * What each key of a topology file means. A `flag` key is handed to the process's CLI as
 * `--<key> <value>` (paths resolved from the file's folder first); the others the runner reads
 * itself. The validator, the JSON Schema file and the README's tables all come from here.
 */
export interface KeySpec {
  readonly key: string;
  readonly type: ValueType<unknown>;
  readonly help: string;
  /** Handed to the CLI as `--<key>`. */
  readonly flag: boolean;
  /** A path, resolved from the topology file's folder. */
  readonly path?: boolean;
  readonly required?: boolean;
}

const flag = (key: string, type: ValueType<unknown>, help: string, extra: Partial<KeySpec> = {}): KeySpec => ({ key, type, help, flag: true, ...extra });
const own = (key: string, type: ValueType<unknown>, help: string, extra: Partial<KeySpec> = {}): KeySpec => ({ key, type, help, flag: false, ...extra });

const DAY_MS = 86_400_000;
const MAX = Number.MAX_SAFE_INTEGER;

/** Every `streampy-mq` option (but --help and --version), one key each. */
export const QUEUE_KEYS: readonly KeySpec[] = [
  own('address', hostPort, 'where the node listens; default 127.0.0.1 and a free port (kept across restarts)'),
  flag('allow', text, 'answer only these sources: CIDR[,CIDR...] (default: loopback only on a loopback address)'),
  flag('auth-key-file', text, 'every datagram must be signed with a key in this file, relative to the topology file', { path: true }),
  flag('auth-window', integer(1, MAX), 'how far a signed datagram\'s clock may be from the node\'s, ms (default 10000)'),
  flag('data-dir', text, 'durable storage (one log per queue), relative to the file; recovered when the node restarts', { path: true }),
  flag('fsync', fsync, 'fsync policy with data-dir: always, never or at most every N ms (default 10)'),
  flag('max-messages', integer(1, MAX), 'messages the queue holds at most; puts beyond get ERR FULL'),
  flag('max-bytes', integer(1, MAX), 'body bytes the queue holds at most'),
  flag('max-memory', integer(1024 * 1024, MAX), "the node's memory budget across every queue, bytes (at least 1 MiB)"),
  flag('max-dedup-keys', integer(0, MAX), 'idempotency keys a queue remembers at most'),
  flag('lease-ms', integer(1, DAY_MS), 'lease of a RESERVE without lease= (default 30000)'),
  flag('max-deliveries', integer(1, 65_535), 'deliveries before a message is dead-lettered (default 5)'),
  own('dead-letter', text, "where dead letters go: another queue of this file by name, a local queue name (default dead) or host:port"),
  flag('dedup-window', integer(0, MAX), 'how long idempotency keys are remembered, ms (default 300000)'),
  flag('log-dir', text, 'also write JSON log lines to files in this folder, relative to the file', { path: true }),
  flag('log-level', logLevel, 'debug, info, warn or error (default warn under streampy-run)'),
  flag('log-format', logFormat, 'json or pretty (default json: the runner forwards the lines)'),
  flag('metrics-address', hostPort, 'where /metrics is served; default 127.0.0.1 and a free port'),
  // Queues stored in NATS JetStream (streampy-mq --nats): nodes with the same nats and nats-prefix serve the same queues.
  flag('nats', text, 'NATS url(s), url[,url...]: the queue lives in JetStream, so several queue nodes can serve it (no data-dir then)'),
  flag('nats-creds', text, 'a NATS .creds file, relative to the topology file', { path: true }),
  flag('nats-user', text, 'NATS user name (with nats-password)'),
  flag('nats-password', text, 'NATS password (visible in ps: prefer STREAMPY_NATS_PASSWORD in the runner\'s environment)'),
  flag('nats-token', text, 'NATS token (visible in ps: prefer STREAMPY_NATS_TOKEN in the runner\'s environment)'),
  flag('replicas', integer(1, 5), 'with nats: JetStream replicas of each stream (default 1; 3 on a 3-server cluster survives one loss); not a process count'),
  flag('nats-prefix', text, 'with nats: streams are named <prefix>_<queue> (default STREAMPY)'),
  flag('nats-timeout', integer(1, MAX), 'with nats: how long a JetStream call may take before the node answers ERR UNAVAILABLE, ms (default 2000)'),
  own('initial-messages', listOf(text, 'a message'), 'messages put once when the topology has started (e.g. the pong ball: [ping])'),
];

/** Every `streampy-worker` option (but --help, --version and --json, which the runner sets), one key each. */
export const WORKER_KEYS: readonly KeySpec[] = [
  own('function', text, 'a built-in (pong, passthrough, upper, double, words) or a module path such as ./fn.mjs, relative to the file', { required: true }),
  flag('export', text, 'the module export to use (default: its default export, else its only function)'),
  own('inputs', listOf(name, 'a queue name'), 'the queues it reads, by name (several are polled round-robin)', { required: true }),
  own('outputs', listOf(text, 'a queue name'), 'where results go: queues by name, or host:port listeners with output-type socket', { required: true }),
  own('guarantee', listOf(oneOf(GUARANTEES), 'a guarantee'), 'one for all inputs or one per input (default at-least-once)'),
  own('replicas', integer(1, 64), 'processes running this worker, sharing its inputs (default 1)'),
  flag('output-type', oneOf(['queue', 'socket'] as const), 'queue (default) or socket (raw payloads to plain UDP listeners)'),
  flag('route', oneOf(['function', 'random'] as const), 'function (default: [choice, message] picks the output) or random'),
  flag('seed', integer(Number.MIN_SAFE_INTEGER, MAX), 'seed of the random route'),
  flag('lease-ms', integer(1, DAY_MS), 'lease of a reserved message (default 30000; extended while processing)'),
  flag('concurrency', integer(1, 1000), 'messages in flight at once (default 2)'),
  flag('batch', integer(1, 1000), 'messages per GET/RESERVE (default 32)'),
  flag('idle-min-ms', integer(0, 60_000), 'first polling pause when the inputs are empty (default 1)'),
  flag('idle-max-ms', integer(0, 60_000), 'longest polling pause (default 100)'),
  flag('timeout-ms', integer(1, MAX), 'request timeout'),
  flag('stop-timeout-ms', integer(0, MAX), 'after a stop, how long the messages in hand may take (default 15000)'),
  flag('retries', integer(0, MAX), 'retries of a request after a timeout'),
  flag('protocol', oneOf(['extended', 'seed'] as const), 'extended (default) or seed (the original prototype node)'),
  flag('auth-key-file', text, 'sign every datagram and check every reply with the keys in this file, relative to the topology file', { path: true }),
  flag('log-level', logLevel, 'debug, info, warn or error (default warn under streampy-run)'),
  flag('log-format', logFormat, 'json or pretty (default json)'),
  flag('log-dir', text, 'also write JSON log lines to files in this folder, relative to the file', { path: true }),
  flag('metrics-address', hostPort, 'where /metrics is served (one fixed port needs replicas: 1); default 127.0.0.1 and a free port'),
];

/** One fault-injecting proxy on an edge (a streampy-proxy process; faults apply both ways). */
export const FAULT_KEYS: readonly KeySpec[] = [
  own('from', name, 'a queue (for an input edge) or a worker (for an output edge)', { required: true }),
  own('to', name, 'the worker reading that queue, or the queue that worker writes to', { required: true }),
  own('drop', probability, 'probability of dropping a datagram'),
  own('dup', probability, 'probability of sending a datagram twice'),
  own('reorder', probability, 'probability of holding a datagram back behind the next one'),
  own('delay', delay, 'delay of every datagram, ms, or a MIN-MAX range'),
  own('corrupt', probability, 'probability of flipping one byte of a datagram'),
  own('seed', integer(0, 2 ** 32 - 1), 'seed of the fault decisions, for a repeatable run'),
];

export const TOP_KEYS: readonly KeySpec[] = [
  own('$schema', text, 'the JSON Schema of this format, for editors (ignored)'),
  own('name', name, "the topology's name (default: the file's base name)"),
  own('auth-key-file', text, 'a shared key file for every process and the runner: datagrams signed and checked (relative to the file)', { path: true }),
  own('queues', text, 'queue nodes by name: each a streampy-mq process', { required: true }),
  own('workers', text, 'workers by name: each one or more streampy-worker processes'),
  own('faults', text, 'fault proxies, one per edge'),
];
