import { checkInteger, checkName, isStreampyError } from '@streampy/codec';
import { formatHostPort, loadKeyFile, parseHostPort, seededRandom, silentLogger, systemClock, type Clock, type HostPort, type Keyring, type Logger } from '@streampy/runtime';
import { WorkerError } from './errors.js';
import type { WorkerFunction } from './functions.js';
import type { WorkerHistograms } from './metrics.js';
import type { ConnectFunction } from './worker-client.js';

export type Guarantee = 'at-most-once' | 'at-least-once' | 'exactly-once';

export const GUARANTEES: readonly Guarantee[] = ['at-most-once', 'at-least-once', 'exactly-once'];

/** A queue node address (`host:port`, or `host:port/queue` for a named queue) or an object form. */
/**
 * A queue: `host:port[/queue]`, a HostPort, or an object. `id` (inputs only) names the queue's
 * storage for exactly-once keys: inputs that are one queue served by several nodes (one NATS
 * JetStream stream behind several `streampy-mq --nats` nodes) must share it, so a message
 * redelivered through another node gets the same output keys. Default: the node's address and queue.
 */
export type Endpoint = string | HostPort | { readonly address: string | HostPort; readonly queue?: string; readonly id?: string };

export interface WorkerOptions {
  /** Queues to read; several are polled round-robin. */
  readonly inputs: readonly Endpoint[];
  /** Where results go: queues, or plain UDP listeners with `outputType: 'socket'`. */
  readonly outputs: readonly Endpoint[];
  readonly fn: WorkerFunction;
  /** Name of the function, for logs. Default: `fn.name`. */
  readonly name?: string;
  /** `queue` (PUT to a queue node, default) or `socket` (the raw payload, unframed, to a UDP listener). */
  readonly outputType?: 'queue' | 'socket';
  /** `function` (default: `[choice, message]` picks the output, plain messages go to output 0) or `random`. */
  readonly route?: 'function' | 'random';
  /** Seed of the `random` route, for a repeatable run. */
  readonly seed?: number;
  /** One for all inputs or one per input. Default: at-least-once, at-most-once with the seed protocol. */
  readonly guarantee?: Guarantee | readonly Guarantee[];
  /** Lease of a reserved message, ms (default 30 000). */
  readonly leaseMs?: number;
  /** Extend the lease of a message still being processed halfway through it (default true). */
  readonly extendLeases?: boolean;
  /** Messages in flight at once, one pipelined loop each (default 2). */
  readonly concurrency?: number;
  /**
   * Messages asked for per GET / RESERVE (default 32; 1 with the seed protocol). A batch's puts
   * travel together and its leases are extended while it waits; under at-most-once up to
   * batch x concurrency messages in hand are lost if the worker dies.
   */
  readonly batch?: number;
  /** Polling backoff while the inputs are empty: doubles from minMs to maxMs, back to minMs on work. */
  readonly idle?: { readonly minMs?: number; readonly maxMs?: number };
  /** Delay before a NACKed message may be redelivered, ms (default 0). */
  readonly nackDelayMs?: number;
  /** `extended` (default) or `seed`, for the original prototype's queue node. */
  readonly protocol?: 'extended' | 'seed';
  /** Per-request timeout and retries of the client. */
  readonly timeoutMs?: number;
  readonly retries?: number;
  /** Where the worker logs (it never closes it). Default: silent. */
  readonly logger?: Logger;
  /** Opens queue clients; default `@streampy/client`. For tests and other transports. */
  readonly connect?: ConnectFunction;
  /** Time and timers (idle backoff, lease renewal, retries), also handed to the clients. Default the system clock. */
  readonly clock?: Clock;
  /**
   * Shared-key authentication with every queue node (PROTOCOL.md, "Access control"): a keyring
   * or the path of a key file, read once; every client of the worker signs with it.
   */
  readonly auth?: Keyring | string;
  /** Where to record the function's time and each message's end-to-end time (`newWorkerHistograms()`); default none. */
  readonly histograms?: WorkerHistograms;
}

