import { createSocket, type Socket } from 'node:dgram';
import { createClient } from '@streampy/client';
import { decodeText, type Delivery } from '@streampy/codec';
import { formatHostPort, parseHostPort, seededRandom, type HostPort, type Logger } from '@streampy/runtime';
import { WorkerError, errorCode } from './errors.js';
import type { WorkerContext, WorkerFunction, WorkerResult } from './functions.js';
import { keyFraction, messageIdOf, outputKey } from './keys.js';
import { collectAsyncResult, collectResult, isAsyncIterable, routeChoice, type Emitted } from './results.js';
import type { ConnectFunction, WorkerClient, WorkerClientOptions } from './transport.js';

export type Guarantee = 'at-most-once' | 'at-least-once' | 'exactly-once';

export const GUARANTEES: readonly Guarantee[] = ['at-most-once', 'at-least-once', 'exactly-once'];

/** A queue node address (`host:port`, or `host:port/queue` for a named queue) or an object form. */
export type Endpoint = string | HostPort | { readonly address: string | HostPort; readonly queue?: string };

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
}

export interface WorkerStats {
  /** Messages taken from the inputs. */
  received: number;
  /** Messages whose results were all sent (and which were acked, when leased). */
  processed: number;
  /** Messages the function threw on (or that were not UTF-8): logged, NACKed when leased. */
  rejected: number;
  /** Output messages delivered. */
  sent: number;
  /** Output messages given up on: at-most-once timeouts, or outputs that refuse them for good. */
  dropped: number;
  /** Requests that timed out after the client's retries. */
  timeouts: number;
  /** Waits: idle polling backoff, and retries of a put to a full output. */
  backoffs: number;
  acked: number;
  nacked: number;
  /** Messages taken but not yet finished. */
  inFlight: number;
}

export interface Worker {
  start(): Promise<void>;
  /** Stops taking work, finishes the messages in hand (results put, acked), then closes. */
  stop(): Promise<void>;
  stats(): WorkerStats;
  /** Settles once the worker has stopped. */
  readonly done: Promise<void>;
}

interface Input {
  readonly index: number;
  readonly label: string;
  readonly address: HostPort;
  readonly queue: string | undefined;
  readonly guarantee: Guarantee;
  readonly queueOptions: { queue?: string };
  /** Built once: the per-message path allocates no option objects. */
  reserveOptions: { max: number; leaseMs: number; queue?: string };
  nackOptions: { delayMs?: number; queue?: string };
  readonly context: WorkerContext;
  client: WorkerClient | undefined;
}

interface Output {
  readonly label: string;
  readonly address: HostPort;
  readonly queue: string | undefined;
  /** `once`: at-most-once, so the client must not resend a put whose reply was lost (it could enqueue twice). */
  send: ((body: Uint8Array, key: string | undefined, once: boolean) => Promise<unknown>) | undefined;
}

interface Lease {
  readonly input: Input;
  readonly token: string;
  renewedAt: number;
}

type Item = Uint8Array | Delivery;

interface Fetched {
  readonly input: Input;
  readonly items: Item[];
}

const DEFAULTS = { leaseMs: 30_000, concurrency: 2, batch: 32, idleMinMs: 1, idleMaxMs: 100, retryMinMs: 5, retryMaxMs: 1_000 } as const;

const SILENT_LOGGER: Logger = {
  name: 'worker',
  level: 'error',
  file: undefined,
  enabled: () => false,
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  close: () => Promise.resolve(),
};

function badOption(message: string): WorkerError {
  return new WorkerError('ERR_BAD_OPTION', message);
}

function parseEndpoint(endpoint: Endpoint, what: string): { address: HostPort; queue: string | undefined; label: string } {
  let address: string | HostPort;
  let queue: string | undefined;
  if (typeof endpoint === 'string') {
    const slash = endpoint.lastIndexOf('/');
    address = slash >= 0 ? endpoint.slice(0, slash) : endpoint;
    queue = slash >= 0 ? endpoint.slice(slash + 1) : undefined;
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
    throw new WorkerError('ERR_BAD_OPTION', (cause as Error).message, { cause });
  }
  if (queue !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(queue)) throw badOption(`${what} queue name must be 1-64 characters of A-Z a-z 0-9 _ . -, got "${queue}"`);
  const label = formatHostPort(hostPort) + (queue === undefined ? '' : `/${queue}`);
  return { address: hostPort, queue, label };
}

