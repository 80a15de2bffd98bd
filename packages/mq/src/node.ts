import { isUtf8 } from 'node:buffer';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_MAX_FRAME_BYTES,
  PROTOCOL_LIMITS,
  UnknownVerbError,
  decodeFrame,
  encodeReply,
  encodedFrameLength,
  isCodecError,
  isSeedForm,
  parseRequest,
  replyId,
  scanFrames,
  type Reply,
  type Request,
  type WireErrorCode,
} from '@streampy/codec';
import { createLogger, formatHostPort, parseHostPort, type HostPort, type Logger } from '@streampy/runtime';
import { DeadLetterForwarder } from './dead-letter.js';
import { MqError } from './errors.js';
import { DeadlineHeap } from './heap.js';
import { maxMessageBytesFor } from './limits.js';
import { MAX_DELIVERIES, Queue, messageIdOf, type HeldMessage, type QueueContext, type QueueStats } from './queue.js';
import { ReplyWriter } from './reply-writer.js';
import { emptySlot } from './ring.js';
import type { EngineFactory, FsyncPolicy, StorageEngine } from './storage/engine.js';
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
  /** Idempotency keys remembered per queue at most; the oldest go first. Default 100000. */
  readonly maxDedupKeys?: number;
  /** Largest datagram sent or accepted. Default 65507. */
  readonly maxDatagramBytes?: number;
  /** Named queues a node holds at most, the default and dead-letter queues included. Default 64. */
  readonly maxQueues?: number;
}

export interface NodeStats {
  readonly address: string;
  readonly engine: string;
  readonly uptimeMs: number;
  readonly datagramsIn: number;
  readonly datagramsOut: number;
  readonly framesIn: number;
  readonly badFrames: number;
  readonly unknownVerbs: number;
  readonly badRequests: number;
  /** Every `ERR` reply sent, whatever its code. */
  readonly errors: number;
  readonly sendErrors: number;
  readonly deadLettersForwarded: number;
  readonly deadLettersPending: number;
  readonly queues: Readonly<Record<string, QueueStats>>;
  /** The last (up to 5) bodies put to the default queue, each cut to 40 characters. */
  readonly recent: readonly string[];
}

export interface QueueNode {
  readonly address: HostPort;
  stats(): NodeStats;
  /** Stops listening, flushes and closes storage; `size` is what the queues still held. */
  close(): Promise<{ size: number }>;
}

const DEFAULT_QUEUE = 'default';
const RECENT_COUNT = 5;
const RECENT_CHARS = 40;
const ID_RE = /^[A-Za-z0-9_.-]{1,40}$/;
/** Bytes of the frame header of any reply that fits a datagram. */
const FRAME_HEADER = 5;
const BATCH_STATUS = 'LEASED 1000:'.length;
/** `<token> <deliveries>:` around a leased body, at most: a 22-character token and a 5-digit count. */
const LEASE_ITEM_OVERHEAD = 22 + 1 + 5 + 1;
const LOG_INTERVAL_MS = 1_000;
/** Seed `PUT <n> bytes` replies kept ready, one per byte count seen (bounded). */
const SEED_REPLY_CACHE = 4096;
const HASH = 0x23;
const SPACE = 0x20;
const COLON = 0x3a;
const DOT = 0x2e;
const FORWARD_GRACE_MS = 1_000;
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

