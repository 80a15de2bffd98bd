import { join } from 'node:path';
import { AUTH_FRAME_MAX_BYTES, DEFAULT_MAX_FRAME_BYTES, PROTOCOL_LIMITS, checkInteger, isQueueName } from '@streampy/codec';
import { DEFAULT_AUTH_WINDOW_MS, loadKeyFile, parseHostPort, type Clock, type HostPort, type Keyring, type LatencyHistogram, type Logger } from '@streampy/runtime';
import { AllowList, allowListFor } from './access.js';
import { defaultMaxMemory } from './budget.js';
import { MqError } from './errors.js';
import type { JetStreamConfig } from './jetstream/config.js';
import { DEFAULT_PREFIX, checkPrefix } from './jetstream/names.js';
import { maxMessageBytesFor } from './limits.js';
import { defaultMaxDatagramBytes } from './os-limits.js';
import { MAX_DELIVERIES, type LocalLimits } from './local/backend.js';
import { queueDirName } from './local/queue-dir.js';
import type { EngineFactory, FsyncPolicy } from './storage/engine.js';
import { createLogEngine } from './storage/log.js';
import { createMemoryEngine } from './storage/memory.js';

export interface QueueNodeOptions {
  /** Where to listen, `host:port` or `{ host, port }`; port 0 lets the OS pick. Default `127.0.0.1:0`. */
  readonly address?: string | HostPort;
  /**
   * A logger, or a function making one from the bound address (its port is known only once
   * bound). Default: a logger named `MQ.<host>-<port>` on stderr. The node closes a logger it made.
   */
  readonly logger?: Logger | ((address: HostPort) => Logger);
  /** Storage of each named queue. Default: memory only. */
  readonly engine?: EngineFactory;
  /** Durable storage: one log per queue under `<dataDir>/<queue>`, every queue found there recovered at start. */
  readonly dataDir?: string;
  /** fsync policy of the log engine with `dataDir`. Default 10 (ms). */
  readonly fsync?: FsyncPolicy;
  /** Messages a queue holds at most (ready, leased and delayed). Default unbounded. */
  readonly maxMessages?: number;
  /** Body bytes a queue holds at most. Default unbounded. */
  readonly maxBytes?: number;
  /** Lease of a RESERVE without `lease=`, ms. Default 30000. */
  readonly leaseMs?: number;
  /** Deliveries before a message goes to the dead-letter destination. Default 5. */
  readonly maxDeliveries?: number;
  /** A local queue name (default `dead`) or another queue node's address. */
  readonly deadLetter?: string | HostPort;
  /** How long an idempotency key is remembered, ms. Default 300000. */
  readonly dedupWindowMs?: number;
  /**
   * Idempotency keys remembered per queue at most. At the bound, expired keys go first; keys
   * still inside their window are never forgotten: keyed puts are refused with ERR FULL instead.
   * 0 remembers none (keyed puts are not deduplicated). Default 100000.
   */
  readonly maxDedupKeys?: number;
  /**
   * The node's memory budget, bytes: everything its queues hold (bodies, their bookkeeping,
   * leases and delays, idempotency keys, the queues) is accounted against it, and puts that
   * would pass it are refused with ERR FULL. Default the smaller of 512 MiB and a quarter of
   * V8's heap limit; at least 1 MiB.
   */
  readonly maxMemory?: number;
  /** Largest datagram sent or accepted. Default 65507, or the OS's send limit where lower (macOS: 9216 unless raised). */
  readonly maxDatagramBytes?: number;
  /** Named queues a node holds at most, the default and dead-letter queues included. Default 64. */
  readonly maxQueues?: number;
  /** Time and timers of leases, delays, dedup windows and retries. Default the system clock; tests pass a manual one. */
  readonly clock?: Clock;
  /**
   * Put-to-get latency histograms, one per queue, filled in as messages are first handed out
   * (GET or RESERVE); give a map to have them kept (the metrics endpoint reads it). Default none.
   */
  readonly latency?: Map<string, LatencyHistogram>;
  /**
   * The sources answered (PROTOCOL.md, "Access control"): IPv4/IPv6 networks, comma-separated
   * or a list (`10.0.0.0/8`, `::1`, a bare address). Others are dropped unanswered and counted.
   * Default: loopback sources on a loopback address; elsewhere everyone if `auth` is given, and
   * without either the node refuses to start.
   */
  readonly allow?: string | readonly string[];
  /**
   * Shared-key authentication: a keyring or a key-file path (`<key id> <64 hex digits>` per
   * line). Every datagram must carry a valid AUTH frame; replies are signed.
   */
  readonly auth?: Keyring | string;
  /** How far a signed datagram's timestamp may be from the node's clock, ms. Default 10000. */
  readonly authWindowMs?: number;
  /**
   * Keep the queues in NATS JetStream instead of this process (docs/jetstream.md): every node
   * given the same servers and prefix serves the same queues. Not with `engine` or `dataDir`.
   */
  readonly nats?: NatsOptions;
}