function checkCount(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw badOption(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

function isThenable(value: unknown): value is PromiseLike<WorkerResult> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function defaultConnect(options: WorkerClientOptions): Promise<WorkerClient> {
  return createClient({ ...options, coalesce: true });
}

/** A worker node: reads its inputs, applies `fn`, routes the results to its outputs. */
export function createWorker(options: WorkerOptions): Worker {
  return new QueueWorker(options);
}

class QueueWorker implements Worker {
  readonly done: Promise<void>;
  readonly #fn: WorkerFunction;
  readonly #name: string;
  readonly #inputs: Input[];
  readonly #outputs: Output[];
  readonly #outputType: 'queue' | 'socket';
  readonly #random: (() => number) | undefined;
  readonly #leaseMs: number;
  readonly #extendLeases: boolean;
  readonly #concurrency: number;
  readonly #batch: number;
  readonly #idleMinMs: number;
  readonly #idleMaxMs: number;
  readonly #protocol: 'extended' | 'seed';
  readonly #options: WorkerOptions;
  readonly #log: Logger;
  readonly #debug: boolean;
  readonly #stats: WorkerStats = { received: 0, processed: 0, rejected: 0, sent: 0, dropped: 0, timeouts: 0, backoffs: 0, acked: 0, nacked: 0, inFlight: 0 };
  readonly #leases = new Map<string, Lease>();
  /** ACKs and NACKs still travelling: stop() waits for them. */
  readonly #settling = new Set<Promise<void>>();
  /** Wakes idle sleepers early when the worker stops. */
  readonly #sleepers = new Set<() => void>();
  readonly #clients: WorkerClient[] = [];
  #socket: Socket | undefined;
  #leaseTimer: NodeJS.Timeout | undefined;
  #cursor = 0;
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #resolveDone!: () => void;
  #rejectDone!: (error: unknown) => void;

  constructor(options: WorkerOptions) {
    this.#options = options;
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    // Keep an unobserved rejection from crashing a caller that only awaits stop().
    this.done.catch(() => {});
    if (typeof options.fn !== 'function') throw badOption('fn must be a function');
    this.#fn = options.fn;
    this.#name = options.name ?? (options.fn.name || 'function');
    this.#protocol = options.protocol ?? 'extended';
    this.#outputType = options.outputType ?? 'queue';
    if (options.inputs.length === 0) throw badOption('at least one input is needed');
    if (options.outputs.length === 0) throw badOption('at least one output is needed');
    const defaultGuarantee: Guarantee = this.#protocol === 'seed' ? 'at-most-once' : 'at-least-once';
    const guarantees = options.guarantee;
    if (Array.isArray(guarantees) && guarantees.length !== options.inputs.length) {
      throw badOption(`give one guarantee for all inputs or one per input (${options.inputs.length}), got ${guarantees.length}`);
    }
    this.#inputs = options.inputs.map((endpoint, index) => {
      const { address, queue, label } = parseEndpoint(endpoint, `input ${index}`);
      const guarantee = (Array.isArray(guarantees) ? (guarantees[index] as Guarantee) : ((guarantees as Guarantee | undefined) ?? defaultGuarantee));
      if (!GUARANTEES.includes(guarantee)) throw badOption(`guarantee must be one of ${GUARANTEES.join(', ')}, got "${String(guarantee)}"`);
      if (this.#protocol === 'seed' && guarantee !== 'at-most-once') throw badOption(`the seed protocol has no leases: input ${label} can only be at-most-once`);
      if (guarantee === 'exactly-once' && this.#outputType === 'socket') throw badOption('exactly-once needs queue outputs: a plain UDP listener cannot drop duplicates');
      return { index, label, address, queue, guarantee, queueOptions: queue === undefined ? {} : { queue }, reserveOptions: { max: 1, leaseMs: 1 }, nackOptions: {}, context: { input: index }, client: undefined };
    });
    this.#outputs = options.outputs.map((endpoint, index) => {
      const { address, queue, label } = parseEndpoint(endpoint, `output ${index}`);
      if (queue !== undefined && this.#outputType === 'socket') throw badOption(`a socket output has no queue: ${label}`);
      return { label, address, queue, send: undefined };
    });
    if (this.#protocol === 'seed' && [...this.#inputs, ...this.#outputs].some((endpoint) => endpoint.queue !== undefined)) {
      throw badOption('the seed protocol has no named queues');
    }
    this.#leaseMs = checkCount('leaseMs', options.leaseMs ?? DEFAULTS.leaseMs, 1, 86_400_000);
    this.#extendLeases = options.extendLeases ?? true;
    this.#concurrency = checkCount('concurrency', options.concurrency ?? DEFAULTS.concurrency, 1, 1000);
    // The seed answers one message per GET; the node returns what it has, so a large batch costs an idle queue nothing.
    this.#batch = checkCount('batch', options.batch ?? (this.#protocol === 'seed' ? 1 : DEFAULTS.batch), 1, 1000);
    if (this.#protocol === 'seed' && this.#batch !== 1) throw badOption('the seed protocol gets one message per GET: batch must be 1');
    this.#idleMinMs = checkCount('idle.minMs', options.idle?.minMs ?? DEFAULTS.idleMinMs, 0, 60_000);
    this.#idleMaxMs = checkCount('idle.maxMs', options.idle?.maxMs ?? Math.max(DEFAULTS.idleMaxMs, this.#idleMinMs), this.#idleMinMs, 60_000);
    const nackOptions: { delayMs?: number } = options.nackDelayMs === undefined ? {} : { delayMs: checkCount('nackDelayMs', options.nackDelayMs, 0, 86_400_000) };
    for (const input of this.#inputs) {
      input.reserveOptions = { max: this.#batch, leaseMs: this.#leaseMs, ...input.queueOptions };
      input.nackOptions = { ...nackOptions, ...input.queueOptions };
    }
    this.#random = options.route === 'random' ? seededRandom(options.seed ?? Date.now()) : undefined;
    if (options.route !== undefined && options.route !== 'function' && options.route !== 'random') throw badOption(`route must be function or random, got "${String(options.route)}"`);
    this.#log = options.logger ?? SILENT_LOGGER;
    this.#debug = this.#log.enabled('debug');
  }

  stats(): WorkerStats {
    return { ...this.#stats };
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new WorkerError('ERR_BAD_OPTION', 'a worker starts only once');
    this.#state = 'starting';
    try {
      await this.#open();
    } catch (error) {
      await this.#close();
      this.#state = 'stopped';
      this.#rejectDone(error);
      throw error;
    }
    if (this.#extendLeases && this.#inputs.some((input) => input.guarantee !== 'at-most-once')) {
      this.#leaseTimer = setInterval(() => this.#renewLeases(), Math.max(5, Math.floor(this.#leaseMs / 4)));
      this.#leaseTimer.unref();
    }
    // stop() may have been called while the clients were opening.
    if ((this.#state as string) === 'starting') this.#state = 'running';
    this.#log.info('worker started', {
      function: this.#name,
      inputs: this.#inputs.map((input) => `${input.label} (${input.guarantee})`),
      outputs: this.#outputs.map((output) => output.label),
      outputType: this.#outputType,
      concurrency: this.#concurrency,
      batch: this.#batch,
    });
    const lanes = Array.from({ length: this.#concurrency }, () => this.#lane());
    Promise.all(lanes)
      .then(() => Promise.all(this.#settling))
      .then(
        () => this.#finish(),
        (error: unknown) => this.#finish(error),
      );
  }

  async stop(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      this.#resolveDone();
      return this.done;
    }
    if (this.#state === 'running' || this.#state === 'starting') this.#state = 'stopping';
    for (const wake of this.#sleepers) wake();
    return this.done;
  }

  async #finish(error?: unknown): Promise<void> {
    await this.#close();
    this.#state = 'stopped';
    this.#log.info('worker stopped', { ...this.#stats });
    if (error === undefined) this.#resolveDone();
    else this.#rejectDone(error);
  }

  async #open(): Promise<void> {
    const connect = this.#options.connect ?? defaultConnect;
    const clients = new Map<string, Promise<WorkerClient>>();
    const clientFor = (address: HostPort): Promise<WorkerClient> => {
      // One client per node: a self-loop's PUT and the next GET then share a datagram.
      const key = formatHostPort(address);
      let client = clients.get(key);
      if (client === undefined) {
        const { timeoutMs, retries } = this.#options;
        const options: WorkerClientOptions = {
          address,
          protocol: this.#protocol,
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
          ...(retries === undefined ? {} : { retries }),
        };
        client = connect(options).then((opened) => {
          this.#clients.push(opened);
          return opened;
        });
        clients.set(key, client);
      }
      return client;
    };
    await Promise.all(this.#inputs.map(async (input) => (input.client = await clientFor(input.address))));
    if (this.#outputType === 'socket') {
      const socket = createSocket(this.#outputs.some((output) => output.address.host.includes(':')) ? 'udp6' : 'udp4');
      this.#socket = socket;
      for (const output of this.#outputs) {
        const { host, port } = output.address;
        output.send = (body) =>
          new Promise<void>((resolve, reject) => socket.send(body, port, host, (error) => (error ? reject(error) : resolve())));
      }
    } else {
      await Promise.all(
        this.#outputs.map(async (output) => {
          const client = await clientFor(output.address);
          const base = output.queue === undefined ? {} : { queue: output.queue };
          const once = output.queue === undefined ? { retries: 0 } : { queue: output.queue, retries: 0 };
          const keyed = (key: string): { key: string; queue?: string } => (output.queue === undefined ? { key } : { key, queue: output.queue });
          output.send = (body, key, atMostOnce) => client.put(body, key !== undefined ? keyed(key) : atMostOnce ? once : base);
        }),
      );
    }
  }

  async #close(): Promise<void> {
    clearInterval(this.#leaseTimer);
    const closing: Promise<unknown>[] = this.#clients.map((client) => client.close().catch(() => {}));
    if (this.#socket) {
      const socket = this.#socket;
      closing.push(new Promise<void>((resolve) => socket.close(() => resolve())));
    }
    await Promise.all(closing);
  }

  get #running(): boolean {
    return this.#state === 'running' || this.#state === 'starting';
  }

  /**
   * One pipelined loop: fetch a batch; for each message apply the function and issue its puts
   * at once (a batch's puts overlap); with the last one issue the next fetch in the same turn,
   * so the client carries them (and the ACKs of finished messages) in one datagram. The next
   * batch waits until every message of this one is settled, which bounds the messages in hand.
   */
  async #lane(): Promise<void> {
    let idleMs = this.#idleMinMs;
    let empties = 0;
    let pending: Promise<Fetched> | undefined = this.#fetch();
    const waits: Promise<void>[] = [];
    while (pending !== undefined) {
      const { input, items } = await pending;
      pending = undefined;
      if (items.length === 0) {
        // Back off only once a whole round of inputs came back empty.
        if (++empties >= this.#inputs.length) {
          empties = 0;
          this.#stats.backoffs++;
          await this.#idleSleep(idleMs);
          idleMs = Math.min(this.#idleMaxMs, Math.max(1, idleMs * 2));
        }
        if (this.#running) pending = this.#fetch();
        continue;
      }
      empties = 0;
      idleMs = this.#idleMinMs;
      const last = items.length - 1;
      for (let i = 0; i <= last; i++) {
        const item = items[i] as Item;
        const leased = item instanceof Uint8Array ? undefined : item;
        const started = this.#debug ? performance.now() : 0;
        let emitted = this.#apply(input, item, leased);
        if (emitted instanceof Promise) emitted = await emitted;
        const delivered = emitted === undefined ? false : this.#sendAll(input, leased, emitted);
        if (i === last && this.#running) pending = this.#fetch();
        if (delivered === true || delivered === false) this.#settle(input, leased, delivered);
        else waits.push(delivered.then((ok) => this.#settle(input, leased, ok)));
        if (this.#debug) this.#log.debug('Vertex latency', { seconds: (performance.now() - started) / 1000, results: emitted?.length ?? 0 });
      }
      if (waits.length === 1) await waits[0];
      else if (waits.length > 1) await Promise.all(waits);
      waits.length = 0;
    }
  }

  #nextInput(): Input {
    const input = this.#inputs[this.#cursor] as Input;
    this.#cursor = this.#cursor + 1 === this.#inputs.length ? 0 : this.#cursor + 1;
    return input;
  }

  async #fetch(): Promise<Fetched> {
    const input = this.#nextInput();
    const client = input.client as WorkerClient;
    let items: Item[];
    try {
      if (input.guarantee !== 'at-most-once') {
        const deliveries = await client.reserve(input.reserveOptions);
        // Leased from now: the whole batch is covered by lease renewal while it waits its turn.
        const now = Date.now();
        for (const leased of deliveries) this.#leases.set(leased.token, { input, token: leased.token, renewedAt: now });
        items = deliveries;
      } else if (this.#batch === 1) {
        const body = await client.get(input.queueOptions);
        items = body === undefined ? [] : [body];
      } else {
        items = await client.getBatch(this.#batch, input.queueOptions);
      }
    } catch (error) {
      this.#requestFailed(error, input.guarantee === 'at-most-once' ? 'GET' : 'RESERVE', input.label);
      return { input, items: [] };
    }
    this.#stats.received += items.length;
    this.#stats.inFlight += items.length;
    return { input, items };
  }

  #requestFailed(error: unknown, verb: string, label: string): void {
    if (errorCode(error) === 'ERR_TIMEOUT') {
      this.#stats.timeouts++;
      this.#log.warn('request timed out', { verb, node: label });
    } else {
      this.#log.error('request failed', { verb, node: label, code: errorCode(error), error: String(error) });
    }
  }

  /**
   * The messages the function asks to send, or undefined when it rejected the input; a promise
   * only when the function returned one (or an async iterable). Never throws, never rejects.
   */
  #apply(input: Input, item: Item, leased: Delivery | undefined): Emitted[] | undefined | Promise<Emitted[] | undefined> {
    try {
      const context = leased === undefined ? input.context : { input: input.index, deliveries: leased.deliveries };
      const result = this.#fn(decodeText(leased === undefined ? (item as Uint8Array) : leased.body), context);
      if (isThenable(result)) {
        return Promise.resolve(result).then(
          (settled) => (isAsyncIterable(settled) ? collectAsyncResult(settled) : collectResult(settled)),
        ).catch((error: unknown) => this.#rejected(input, leased, error));
      }
      if (isAsyncIterable(result)) return collectAsyncResult(result).catch((error: unknown) => this.#rejected(input, leased, error));
      return collectResult(result);
    } catch (error) {
      return this.#rejected(input, leased, error);
    }
  }

  #rejected(input: Input, leased: Delivery | undefined, error: unknown): undefined {
    this.#stats.rejected++;
    this.#log.warn('input rejected', {
      input: input.label,
      code: errorCode(error),
      error: error instanceof Error ? error.message : String(error),
      deliveries: leased?.deliveries,
    });
    return undefined;
  }

  /** Issues every put of one message at once; true when there is nothing to wait for. */
  #sendAll(input: Input, leased: Delivery | undefined, emitted: Emitted[]): Promise<boolean> | true {
    if (emitted.length === 0) return true;
    if (emitted.length === 1) return this.#send(input, leased, emitted[0] as Emitted, 0);
    const sends: Promise<boolean>[] = [];
    for (let i = 0; i < emitted.length; i++) sends.push(this.#send(input, leased, emitted[i] as Emitted, i));
    return Promise.all(sends).then((results) => results.every(Boolean));
  }

  /** Counts the message done and ACKs (or NACKs) its lease without holding up the lane. */
  #settle(input: Input, leased: Delivery | undefined, ok: boolean): void {
    if (ok) this.#stats.processed++;
    if (leased === undefined) {
      this.#stats.inFlight--;
      return;
    }
    const client = input.client as WorkerClient;
    const token = leased.token;
    const request = ok ? client.ack(token, input.queueOptions) : client.nack(token, input.nackOptions);
    const settled = (): void => {
      this.#leases.delete(token);
      this.#stats.inFlight--;
      this.#settling.delete(settling);
    };
    const settling: Promise<void> = request.then(
      () => {
        if (ok) this.#stats.acked++;
        else this.#stats.nacked++;
        settled();
      },
      (error: unknown) => {
        if (errorCode(error) === 'ERR_UNKNOWN_LEASE') {
          this.#log.warn('lease lost before it was settled: the message may be redelivered', { input: input.label, token });
        } else this.#requestFailed(error, ok ? 'ACK' : 'NACK', input.label);
        settled();
      },
    );
    this.#settling.add(settling);
  }

  #send(input: Input, leased: Delivery | undefined, emitted: Emitted, item: number): Promise<boolean> {
    const outputs = this.#outputs.length;
    let key: string | undefined;
    let index: number;
    if (input.guarantee === 'exactly-once' && leased !== undefined) {
      const messageId = messageIdOf(leased.token);
      const queue = input.queue ?? '';
      if (this.#random === undefined) index = emitted.choice === undefined ? 0 : routeChoice(emitted.choice, outputs);
      else index = Math.floor(keyFraction(outputKey(input.label, queue, messageId, -1, item)) * outputs);
      key = outputKey(input.label, queue, messageId, index, item);
    } else if (this.#random === undefined) {
      index = emitted.choice === undefined ? 0 : routeChoice(emitted.choice, outputs);
    } else {
      index = Math.floor(this.#random() * outputs);
    }
    const output = this.#outputs[index] as Output;
    const body = emitted.body;
    const guarantee = input.guarantee;
    // The first attempt without an async frame; failures go to the retry loop.
    return (output.send as NonNullable<Output['send']>)(body, key, guarantee === 'at-most-once').then(
      () => {
        this.#stats.sent++;
        return true;
      },
      (error: unknown) => this.#deliver(output, body, key, guarantee, error),
    );
  }

  /**
   * Puts one result until the output takes it, after `failure` of the first attempt. A full
   * output is waited for under every guarantee (it refused, so retrying cannot duplicate); a
   * timeout is retried only when duplicates are allowed (at-least-once) or dropped by key
   * (exactly-once).
   */
  async #deliver(output: Output, body: Uint8Array, key: string | undefined, guarantee: Guarantee, failure: unknown): Promise<boolean> {
    const send = output.send as NonNullable<Output['send']>;
    let delayMs: number = DEFAULTS.retryMinMs;
    let error = failure;
    for (;;) {
      const code = errorCode(error);
      if (code === 'ERR_FULL') {
        this.#stats.backoffs++;
        if (this.#debug) this.#log.debug('output full, retrying', { output: output.label, delayMs });
      } else if (code === 'ERR_TIMEOUT' && guarantee !== 'at-most-once') {
        this.#requestFailed(error, 'PUT', output.label);
        this.#stats.backoffs++;
      } else {
        if (code !== 'ERR_TIMEOUT') this.#requestFailed(error, 'PUT', output.label);
        else this.#stats.timeouts++;
        this.#stats.dropped++;
        this.#log.warn('output message dropped', { output: output.label, code, guarantee });
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(DEFAULTS.retryMaxMs, delayMs * 2);
      try {
        await send(body, key, guarantee === 'at-most-once');
        this.#stats.sent++;
        return true;
      } catch (next) {
        error = next;
      }
    }
  }

  #idleSleep(ms: number): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }

  /** Extends the leases of messages processed for longer than half a lease. */
  #renewLeases(): void {
    const now = Date.now();
    for (const lease of this.#leases.values()) {
      if (now - lease.renewedAt < this.#leaseMs / 2) continue;
      lease.renewedAt = now;
      const { input, token } = lease;
      (input.client as WorkerClient).extend(token, this.#leaseMs, input.queueOptions).catch((error: unknown) => {
        if (this.#leases.has(token)) this.#requestFailed(error, 'EXTEND', input.label);
      });
    }
  }
}