interface Config {
  readonly address: HostPort;
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly maxDeliveries: number;
  readonly dedupWindowMs: number;
  readonly maxDedupKeys: number;
  readonly engine: EngineFactory;
  readonly dataDir: string | undefined;
  readonly leaseMs: number;
  readonly deadLetter: string | HostPort;
  readonly maxDatagramBytes: number;
  readonly maxMessageBytes: number;
  readonly maxQueues: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new MqError('ERR_BAD_OPTION', `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function toHostPort(name: string, value: string | HostPort): HostPort {
  if (typeof value !== 'string') return value;
  try {
    return parseHostPort(value, name);
  } catch (cause) {
    throw new MqError('ERR_BAD_OPTION', (cause as Error).message, { cause });
  }
}

function resolveConfig(options: QueueNodeOptions): Config {
  if (options.engine !== undefined && options.dataDir !== undefined) {
    throw new MqError('ERR_BAD_OPTION', 'give either engine or dataDir, not both');
  }
  const dataDir = options.dataDir;
  const fsync = options.fsync ?? 10;
  const engine: EngineFactory =
    options.engine ?? (dataDir === undefined ? () => createMemoryEngine() : (name) => createLogEngine({ dir: join(dataDir, name), fsync }));
  const maxDatagramBytes = positiveInteger('maxDatagramBytes', options.maxDatagramBytes, DEFAULT_MAX_FRAME_BYTES, 1024, DEFAULT_MAX_FRAME_BYTES);
  const deadLetter = options.deadLetter ?? 'dead';
  if (typeof deadLetter === 'string' && !deadLetter.includes(':') && !isQueueName(deadLetter)) {
    throw new MqError('ERR_BAD_OPTION', `deadLetter must be a queue name (A-Z a-z 0-9 _ . -, not starting with ".") or host:port, got "${deadLetter}"`);
  }
  return {
    address: toHostPort('address', options.address ?? '127.0.0.1:0'),
    engine,
    dataDir,
    maxMessages: positiveInteger('maxMessages', options.maxMessages, Number.MAX_SAFE_INTEGER),
    maxBytes: positiveInteger('maxBytes', options.maxBytes, Number.MAX_SAFE_INTEGER),
    leaseMs: positiveInteger('leaseMs', options.leaseMs, 30_000, 1, PROTOCOL_LIMITS.maxLeaseMs),
    maxDeliveries: positiveInteger('maxDeliveries', options.maxDeliveries, 5, 1, MAX_DELIVERIES),
    deadLetter: typeof deadLetter === 'string' && deadLetter.includes(':') ? toHostPort('deadLetter', deadLetter) : deadLetter,
    dedupWindowMs: positiveInteger('dedupWindowMs', options.dedupWindowMs, 300_000, 0),
    maxDedupKeys: positiveInteger('maxDedupKeys', options.maxDedupKeys, 100_000, 0),
    maxDatagramBytes,
    maxMessageBytes: maxMessageBytesFor(maxDatagramBytes),
    maxQueues: positiveInteger('maxQueues', options.maxQueues, 64, 2),
  };
}

/** A queue name that is also a safe directory name: the codec's name rule, not starting with a dot. */
function isQueueName(name: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/.test(name);
}

function withId(id: string | undefined, reply: Reply): Reply {
  return id === undefined ? reply : { ...reply, id };
}

/** The correlation id of a request payload that could not be parsed, if it has a valid one. */
function requestIdOf(payload: Uint8Array): string | undefined {
  const id = replyId(payload);
  return id !== undefined && ID_RE.test(id) ? id : undefined;
}

function utf8Text(bytes: Uint8Array): string {
  if (Buffer.isBuffer(bytes)) return bytes.toString('utf8');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** A rate limit per log event: at most one line a second, with the count of lines held back. */
class ThrottledLog {
  readonly #last = new Map<string, { at: number; suppressed: number }>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  warn(event: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    const seen = this.#last.get(event);
    if (seen && now - seen.at < LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    this.#logger.warn(event, seen?.suppressed ? { ...fields, suppressed: seen.suppressed } : fields);
    this.#last.set(event, { at: now, suppressed: 0 });
  }
}

/** One request frame, parsed, or the error reply it already earned. */
type Step = Request | Uint8Array;

class Node implements QueueContext {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly maxDeliveries: number;
  readonly dedupWindowMs: number;
  readonly maxDedupKeys: number;
  readonly #config: Config;
  readonly #socket: Socket;
  readonly #loggerOption: QueueNodeOptions['logger'];
  #ownLogger = false;
  #logger!: Logger;
  #throttled!: ThrottledLog;
  #address: HostPort;
  readonly #queues = new Map<string, Queue>();
  readonly #opening = new Map<string, Promise<Queue>>();
  readonly #deadlines = new DeadlineHeap<HeldMessage>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #forwarder: DeadLetterForwarder | undefined;
  #engineKind = 'memory';
  /** The last bodies put to the default queue, a ring of `RECENT_COUNT`; cut for display only in `stats()`. */
  readonly #recent: string[] = [];
  #recentNext = 0;
  readonly #slot = emptySlot();
  readonly #out: ReplyWriter;
  readonly #frameStarts: number[] = [];
  readonly #seedPutReplies = new Map<number, Uint8Array>();
  readonly #batchBodies: string[] = [];
  readonly #batchSizes: number[] = [];
  readonly #batchLeased: HeldMessage[] = [];
  readonly #startedAt = Date.now();
  readonly #counters = {
    datagramsIn: 0,
    datagramsOut: 0,
    framesIn: 0,
    badFrames: 0,
    unknownVerbs: 0,
    badRequests: 0,
    errors: 0,
    sendErrors: 0,
  };
  #stopping = false;
  #closing: Promise<{ size: number }> | undefined;
  readonly #onSent = (error: Error | null): void => {
    if (!error) return;
    this.#counters.sendErrors++;
    this.#throttled.warn('send failed', { error: error.message });
  };

  constructor(options: QueueNodeOptions) {
    this.#config = resolveConfig(options);
    this.maxMessages = this.#config.maxMessages;
    this.maxBytes = this.#config.maxBytes;
    this.maxDeliveries = this.#config.maxDeliveries;
    this.dedupWindowMs = this.#config.dedupWindowMs;
    this.maxDedupKeys = this.#config.maxDedupKeys;
    this.#address = this.#config.address;
    this.#loggerOption = options.logger;
    this.#socket = createSocket(this.#address.host.includes(':') ? 'udp6' : 'udp4');
    this.#out = new ReplyWriter(this.#config.maxDatagramBytes);
  }

  get address(): HostPort {
    return this.#address;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#socket.once('error', reject);
      this.#socket.bind(this.#address.port, this.#address.host, () => {
        this.#socket.off('error', reject);
        resolve();
      });
    });
    const bound = this.#socket.address();
    this.#address = { host: bound.address, port: bound.port };
    const option = this.#loggerOption;
    if (option === undefined || typeof option === 'function') {
      // The prototype named each node's logger after its address, known only once bound.
      this.#logger = option ? option(this.#address) : createLogger({ name: `MQ.${bound.address}-${bound.port}` });
      this.#ownLogger = true;
    } else this.#logger = option;
    this.#throttled = new ThrottledLog(this.#logger);
    try {
      // A bigger receive buffer rides out bursts; the OS may cap it, which is fine.
      this.#socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
    } catch {
      // Best effort only.
    }
    this.#socket.on('error', (error) => this.#throttled.warn('socket error', { error: error.message }));
    try {
      const { deadLetter } = this.#config;
      if (typeof deadLetter !== 'string') this.#forwarder = await DeadLetterForwarder.start(deadLetter, this.#logger);
      const names = new Set([DEFAULT_QUEUE, ...this.#storedQueueNames()]);
      if (typeof deadLetter === 'string') names.add(deadLetter);
      for (const name of names) await this.#openQueue(name);
    } catch (error) {
      await this.#shutdown();
      throw error;
    }
    this.#engineKind = this.#queues.get(DEFAULT_QUEUE)?.engine.kind ?? 'memory';
    this.#socket.on('message', (datagram, peer) => this.#onDatagram(datagram, peer));
    this.#logger.info('listening', {
      address: formatHostPort(this.#address),
      engine: this.#engineKind,
      queues: [...this.#queues.keys()],
      deadLetter: typeof this.#config.deadLetter === 'string' ? this.#config.deadLetter : formatHostPort(this.#config.deadLetter),
    });
  }

  #storedQueueNames(): string[] {
    const dir = this.#config.dataDir;
    if (dir === undefined) return [];
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const names: string[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      if (isQueueName(entry.name)) names.push(entry.name);
      else this.#logger.warn('ignoring a data directory entry that is not a queue name', { entry: entry.name });
    }
    return names.sort();
  }

  #openQueue(name: string): Promise<Queue> {
    const open = this.#queues.get(name);
    if (open) return Promise.resolve(open);
    let opening = this.#opening.get(name);
    if (opening) return opening;
    opening = (async () => {
      const engine: StorageEngine = this.#config.engine(name);
      const state = await engine.open();
      const queue = new Queue(name, engine, this, typeof this.#config.deadLetter === 'string' && name === this.#config.deadLetter);
      queue.restore(state, Date.now());
      this.#queues.set(name, queue);
      this.#logger.info('queue opened', { queue: name, engine: engine.kind, recovered: queue.size });
      return queue;
    })();
    this.#opening.set(name, opening);
    const forget = (): void => void this.#opening.delete(name);
    opening.then(forget, forget);
    return opening;
  }

  // ---- datagrams in, replies out -------------------------------------------------------

  #onDatagram(datagram: Buffer, peer: RemoteInfo): void {
    if (this.#stopping) return;
    this.#counters.datagramsIn++;
    const { frames, error } = scanFrames(datagram, { maxFrameBytes: this.#config.maxDatagramBytes });
    this.#counters.framesIn += frames.length;
    const steps: Step[] = new Array<Step>(frames.length);
    // Frame headers are ASCII, so a datagram that is valid UTF-8 as a whole has only valid
    // UTF-8 payloads: one check for a whole batch. Otherwise each payload is checked alone.
    const allUtf8 = frames.length > 1 && isUtf8(datagram);
    let missing: string[] | undefined;
    for (let i = 0; i < frames.length; i++) {
      const step = this.#parse(frames[i] as Uint8Array, peer, allUtf8);
      steps[i] = step;
      if (!(step instanceof Uint8Array) && step.verb !== 'STATS' && step.queue !== undefined && !this.#queues.has(step.queue)) {
        const full = this.#queues.size + this.#opening.size >= this.#config.maxQueues;
        if (full && !this.#opening.has(step.queue)) {
          steps[i] = this.#error(step.id, 'BAD_REQUEST', `this node holds at most ${this.#config.maxQueues} queues; "${step.queue}" would be one more`);
        } else {
          (missing ??= []).push(step.queue);
          void this.#openQueue(step.queue).catch((cause: unknown) => {
            this.#logger.error('queue could not be opened', { queue: step.queue, error: String(cause) });
          });
        }
      }
    }
    if (error) {
      this.#counters.badFrames++;
      this.#throttled.warn('bad frame', { peer: `${peer.address}:${peer.port}`, code: error.code, reason: error.message, offset: error.offset });
      steps.push(this.#error(undefined, 'BAD_FRAME', `${error.message} (at byte ${error.offset ?? 0})`));
    }
    if (missing === undefined) return this.#execute(steps, peer);
    const waits = missing.map((name) => this.#opening.get(name) ?? Promise.resolve());
    void Promise.allSettled(waits).then(() => this.#execute(steps, peer));
  }

  #parse(payload: Uint8Array, peer: RemoteInfo, knownUtf8: boolean): Step {
    // The seed decoder required UTF-8 for the whole payload, so do we.
    if (!knownUtf8 && !isUtf8(payload)) {
      this.#counters.badFrames++;
      this.#throttled.warn('bad frame', { peer: `${peer.address}:${peer.port}`, reason: 'payload is not valid UTF-8' });
      return this.#error(requestIdOf(payload), 'BAD_FRAME', 'payload is not valid UTF-8');
    }
    try {
      const request = parseRequest(payload);
      if (request.queue !== undefined && request.queue.startsWith('.')) {
        this.#counters.badRequests++;
        return this.#error(request.id, 'BAD_REQUEST', `queue name must not start with ".", got "${request.queue}"`);
      }
      return request;
    } catch (error) {
      if (!isCodecError(error)) throw error;
      const id = requestIdOf(payload);
      if (error instanceof UnknownVerbError) {
        this.#counters.unknownVerbs++;
        this.#throttled.warn('unknown verb', { peer: `${peer.address}:${peer.port}`, verb: error.verb.slice(0, 40) });
        return this.#error(id, 'UNKNOWN_VERB', error.message);
      }
      this.#counters.badRequests++;
      this.#throttled.warn('bad request', { peer: `${peer.address}:${peer.port}`, reason: error.message });
      return this.#error(id, 'BAD_REQUEST', error.message);
    }
  }

  #execute(steps: Step[], peer: RemoteInfo): void {
    if (this.#stopping) return;
    const out = this.#out;
    // Where each reply frame starts: needed only when replies wait for a flush (see below).
    const starts = this.#frameStarts;
    starts.length = 0;
    let syncPuts: number[] | undefined;
    let syncEngines: Set<StorageEngine> | undefined;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i] as Step;
      starts.push(out.length);
      if (step instanceof Uint8Array) {
        this.#reply(step);
        continue;
      }
      // STATS covers the whole node: its q= names no queue to create.
      const queue = this.#queues.get(step.verb === 'STATS' ? DEFAULT_QUEUE : (step.queue ?? DEFAULT_QUEUE));
      try {
        if (!queue) {
          this.#reply(this.#error(step.id, 'INTERNAL', `queue "${step.queue ?? DEFAULT_QUEUE}" could not be opened`));
          continue;
        }
        if (!this.#run(step, queue)) {
          this.#logger.error('reply larger than a datagram', { verb: step.verb });
          this.#reply(this.#error(undefined, 'INTERNAL', 'the reply would not fit in a datagram'));
        }
        if (step.verb === 'PUT' && queue.engine.syncBeforeAck) {
          (syncPuts ??= []).push(i);
          (syncEngines ??= new Set()).add(queue.engine);
        }
      } catch (error) {
        out.abandon();
        this.#logger.error('request failed', { verb: step.verb, error: error instanceof Error ? error.message : String(error) });
        this.#reply(this.#error(step.id, 'INTERNAL', 'the node failed to carry out the request'));
      }
    }
    if (syncEngines === undefined || syncPuts === undefined) return this.#flush(peer);
    // Replies wait for the flush while the writer serves other datagrams: keep their payloads.
    const written = out.copy(0);
    const replies = starts.map((start, i) => decodeFrame(written.subarray(start, starts[i + 1] ?? written.length)));
    out.reset();
    const puts = syncPuts;
    const sendAll = (): void => {
      for (const reply of replies) this.#reply(reply);
      this.#flush(peer);
    };
    Promise.all([...syncEngines].map((engine) => engine.flush())).then(sendAll, (error: unknown) => {
      this.#logger.error('storage flush failed', { error: error instanceof Error ? error.message : String(error) });
      for (const i of puts) {
        const step = steps[i] as Request;
        replies[i] = this.#error(step.id, 'INTERNAL', 'storage failed before the message was durable; it may or may not be stored');
      }
      sendAll();
    });
  }

  /** Writes a ready-made reply payload (an error, STATS, a kept reply). */
  #reply(payload: Uint8Array): void {
    if (this.#out.frame(payload)) return;
    this.#logger.error('reply larger than a datagram', { bytes: encodedFrameLength(payload.length) });
    this.#out.frame(this.#error(undefined, 'INTERNAL', 'the reply would not fit in a datagram'));
  }

  /** Sends what the writer holds, in as few datagrams as fit. */
  #flush(peer: RemoteInfo): void {
    if (this.#stopping) {
      this.#out.reset();
      return;
    }
    this.#out.flush((datagram) => {
      this.#counters.datagramsOut++;
      this.#socket.send(datagram, peer.port, peer.address, this.#onSent);
    });
  }

  #error(id: string | undefined, code: WireErrorCode, message: string): Uint8Array {
    this.#counters.errors++;
    return encodeReply(withId(id, { kind: 'error', code, message }));
  }

  /** Starts a typed reply frame: `[#id ]` then the status word. */
  #status(id: string | undefined, status: string): void {
    const out = this.#out;
    out.begin();
    if (id !== undefined) {
      out.byte(HASH);
      out.ascii(id);
      out.byte(SPACE);
    }
    out.ascii(status);
  }

  // ---- commands ---------------------------------------------------------------------------

  /** Carries out one request and writes its reply; false when the reply did not fit a datagram. */
  #run(request: Request, queue: Queue): boolean {
    const id = request.id;
    const now = Date.now();
    const out = this.#out;
    switch (request.verb) {
      case 'PUT':
        return this.#put(request, queue, now);
      case 'GET': {
        if (request.max !== undefined) return this.#getBatch(queue, request.max, id, now);
        const seed = isSeedForm(request);
        const slot = this.#slot;
        if (!queue.get(slot)) {
          if (seed) out.begin();
          else this.#status(id, 'EMPTY');
          return out.end();
        }
        this.#delivered(queue, slot.enqueuedAt, now);
        if (seed) out.begin();
        else {
          this.#status(id, 'MSG');
          out.byte(COLON);
        }
        out.utf8(slot.body, slot.bytes);
        slot.body = '';
        return out.end();
      }
      case 'SIZE':
        if (isSeedForm(request)) out.begin();
        else this.#status(id, 'SIZE ');
        out.decimal(queue.size);
        return out.end();
      case 'STATS':
        return out.frame(encodeReply(withId(id, { kind: 'stats', stats: this.stats() as unknown as Record<string, unknown> })));
      case 'RESERVE':
        return this.#reserve(queue, request.max ?? 1, request.leaseMs ?? this.#config.leaseMs, id, now);
      case 'ACK':
      case 'NACK':
      case 'EXTEND': {
        const message = queue.leaseOf(request.token);
        if (!message) {
          return out.frame(this.#error(id, 'UNKNOWN_LEASE', `lease ${request.token} is not held in queue ${queue.name}: acked, expired, redelivered or never issued`));
        }
        if (request.verb === 'ACK') queue.ack(message);
        else if (request.verb === 'NACK') queue.nack(message, request.delayMs ?? 0, now);
        else queue.extend(message, request.leaseMs, now);
        this.#status(id, 'OK');
        return out.end();
      }
    }
  }

  #put(request: Request & { verb: 'PUT' }, queue: Queue, now: number): boolean {
    const body = request.body;
    const bytes = body.byteLength;
    if (bytes > this.#config.maxMessageBytes) {
      return this.#out.frame(this.#error(request.id, 'TOO_LARGE', `message of ${bytes} bytes is over this node's limit of ${this.#config.maxMessageBytes} bytes`));
    }
    const text = utf8Text(body);
    const outcome = queue.put(text, body, request.key, now);
    if (outcome === 'full') {
      return this.#out.frame(this.#error(request.id, 'FULL', `queue ${queue.name} is full (${queue.held} messages held); retry later`));
    }
    if (outcome === 'stored' && queue.name === DEFAULT_QUEUE) {
      this.#recent[this.#recentNext] = text;
      this.#recentNext = (this.#recentNext + 1) % RECENT_COUNT;
    }
    if (isSeedForm(request)) return this.#out.frame(this.#seedPutReply(bytes));
    this.#status(request.id, 'PUT ');
    this.#out.decimal(bytes);
    this.#out.ascii(outcome === 'duplicate' ? ' bytes DUP' : ' bytes');
    return this.#out.end();
  }

  /** `PUT <n> bytes`, the seed's reply, made once per byte count seen. */
  #seedPutReply(bytes: number): Uint8Array {
    let reply = this.#seedPutReplies.get(bytes);
    if (reply === undefined) {
      reply = encodeReply({ kind: 'put', bytes, duplicate: false }, true);
      if (this.#seedPutReplies.size < SEED_REPLY_CACHE) this.#seedPutReplies.set(bytes, reply);
    }
    return reply;
  }

  /** Room for items in one reply datagram after the frame header, id prefix and status. */
  #batchBudget(id: string | undefined): number {
    return this.#config.maxDatagramBytes - FRAME_HEADER - (id === undefined ? 0 : id.length + 2) - BATCH_STATUS;
  }

  /** `MSGS <n>:` and one frame per message, as many as `max` and one datagram allow. */
  #getBatch(queue: Queue, max: number, id: string | undefined, now: number): boolean {
    const bodies = this.#batchBodies;
    const sizes = this.#batchSizes;
    bodies.length = 0;
    sizes.length = 0;
    let budget = this.#batchBudget(id);
    const slot = this.#slot;
    while (bodies.length < max) {
      const head = queue.headBytes();
      if (head < 0) break;
      const cost = encodedFrameLength(head);
      if (bodies.length > 0 && cost > budget) break;
      queue.get(slot);
      this.#delivered(queue, slot.enqueuedAt, now);
      bodies.push(slot.body);
      sizes.push(slot.bytes);
      budget -= cost;
    }
    slot.body = '';
    const out = this.#out;
    this.#status(id, 'MSGS ');
    out.decimal(bodies.length);
    out.byte(COLON);
    for (let i = 0; i < bodies.length; i++) {
      out.begin();
      out.utf8(bodies[i] as string, sizes[i] as number);
      out.end();
    }
    bodies.length = 0;
    return out.end();
  }

  /** `LEASED <n>:` and one `<token> <deliveries>:<body>` frame per message leased. */
  #reserve(queue: Queue, max: number, leaseMs: number, id: string | undefined, now: number): boolean {
    const leased = this.#batchLeased;
    leased.length = 0;
    let budget = this.#batchBudget(id);
    while (leased.length < max) {
      const head = queue.headBytes();
      if (head < 0) break;
      const cost = encodedFrameLength(head + LEASE_ITEM_OVERHEAD);
      if (leased.length > 0 && cost > budget) break;
      const message = queue.reserve(now, leaseMs, this.#slot) as HeldMessage;
      if (message.deliveries === 1) this.#delivered(queue, message.enqueuedAt, now);
      leased.push(message);
      budget -= cost;
    }
    this.#slot.body = '';
    const out = this.#out;
    this.#status(id, 'LEASED ');
    out.decimal(leased.length);
    out.byte(COLON);
    for (const message of leased) {
      out.begin();
      out.ascii(messageIdOf(message.seq));
      out.byte(DOT);
      out.decimal(message.deliveries);
      out.byte(SPACE);
      out.decimal(message.deliveries);
      out.byte(COLON);
      out.utf8(message.body, message.bytes);
      out.end();
    }
    leased.length = 0;
    return out.end();
  }

  #delivered(queue: Queue, enqueuedAt: number, now: number): void {
    if (this.#logger.enabled('debug')) {
      this.#logger.debug('edge latency', { queue: queue.name, seconds: (now - enqueuedAt) / 1000 });
    }
  }

  // ---- leases, delays and dead letters ----------------------------------------------------

  schedule(message: HeldMessage): void {
    this.#deadlines.update(message);
    this.#armTimer();
  }

  unschedule(message: HeldMessage): void {
    this.#deadlines.remove(message);
  }

  #armTimer(): void {
    const next = this.#deadlines.peek();
    if (!next || this.#stopping) return;
    if (this.#timer && this.#timerAt <= next.dueAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = next.dueAt;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, next.dueAt - Date.now()));
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = Date.now();
    for (let due = this.#deadlines.peek(); due && due.dueAt <= now; due = this.#deadlines.peek()) {
      this.#deadlines.pop();
      due.queue.onDue(due);
    }
    this.#armTimer();
  }

  deadLetter(from: Queue, message: HeldMessage): void {
    const destination = this.#config.deadLetter;
    this.#logger.info('dead letter', {
      queue: from.name,
      messageId: message.seq,
      deliveries: message.deliveries,
      to: typeof destination === 'string' ? destination : formatHostPort(destination),
    });
    if (this.#forwarder) {
      // `<messageId>.<queue>` names the message across retries: the remote node stores it once.
      const key = `${messageIdOf(message.seq)}.${from.name}`.slice(0, PROTOCOL_LIMITS.maxNameLength);
      this.#forwarder.forward(message.body, key, (outcome) => {
        if (outcome === 'refused') this.#storeLocalDeadLetter(message, 'dead');
        from.engine.remove(message.seq);
      });
      return;
    }
    this.#storeLocalDeadLetter(message, destination as string);
    from.engine.remove(message.seq);
  }

  #storeLocalDeadLetter(message: HeldMessage, name: string): void {
    const queue = this.#queues.get(name);
    const body = Buffer.from(message.body, 'utf8');
    if (queue) {
      queue.put(message.body, body, undefined, Date.now(), false);
      return;
    }
    // Only reached when a remote destination refused a message: open the local queue first.
    void this.#openQueue(name).then(
      (opened) => opened.put(message.body, body, undefined, Date.now(), false),
      (error: unknown) => this.#logger.error('dead letter lost: local dead-letter queue could not be opened', { error: String(error) }),
    );
  }

  // ---- stats and shutdown ---------------------------------------------------------------

  stats(): NodeStats {
    const queues: Record<string, QueueStats> = {};
    for (const [name, queue] of this.#queues) queues[name] = queue.stats();
    return {
      address: formatHostPort(this.#address),
      engine: this.#engineKind,
      uptimeMs: Date.now() - this.#startedAt,
      ...this.#counters,
      deadLettersForwarded: this.#forwarder?.forwarded ?? 0,
      deadLettersPending: this.#forwarder?.pending ?? 0,
      queues,
      recent: this.#recentBodies(),
    };
  }

  /** The recent bodies, oldest first, each cut to `RECENT_CHARS`. */
  #recentBodies(): string[] {
    const n = this.#recent.length;
    const bodies: string[] = [];
    for (let k = 0; k < n; k++) {
      const text = this.#recent[(this.#recentNext + k) % n] as string;
      bodies.push(text.length > RECENT_CHARS ? text.slice(0, RECENT_CHARS) : text);
    }
    return bodies;
  }

  close(): Promise<{ size: number }> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<{ size: number }> {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#deadlines.clear();
    await new Promise<void>((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // never bound, or closed already
      }
    });
    let unsettled = 0;
    if (this.#forwarder) unsettled = await this.#forwarder.close(FORWARD_GRACE_MS);
    if (unsettled > 0) {
      this.#logger.warn('dead letters not confirmed by the destination at shutdown; a durable engine keeps them in their queue', { count: unsettled });
    }
    await Promise.allSettled([...this.#opening.values()]);
    let size = unsettled;
    for (const queue of this.#queues.values()) size += queue.held;
    const results = await Promise.allSettled([...this.#queues.values()].map(async (queue) => {
      await queue.engine.flush();
      await queue.engine.close();
    }));
    for (const result of results) {
      if (result.status === 'rejected') this.#logger.error('storage close failed', { error: String(result.reason) });
    }
    this.#logger.info('stopped', { size });
    if (this.#ownLogger) await this.#logger.close();
    return { size };
  }
}

/** Starts a queue node listening on UDP; resolves once it is bound and its queues are recovered. */
export async function createQueueNode(options: QueueNodeOptions = {}): Promise<QueueNode> {
  const node = new Node(options);
  await node.start();
  return {
    get address() {
      return node.address;
    },
    stats: () => node.stats(),
    close: () => node.close(),
  };
}