/** Where one input or output is. */
export interface EndpointPlan {
  readonly address: HostPort;
  readonly queue: string | undefined;
  /** `host:port` or `host:port/queue`, for logs. */
  readonly label: string;
}

/** The largest input `id`: it is hashed into the keys, so only its length is bounded. */
const MAX_INPUT_ID = 200;

export interface InputPlan extends EndpointPlan {
  readonly index: number;
  /** What exactly-once keys are derived from: the endpoint's `id`, else its label. */
  readonly keyId: string;
  readonly guarantee: Guarantee;
}

/** The options checked and filled with their defaults: what the worker runs by. */
export interface WorkerPlan {
  readonly fn: WorkerFunction;
  readonly name: string;
  readonly inputs: readonly InputPlan[];
  readonly outputs: readonly EndpointPlan[];
  readonly outputType: 'queue' | 'socket';
  /** The `random` route's generator; undefined for the function route. */
  readonly random: (() => number) | undefined;
  readonly leaseMs: number;
  /** True when some input leases and leases are extended. */
  readonly renewLeases: boolean;
  readonly concurrency: number;
  readonly batch: number;
  readonly idleMinMs: number;
  readonly idleMaxMs: number;
  readonly nackDelayMs: number | undefined;
  readonly protocol: 'extended' | 'seed';
  readonly timeoutMs: number | undefined;
  readonly retries: number | undefined;
  readonly logger: Logger;
  readonly connect: ConnectFunction | undefined;
  readonly clock: Clock;
  readonly auth: Keyring | undefined;
  readonly histograms: WorkerHistograms | undefined;
}

const DEFAULTS = { leaseMs: 30_000, concurrency: 2, batch: 32, idleMinMs: 1, idleMaxMs: 100 } as const;

export function badOption(message: string, cause?: unknown): WorkerError {
  return new WorkerError('ERR_BAD_OPTION', message, cause === undefined ? undefined : { cause });
}

/** `host:port/queue` -> its address and queue; no slash: the node's default queue. */
export function splitQueue(text: string): { address: string; queue: string | undefined } {
  const slash = text.lastIndexOf('/');
  return slash >= 0 ? { address: text.slice(0, slash), queue: text.slice(slash + 1) } : { address: text, queue: undefined };
}

function parseEndpoint(endpoint: Endpoint, what: string): EndpointPlan {
  let address: string | HostPort;
  let queue: string | undefined;
  if (typeof endpoint === 'string') {
    ({ address, queue } = splitQueue(endpoint));
  } else if ('address' in endpoint) {
    address = endpoint.address;
    queue = endpoint.queue;
  } else {
    address = endpoint;
  }
  let hostPort: HostPort;
  try {
    hostPort = typeof address === 'string' ? parseHostPort(address, what) : address;
  } catch (cause) {
    throw badOption((cause as Error).message, cause);
  }
  if (queue !== undefined) option(() => checkName(`${what} queue name`, queue, 'ERR_BAD_OPTION'));
  return { address: hostPort, queue, label: formatHostPort(hostPort) + (queue === undefined ? '' : `/${queue}`) };
}

/** The codec's validators, their verdict as the worker's own error. */
function option<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw isStreampyError(error) ? badOption(error.message, error) : error;
  }
}

function checkCount(name: string, value: number, min: number, max: number): number {
  return option(() => checkInteger(name, value, min, max, 'ERR_BAD_OPTION'));
}