/** Where and how a node reaches NATS JetStream. */
export interface NatsOptions {
  /** `nats://host:port` URLs of one NATS cluster, comma-separated or a list. */
  readonly servers: string | readonly string[];
  /** A `.creds` file (JWT and nkey seed). */
  readonly creds?: string;
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  /** Replicas of each queue's stream, 1-5. Default 1. */
  readonly replicas?: number;
  /** Streams are named `<prefix>_<queue>`. Default `STREAMPY`. */
  readonly prefix?: string;
  /** How long a JetStream call may take before the request answers ERR UNAVAILABLE, ms. Default 2000. */
  readonly timeoutMs?: number;
}

/** Who the node answers: checked by the server before any frame is read. */
export interface AccessConfig {
  /** Undefined: every source (only with `keyring`). */
  readonly allow: AllowList | undefined;
  /** Undefined: datagrams are not signed. */
  readonly keyring: Keyring | undefined;
  readonly windowMs: number;
}

/** The options checked, with every default filled in. */
export interface NodeConfig {
  readonly address: HostPort;
  /** The engine factory, made once the node's logger exists: the log engine reports damage and I/O errors to it. */
  readonly engines: (logger: Logger, clock: Clock) => EngineFactory;
  readonly dataDir: string | undefined;
  readonly limits: LocalLimits;
  readonly leaseMs: number;
  readonly deadLetter: string | HostPort;
  readonly access: AccessConfig;
  /** Room for frames in a datagram: the datagram limit less the AUTH frame, when datagrams are signed. */
  readonly maxDatagramBytes: number;
  readonly maxMessageBytes: number;
  readonly maxQueues: number;
  readonly maxMemory: number;
  readonly latency: Map<string, LatencyHistogram> | undefined;
  /** Set when the queues live in NATS JetStream. */
  readonly nats: JetStreamConfig | undefined;
}

/** An integer option, checked by the codec's validator; `ERR_BAD_OPTION` when it is out of range. */
function integer(name: string, value: number | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  try {
    return checkInteger(name, value, min, max, 'ERR_BAD_OPTION');
  } catch (cause) {
    throw new MqError('ERR_BAD_OPTION', (cause as Error).message, { cause });
  }
}

function hostPort(name: string, value: string | HostPort): HostPort {
  if (typeof value !== 'string') return value;
  try {
    return parseHostPort(value, name);
  } catch (cause) {
    throw new MqError('ERR_BAD_OPTION', (cause as Error).message, { cause });
  }
}

function natsOf(options: NatsOptions | undefined): JetStreamConfig | undefined {
  if (options === undefined) return undefined;
  const servers = (typeof options.servers === 'string' ? options.servers.split(',') : [...options.servers]).map((url) => url.trim());
  if (servers.length === 0 || servers.some((url) => url.length === 0 || /\s/.test(url))) {
    throw new MqError('ERR_BAD_OPTION', `nats must be one or more URLs (nats://host:port), comma-separated, got "${String(options.servers)}"`);
  }
  if (options.password !== undefined && options.user === undefined) throw new MqError('ERR_BAD_OPTION', 'a NATS password needs a NATS user');
  const ways = [options.creds, options.user, options.token].filter((given) => given !== undefined).length;
  if (ways > 1) throw new MqError('ERR_BAD_OPTION', 'give one way to authenticate to NATS: creds, user and password, or token');
  return {
    servers,
    creds: options.creds,
    user: options.user,
    password: options.password,
    token: options.token,
    replicas: integer('replicas', options.replicas, 1, 1, 5),
    prefix: checkPrefix(options.prefix ?? DEFAULT_PREFIX),
    timeoutMs: integer('natsTimeoutMs', options.timeoutMs, 2_000, 100, 600_000),
  };
}

