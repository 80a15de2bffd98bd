import type { RemoteInfo } from 'node:dgram';
import { createLogger, formatHostPort, systemClock, type Clock, type HostPort, type Logger } from '@streampy/runtime';
import { MemoryBudget } from './budget.js';
import { resolveConfig, type NodeConfig, type QueueNodeOptions } from './config.js';
import { DeadLetterRouter, RemoteForwarder } from './dead-letter.js';
import { DEFAULT_QUEUE, Dispatcher } from './dispatch.js';
import type { QueueBackend } from './backend.js';
import { JetStreamQueues } from './jetstream/queues.js';
import { LocalBackend, type LocalContext } from './local/backend.js';
import { NoncePool } from './local/nonces.js';
import { storedQueueNames } from './local/stored.js';
import { Registry } from './registry.js';
import { RequestReader } from './requests.js';
import { Scheduler } from './scheduler.js';
import { UdpServer } from './server.js';
import { RecentBodies, newCounters, nodeStats, type NodeStats } from './stats.js';
import type { StorageEngine } from './storage/engine.js';
import { ThrottledLog } from './throttled-log.js';

export type { QueueNodeOptions } from './config.js';

export interface QueueNode {
  readonly address: HostPort;
  stats(): NodeStats;
  /** Stops listening, flushes and closes storage; `size` is what the queues still held. */
  close(): Promise<{ size: number }>;
}

/** How long a stopping node waits for dead letters on their way to another node. */
const FORWARD_GRACE_MS = 1_000;

/**
 * A queue node composed of its layers: the UDP server hands frames to dispatch, dispatch
 * reaches the queues' backends through the registry, and local backends keep their deadlines
 * in the scheduler and route dead letters through the router.
 */
class Node {
  readonly #config: NodeConfig;
  readonly #clock: Clock;
  readonly #loggerOption: QueueNodeOptions['logger'];
  readonly #counters = newCounters();
  readonly #recent = new RecentBodies();
  readonly #server: UdpServer;
  readonly #scheduler: Scheduler;
  readonly #budget: MemoryBudget;
  readonly #startedAt: number;
  #logger: Logger | undefined;
  #ownLogger = false;
  #registry: Registry | undefined;
  #forwarder: RemoteForwarder | undefined;
  /** Set when the queues live in NATS JetStream. */
  #jetstream: JetStreamQueues | undefined;
  #dispatcher: Dispatcher<RemoteInfo> | undefined;
  #engineKind = 'memory';
  #closing: Promise<{ size: number }> | undefined;

  constructor(options: QueueNodeOptions) {
    this.#config = resolveConfig(options);
    this.#clock = options.clock ?? systemClock;
    this.#loggerOption = options.logger;
    this.#startedAt = this.#clock.now();
    this.#scheduler = new Scheduler(this.#clock);
    this.#budget = new MemoryBudget(this.#config.maxMemory);
    this.#server = new UdpServer(this.#config.address, this.#config.maxDatagramBytes, this.#counters, this.#config.access, this.#clock);
  }

  get address(): HostPort {
    return this.#server.address;
  }

