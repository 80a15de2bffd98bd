import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { checkInteger } from '@streampy/codec';
import { deriveSeed, formatHostPort, parseHostPort, seededRandom, type HostPort, type Logger } from '@streampy/runtime';
import { ChaosError, validated } from './errors.js';
import { createFaultDecider, validateFaultSpec, type FaultDecision, type FaultSpec } from './faults.js';

export interface FaultProxyOptions {
  /** Where clients send to; default `127.0.0.1:0` (the OS picks the port). */
  readonly listen?: string | HostPort;
  /** The node the proxy stands in front of. */
  readonly target: string | HostPort;
  /** Seed of the fault decisions; random when absent (read it back from `proxy.seed`). */
  readonly seed?: number;
  /** Faults on datagrams from clients to the target. */
  readonly toTarget?: FaultSpec;
  /** Faults on datagrams from the target back to clients. */
  readonly toClient?: FaultSpec;
  /** Most client sessions kept at once; the least recently active is closed to make room. Default 1024. */
  readonly maxSessions?: number;
  /** A session with no traffic for this long is closed. Default 60,000 ms. */
  readonly sessionIdleMs?: number;
  /** A reordered datagram is released after the next one, or after this long. Default 50 ms. */
  readonly reorderHoldMs?: number;
  readonly logger?: Logger;
}

/** Counts of one direction. Always `received + duplicated = forwarded + dropped + pending + discarded`. */
export interface DirectionStats {
  received: number;
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  delayed: number;
  corrupted: number;
  /** Held for reordering or delay, not sent yet. */
  pending: number;
  /** Never sent because their session or the proxy closed first. */
  discarded: number;
}

export interface ProxyStats {
  readonly toTarget: DirectionStats;
  readonly toClient: DirectionStats;
  /** Sessions open now. */
  readonly sessions: number;
  readonly sessionsOpened: number;
  /** Sessions closed for idleness or to make room. */
  readonly sessionsClosed: number;
  /** Datagrams that reached an upstream socket from somewhere other than the target: ignored. */
  readonly foreign: number;
  /** Socket errors (e.g. a send the OS refused). */
  readonly socketErrors: number;
}

export interface FaultProxy {
  /** Where the proxy listens: give this to clients instead of the target's address. */
  readonly address: HostPort;
  readonly target: HostPort;
  readonly seed: number;
  stats(): ProxyStats;
  /** Closes every socket and discards datagrams still held. Idempotent. */
  close(): Promise<void>;
}

function emptyStats(): DirectionStats {
  return { received: 0, forwarded: 0, dropped: 0, duplicated: 0, reordered: 0, delayed: 0, corrupted: 0, pending: 0, discarded: 0 };
}

/** Where one session holds back a datagram chosen for reordering, per direction. */
interface HoldSlot {
  held: { readonly release: () => void; readonly timer: NodeJS.Timeout } | undefined;
}

/** Sends a datagram on; false when its socket is gone. */
type Send = (datagram: Buffer) => boolean;