/** Checks `options` and fills in the defaults; throws `WorkerError` `ERR_BAD_OPTION` on what the worker cannot honour. */
export function planWorker(options: WorkerOptions): WorkerPlan {
  if (typeof options.fn !== 'function') throw badOption('fn must be a function');
  const protocol = options.protocol ?? 'extended';
  const outputType = options.outputType ?? 'queue';
  if (options.inputs.length === 0) throw badOption('at least one input is needed');
  if (options.outputs.length === 0) throw badOption('at least one output is needed');
  const defaultGuarantee: Guarantee = protocol === 'seed' ? 'at-most-once' : 'at-least-once';
  const guarantees = options.guarantee;
  if (Array.isArray(guarantees) && guarantees.length !== options.inputs.length) {
    throw badOption(`give one guarantee for all inputs or one per input (${options.inputs.length}), got ${guarantees.length}`);
  }
  const inputs = options.inputs.map((endpoint, index): InputPlan => {
    const plan = parseEndpoint(endpoint, `input ${index}`);
    const guarantee = Array.isArray(guarantees) ? (guarantees[index] as Guarantee) : ((guarantees as Guarantee | undefined) ?? defaultGuarantee);
    if (!GUARANTEES.includes(guarantee)) throw badOption(`guarantee must be one of ${GUARANTEES.join(', ')}, got "${String(guarantee)}"`);
    if (protocol === 'seed' && guarantee !== 'at-most-once') throw badOption(`the seed protocol has no leases: input ${plan.label} can only be at-most-once`);
    if (guarantee === 'exactly-once' && outputType === 'socket') throw badOption('exactly-once needs queue outputs: a plain UDP listener cannot drop duplicates');
    const id = typeof endpoint === 'object' && 'id' in endpoint ? endpoint.id : undefined;
    if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > MAX_INPUT_ID)) {
      throw badOption(`input ${plan.label}: id must be 1-${MAX_INPUT_ID} characters, got ${JSON.stringify(id)}`);
    }
    return { ...plan, index, guarantee, keyId: id ?? plan.label };
  });
  const outputs = options.outputs.map((endpoint, index) => {
    const plan = parseEndpoint(endpoint, `output ${index}`);
    if (plan.queue !== undefined && outputType === 'socket') throw badOption(`a socket output has no queue: ${plan.label}`);
    return plan;
  });
  if (protocol === 'seed' && [...inputs, ...outputs].some((endpoint) => endpoint.queue !== undefined)) throw badOption('the seed protocol has no named queues');
  if (protocol === 'seed' && options.auth !== undefined) throw badOption('the seed protocol has no authentication: auth needs the extended protocol');
  const leaseMs = checkCount('leaseMs', options.leaseMs ?? DEFAULTS.leaseMs, 1, 86_400_000);
  // The seed answers one message per GET; the node returns what it has, so a large batch costs an idle queue nothing.
  const batch = checkCount('batch', options.batch ?? (protocol === 'seed' ? 1 : DEFAULTS.batch), 1, 1000);
  if (protocol === 'seed' && batch !== 1) throw badOption('the seed protocol gets one message per GET: batch must be 1');
  const idleMinMs = checkCount('idle.minMs', options.idle?.minMs ?? DEFAULTS.idleMinMs, 0, 60_000);
  if (options.route !== undefined && options.route !== 'function' && options.route !== 'random') throw badOption(`route must be function or random, got "${String(options.route)}"`);
  return {
    fn: options.fn,
    name: options.name ?? (options.fn.name || 'function'),
    inputs,
    outputs,
    outputType,
    random: options.route === 'random' ? seededRandom(options.seed ?? Date.now()) : undefined,
    leaseMs,
    renewLeases: (options.extendLeases ?? true) && inputs.some((input) => input.guarantee !== 'at-most-once'),
    concurrency: checkCount('concurrency', options.concurrency ?? DEFAULTS.concurrency, 1, 1000),
    batch,
    idleMinMs,
    idleMaxMs: checkCount('idle.maxMs', options.idle?.maxMs ?? Math.max(DEFAULTS.idleMaxMs, idleMinMs), idleMinMs, 60_000),
    nackDelayMs: options.nackDelayMs === undefined ? undefined : checkCount('nackDelayMs', options.nackDelayMs, 0, 86_400_000),
    protocol,
    timeoutMs: options.timeoutMs,
    retries: options.retries,
    logger: options.logger ?? silentLogger('worker'),
    connect: options.connect,
    clock: options.clock ?? systemClock,
    auth: typeof options.auth === 'string' ? loadKeyFile(options.auth) : options.auth,
    histograms: options.histograms,
  };
}