  async start(): Promise<void> {
    const address = await this.#server.bind();
    const logger = this.#makeLogger(address);
    const config = this.#config;
    const engines = config.engines(logger, this.#clock);
    const registry = new Registry((name) => this.#openQueue(name, engines, context), config.maxQueues, logger);
    this.#registry = registry;
    const { deadLetter } = config;
    try {
      if (typeof deadLetter !== 'string') this.#forwarder = await RemoteForwarder.start(deadLetter, logger, this.#clock, config.access.keyring);
      if (config.nats !== undefined) {
        logger.info('connecting to NATS', { servers: config.nats.servers, prefix: config.nats.prefix });
        const { maxMessages, maxBytes, dedupWindowMs, maxDeliveries } = config.limits;
        // The consumer's ack wait is the default lease: how long a lease lasts once its node stops keeping it.
        const rules = { maxMessages, maxBytes, dedupWindowMs, maxDeliveries, ackWaitMs: config.leaseMs };
        this.#jetstream = await JetStreamQueues.connect({ config: config.nats, rules, clock: this.#clock, scheduler: this.#scheduler, logger });
      }
    } catch (error) {
      await this.#shutdown();
      throw error;
    }
    const context: LocalContext = {
      clock: this.#clock,
      budget: this.#budget,
      scheduler: this.#scheduler,
      nonces: new NoncePool(),
      limits: config.limits,
      deadLetters: new DeadLetterRouter(deadLetter, registry, logger, this.#forwarder),
    };
    try {
      const names = new Set([DEFAULT_QUEUE, ...(config.nats === undefined ? storedQueueNames(config.dataDir, logger) : [])]);
      if (typeof deadLetter === 'string') names.add(deadLetter);
      for (const name of names) await registry.open(name);
    } catch (error) {
      await this.#shutdown();
      throw error;
    }
    this.#engineKind = registry.get(DEFAULT_QUEUE)?.kind ?? 'memory';
    if (this.#budget.used > this.#budget.limit) {
      // Recovered messages were acknowledged: all are served, and puts wait until consumers make room.
      logger.warn('recovered more than the memory budget; puts are refused until consumers take messages', { accounted: this.#budget.used, maxMemory: this.#budget.limit });
    }
    const log = new ThrottledLog(logger, this.#clock);
    const dispatcher = new Dispatcher<RemoteInfo>({
      registry,
      reader: new RequestReader(this.#counters, log, config.maxMessageBytes),
      clock: this.#clock,
      logger,
      counters: this.#counters,
      recent: this.#recent,
      stats: (peer) => this.#stats(this.#server.showsBodiesTo(peer)),
      leaseMs: config.leaseMs,
      maxDatagramBytes: config.maxDatagramBytes,
      send: (out, peer) => this.#server.send(out, peer),
      latency: config.latency,
    });
    this.#dispatcher = dispatcher;
    this.#server.listen(dispatcher, log);
    logger.info('listening', {
      address: formatHostPort(address),
      engine: this.#engineKind,
      queues: registry.names(),
      deadLetter: typeof deadLetter === 'string' ? deadLetter : formatHostPort(deadLetter),
      allow: config.access.allow?.toString() ?? 'every source (signed datagrams only)',
      auth: config.access.keyring === undefined ? 'none' : `key ${config.access.keyring.signing.id} signs, ${config.access.keyring.keys.size} verify`,
    });
  }

  stats(): NodeStats {
    return this.#stats(true);
  }

  /** `bodies`: with the last bodies put, for a trusted asker (see `UdpServer.showsBodiesTo`). */
  #stats(bodies: boolean): NodeStats {
    return nodeStats({
      address: formatHostPort(this.#server.address),
      engine: this.#engineKind,
      uptimeMs: this.#clock.now() - this.#startedAt,
      counters: this.#counters,
      deadLettersForwarded: this.#forwarder?.forwarded ?? 0,
      deadLettersPending: this.#forwarder?.pending ?? 0,
      queues: this.#registry?.backends() ?? [],
      memory: this.#budget.stats(),
      recent: bodies ? this.#recent : undefined,
    });
  }

  close(): Promise<{ size: number }> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** The prototype named each node's logger after its address, known only once bound. */
  #makeLogger(address: HostPort): Logger {
    const option = this.#loggerOption;
    let logger: Logger;
    if (option === undefined || typeof option === 'function') {
      logger = option ? option(address) : createLogger({ name: `MQ.${address.host}-${address.port}` });
      this.#ownLogger = true;
    } else logger = option;
    this.#logger = logger;
    return logger;
  }

  #openQueue(name: string, engines: (name: string) => StorageEngine, context: LocalContext): Promise<QueueBackend> {
    const isDeadLetterQueue = typeof this.#config.deadLetter === 'string' && name === this.#config.deadLetter;
    const jetstream = this.#jetstream;
    if (jetstream === undefined) return this.#openLocal(name, engines(name), context, isDeadLetterQueue);
    return jetstream.open(name, context.deadLetters, isDeadLetterQueue).then((backend) => {
      this.#logger?.info('queue opened', { queue: name, engine: backend.kind });
      return backend;
    });
  }

  async #openLocal(name: string, engine: StorageEngine, context: LocalContext, isDeadLetterQueue: boolean): Promise<LocalBackend> {
    const backend = await LocalBackend.open(name, engine, context, isDeadLetterQueue);
    this.#logger?.info('queue opened', { queue: name, engine: engine.kind, recovered: backend.size() });
    return backend;
  }

  async #shutdown(): Promise<{ size: number }> {
    this.#dispatcher?.stop();
    this.#scheduler.stop();
    await this.#server.close();
    const logger = this.#logger;
    let unsettled = 0;
    if (this.#forwarder) unsettled = await this.#forwarder.close(FORWARD_GRACE_MS);
    if (unsettled > 0) {
      logger?.warn('dead letters not confirmed by the destination at shutdown; a durable engine keeps them in their queue', { count: unsettled });
    }
    let size = unsettled;
    const registry = this.#registry;
    if (registry !== undefined) {
      await registry.settle();
      for (const backend of registry.backends()) {
        const { size: ready, leased, delayed } = backend.stats();
        size += ready + leased + delayed;
      }
      await registry.close();
    }
    await this.#jetstream?.close().catch((error: unknown) => logger?.warn('NATS connection did not close cleanly', { error: String(error) }));
    logger?.info('stopped', { size });
    if (this.#ownLogger) await logger?.close();
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