/** The faults of one direction: one decision stream and one set of counts for all sessions. */
class FaultLane {
  readonly stats = emptyStats();
  private readonly decide: (length: number) => FaultDecision;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    spec: FaultSpec,
    seed: number,
    private readonly holdMs: number,
  ) {
    this.decide = createFaultDecider(spec, seededRandom(seed));
  }

  push(datagram: Buffer, slot: HoldSlot, send: Send): void {
    if (this.closed) return;
    const stats = this.stats;
    stats.received++;
    const decision = this.decide(datagram.length);
    if (decision.drop) {
      stats.dropped++;
      return;
    }
    let out = datagram;
    if (decision.corruptAt >= 0) {
      out = Buffer.from(datagram);
      out[decision.corruptAt] = (out[decision.corruptAt] as number) ^ decision.corruptMask;
      stats.corrupted++;
    }
    const copies = decision.duplicate ? 2 : 1;
    if (decision.duplicate) stats.duplicated++;
    if (decision.delayMs > 0) stats.delayed++;
    stats.pending += copies;
    const emit = (): void => {
      for (let i = 0; i < copies; i++) this.emitAfter(decision.delayMs, out, send);
    };
    if (decision.reorder && slot.held === undefined) {
      stats.reordered++;
      const release = (): void => {
        clearTimeout(timer);
        this.timers.delete(timer);
        slot.held = undefined;
        emit();
      };
      const timer = setTimeout(release, this.holdMs);
      this.timers.add(timer);
      slot.held = { release, timer };
      return;
    }
    emit();
    slot.held?.release();
  }

  private emitAfter(delayMs: number, datagram: Buffer, send: Send): void {
    if (delayMs <= 0) {
      this.transmit(datagram, send);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.transmit(datagram, send);
    }, delayMs);
    this.timers.add(timer);
  }

  private transmit(datagram: Buffer, send: Send): void {
    if (this.closed) return;
    this.stats.pending--;
    if (send(datagram)) this.stats.forwarded++;
    else this.stats.discarded++;
  }

  close(): void {
    this.closed = true;
    this.stats.discarded += this.stats.pending;
    this.stats.pending = 0;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

interface Session {
  readonly client: RemoteInfo;
  readonly socket: Socket;
  readonly toTarget: HoldSlot;
  readonly toClient: HoldSlot;
  lastActive: number;
  closed: boolean;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

async function resolve(address: string | HostPort, what: string): Promise<HostPort & { family: 4 | 6 }> {
  let hostPort: HostPort;
  try {
    hostPort = typeof address === 'string' ? parseHostPort(address, what) : address;
  } catch (cause) {
    throw new ChaosError('ERR_BAD_OPTION', (cause as Error).message, { cause });
  }
  const found = await lookup(hostPort.host);
  return { host: found.address, port: hostPort.port, family: found.family === 6 ? 6 : 4 };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  return validated('ERR_BAD_OPTION', () => checkInteger(name, value, 1, Number.MAX_SAFE_INTEGER));
}

function bind(socket: Socket, host: string, port: number): Promise<void> {
  return new Promise((resolveBind, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port }, () => {
      socket.off('error', reject);
      resolveBind();
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((done) => {
    try {
      socket.close(() => done());
    } catch {
      done(); // already closed
    }
  });
}

/** Room for bursts: a proxy that loses datagrams in its own buffers would blur the faults it injects. */
function enlargeBuffers(socket: Socket): void {
  try {
    socket.setRecvBufferSize(4 << 20);
    socket.setSendBufferSize(4 << 20);
  } catch {
    // The OS caps the sizes or refuses; the defaults still work.
  }
}

/**
 * A UDP proxy that injects faults between clients and one node. Each distinct client address
 * gets its own upstream socket, so the target's replies find their way back to that client.
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const toTargetSpec = validateFaultSpec(options.toTarget ?? {});
  const toClientSpec = validateFaultSpec(options.toClient ?? {});
  const maxSessions = positive('maxSessions', options.maxSessions, 1024);
  const sessionIdleMs = positive('sessionIdleMs', options.sessionIdleMs, 60_000);
  const holdMs = positive('reorderHoldMs', options.reorderHoldMs, 50);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  if (!Number.isSafeInteger(seed)) throw new ChaosError('ERR_BAD_OPTION', `seed must be an integer, got ${String(seed)}`);
  const target = await resolve(options.target, 'target');
  const listen = await resolve(options.listen ?? '127.0.0.1:0', 'listen address');
  const log = options.logger;

  const toTarget = new FaultLane(toTargetSpec, deriveSeed(seed, 0), holdMs);
  const toClient = new FaultLane(toClientSpec, deriveSeed(seed, 1), holdMs);
  const sessions = new Map<string, Session>();
  let sessionsOpened = 0;
  let sessionsClosed = 0;
  let foreign = 0;
  let socketErrors = 0;
  let closing: Promise<void> | undefined;

  const onSocketError = (error: Error): void => {
    socketErrors++;
    log?.warn('socket-error', { error: error.message });
  };

  const server = createSocket({ type: target.family === 6 || listen.family === 6 ? 'udp6' : 'udp4' });
  server.on('error', onSocketError);
  await bind(server, listen.host, listen.port);
  enlargeBuffers(server);
  const bound = server.address();
  const address: HostPort = { host: bound.address, port: bound.port };
  const upstreamHost = LOOPBACK.test(target.host) ? target.host : target.family === 6 ? '::' : '0.0.0.0';

  const closeSession = (key: string, session: Session, reason: string): void => {
    session.toTarget.held?.release();
    session.toClient.held?.release();
    session.closed = true;
    sessions.delete(key);
    sessionsClosed++;
    void closeSocket(session.socket);
    log?.debug('session-closed', { client: `${session.client.address}:${session.client.port}`, reason });
  };

  const openSession = (key: string, client: RemoteInfo): Session => {
    if (sessions.size >= maxSessions) {
      const [oldestKey, oldest] = sessions.entries().next().value as [string, Session];
      closeSession(oldestKey, oldest, 'table-full');
    }
    const socket = createSocket({ type: target.family === 6 ? 'udp6' : 'udp4' });
    const session: Session = { client, socket, toTarget: { held: undefined }, toClient: { held: undefined }, lastActive: Date.now(), closed: false };
    socket.on('error', onSocketError);
    socket.on('message', (datagram, from) => {
      if (from.port !== target.port || from.address !== target.host) {
        foreign++;
        return;
      }
      session.lastActive = Date.now();
      toClient.push(datagram, session.toClient, (out) => {
        server.send(out, client.port, client.address);
        return true;
      });
    });
    // Sends queue inside dgram until the bind completes.
    socket.bind({ address: upstreamHost, port: 0 }, () => enlargeBuffers(socket));
    sessions.set(key, session);
    sessionsOpened++;
    log?.debug('session-opened', { client: key });
    return session;
  };

  server.on('message', (datagram, client) => {
    const key = `${client.address}:${client.port}`;
    let session = sessions.get(key);
    if (session === undefined) session = openSession(key, client);
    else {
      // Keep the map in least-recently-active order, so eviction takes the idlest session.
      sessions.delete(key);
      sessions.set(key, session);
    }
    session.lastActive = Date.now();
    const upstream = session;
    toTarget.push(datagram, upstream.toTarget, (out) => {
      if (upstream.closed) return false;
      upstream.socket.send(out, target.port, target.host);
      return true;
    });
  });

  const sweep = setInterval(
    () => {
      const idleBefore = Date.now() - sessionIdleMs;
      for (const [key, session] of sessions) {
        if (session.lastActive < idleBefore) closeSession(key, session, 'idle');
      }
    },
    Math.max(10, Math.min(sessionIdleMs / 2, 10_000)),
  );
  sweep.unref();

  log?.info('proxy-listening', { address: formatHostPort(address), target: formatHostPort(target), seed });

  return {
    address,
    target: { host: target.host, port: target.port },
    seed,
    stats: () => ({
      toTarget: { ...toTarget.stats },
      toClient: { ...toClient.stats },
      sessions: sessions.size,
      sessionsOpened,
      sessionsClosed,
      foreign,
      socketErrors,
    }),
    close: () => {
      closing ??= (async () => {
        clearInterval(sweep);
        toTarget.close();
        toClient.close();
        const sockets = [server, ...[...sessions.values()].map((s) => s.socket)];
        for (const session of sessions.values()) session.closed = true;
        sessions.clear();
        await Promise.all(sockets.map(closeSocket));
      })();
      return closing;
    },
  };
}
