import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { NoRespondersError, RequestError, connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@streampy/runtime';
import { MqError } from '../errors.js';
import type { JetStreamConfig } from './config.js';
import { NODE_ID_LENGTH } from './names.js';

/** The error every operation answers while JetStream cannot be reached (wire `ERR UNAVAILABLE`). */
export function unavailable(what: string, cause?: unknown): MqError {
  const why = cause instanceof Error ? `: ${cause.message}` : '';
  return new MqError('ERR_UNAVAILABLE', `NATS JetStream did not ${what}${why}; nothing acknowledged is lost, retry later`, cause === undefined ? undefined : { cause });
}

/** JetStream's error codes for a publish over a stream's bounds (discard new): maximum messages, bytes, resources. */
const FULL_CODES = new Set([10_077, 10_078, 10_023, 10_047]);

/** True when a publish was refused for space (the PUT answers ERR FULL). */
export function isFullCode(code: number): boolean {
  return FULL_CODES.has(code);
}

/** True when `error` says nobody listens on a subject (the node a token names is gone). */
export function isNoResponders(error: unknown): boolean {
  return error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders());
}

/**
 * The node's one connection to NATS and its JetStream contexts: it reconnects forever by
 * itself; while it is down, calls fail at once with ERR_UNAVAILABLE instead of queueing up in
 * the client's buffer (a put that answered UNAVAILABLE must not land minutes later).
 */
export class JetStreamLink {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly config: JetStreamConfig;
  /** This node's name in lease tokens, random per start (see `LeaseRouter`). */
  readonly nodeId: string;
  #connected = true;
  #closed = false;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, config: JetStreamConfig, logger: Logger) {
    this.nc = nc;
    this.jsm = jsm;
    this.config = config;
    this.nodeId = randomBytes(6).toString('base64url').slice(0, NODE_ID_LENGTH);
    void this.#watch(logger);
  }

  /** Connects (waiting for a first server as long as it takes, logging each failure) and checks JetStream is enabled. */
  static async connect(config: JetStreamConfig, logger: Logger): Promise<JetStreamLink> {
    const options: ConnectionOptions = {
      servers: [...config.servers],
      name: 'streampy-mq',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: true,
      timeout: config.timeoutMs,
      pingInterval: 10_000,
      maxPingOut: 2,
      ...(config.user === undefined ? {} : { user: config.user, pass: config.password ?? '' }),
      ...(config.token === undefined ? {} : { token: config.token }),
      ...(config.creds === undefined ? {} : { authenticator: credsAuthenticator(readFileSync(config.creds)) }),
    };
    let nc: NatsConnection;
    try {
      nc = await connect(options);
    } catch (cause) {
      throw new MqError('ERR_UNAVAILABLE', `cannot connect to NATS at ${config.servers.join(',')}: ${(cause as Error).message}`, { cause });
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: config.timeoutMs });
      return new JetStreamLink(nc, jsm, config, logger);
    } catch (cause) {
      await nc.close().catch(() => undefined);
      throw new MqError('ERR_UNAVAILABLE', `NATS at ${config.servers.join(',')} has no JetStream (start nats-server with -js): ${(cause as Error).message}`, { cause });
    }
  }

  get connected(): boolean {
    return this.#connected && !this.#closed;
  }

  get timeoutMs(): number {
    return this.config.timeoutMs;
  }

  /** Throws ERR_UNAVAILABLE when the connection is down now: nothing is sent that could land after the answer. */
  check(what: string): void {
    if (!this.connected) throw unavailable(what, new Error('the connection to NATS is down (reconnecting)'));
  }

  /**
   * Fire-and-forget publish (keep-alives, NAKs of messages not handed out, news to other nodes):
   * false when it could not be sent. Never throws: these run from timers, where a throw would
   * end the process.
   */
  tell(subject: string, payload: string | Uint8Array): boolean {
    if (!this.connected) return false;
    try {
      this.nc.publish(subject, payload);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.nc.drain().catch(() => this.nc.close());
  }

  async #watch(logger: Logger): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') {
        this.#connected = false;
        logger.warn('NATS connection lost; reconnecting', { server: status.server });
      } else if (status.type === 'reconnect') {
        this.#connected = true;
        logger.info('NATS connection back', { server: status.server });
      } else if (status.type === 'error') {
        logger.warn('NATS error', { error: String(status.error) });
      }
    }
  }
}