function deadLetterOf(value: string | HostPort): string | HostPort {
  if (typeof value !== 'string') return value;
  if (value.includes(':')) return hostPort('deadLetter', value);
  if (!isQueueName(value)) {
    throw new MqError('ERR_BAD_OPTION', `deadLetter must be a queue name (A-Z a-z 0-9 _ . -, not starting with ".") or host:port, got "${value}"`);
  }
  return value;
}

/** Checks `options` and fills in the defaults; throws `MqError('ERR_BAD_OPTION')` naming the first bad one. */
export function resolveConfig(options: QueueNodeOptions): NodeConfig {
  if (options.engine !== undefined && options.dataDir !== undefined) {
    throw new MqError('ERR_BAD_OPTION', 'give either engine or dataDir, not both');
  }
  const nats = natsOf(options.nats);
  if (nats !== undefined && (options.engine !== undefined || options.dataDir !== undefined)) {
    throw new MqError('ERR_BAD_OPTION', 'with nats the queues live in JetStream: give no engine or dataDir');
  }
  const dataDir = options.dataDir;
  const fsync = options.fsync ?? 10;
  const address = hostPort('address', options.address ?? '127.0.0.1:0');
  const keyring = typeof options.auth === 'string' ? loadKeyFile(options.auth) : options.auth;
  const access: AccessConfig = {
    allow: allowListFor(address, options.allow === undefined ? undefined : AllowList.parse(options.allow), keyring !== undefined),
    keyring,
    windowMs: integer('authWindowMs', options.authWindowMs, DEFAULT_AUTH_WINDOW_MS, 1, 3_600_000),
  };
  // Signed datagrams carry an AUTH frame: the frames get that much less room, and so does the largest message.
  const envelope = keyring === undefined ? 0 : AUTH_FRAME_MAX_BYTES;
  const maxDatagramBytes = integer('maxDatagramBytes', options.maxDatagramBytes, defaultMaxDatagramBytes(), 1024, DEFAULT_MAX_FRAME_BYTES) - envelope;
  const limits: LocalLimits = {
    maxMessages: integer('maxMessages', options.maxMessages, Number.MAX_SAFE_INTEGER),
    maxBytes: integer('maxBytes', options.maxBytes, Number.MAX_SAFE_INTEGER),
    maxDeliveries: integer('maxDeliveries', options.maxDeliveries, 5, 1, MAX_DELIVERIES),
    dedupWindowMs: integer('dedupWindowMs', options.dedupWindowMs, 300_000, 0),
    maxDedupKeys: integer('maxDedupKeys', options.maxDedupKeys, 100_000, 0),
  };
  const given = options.engine;
  const engines = (logger: Logger, clock: Clock): EngineFactory => {
    if (given !== undefined) return given;
    if (dataDir === undefined) return () => createMemoryEngine({ now: () => clock.now() });
    // Keys stay known across segment reclaim for as long as the node's dedup window.
    return (name) => createLogEngine({ dir: join(dataDir, queueDirName(name)), fsync, logger, keyWindowMs: limits.dedupWindowMs, now: () => clock.now() });
  };
  return {
    address,
    engines,
    dataDir,
    limits,
    leaseMs: integer('leaseMs', options.leaseMs, 30_000, 1, PROTOCOL_LIMITS.maxLeaseMs),
    deadLetter: deadLetterOf(options.deadLetter ?? 'dead'),
    access,
    maxDatagramBytes,
    maxMessageBytes: maxMessageBytesFor(maxDatagramBytes),
    maxQueues: integer('maxQueues', options.maxQueues, 64, 2),
    maxMemory: integer('maxMemory', options.maxMemory, defaultMaxMemory(), 1024 * 1024),
    latency: options.latency,
    nats,
  };
}
