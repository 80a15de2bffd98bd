import { isUtf8 } from 'node:buffer';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { scanFrames, type CodecError, type ReplyWriter } from '@streampy/codec';
import { createAuthenticator, systemClock, type Authenticator, type Clock, type HostPort } from '@streampy/runtime';
import { isLoopbackHost, type AllowList } from './access.js';
import type { AccessConfig } from './config.js';
import type { NodeCounters } from './stats.js';
import type { ThrottledLog } from './throttled-log.js';

/** Takes the frames of each datagram received. */
export interface FrameHandler {
  /** `knownUtf8`: the whole datagram is valid UTF-8, so each payload is (frame headers are ASCII). */
  handle(frames: readonly Uint8Array[], frameError: CodecError | undefined, peer: RemoteInfo, knownUtf8: boolean): void;
}

const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** No filter, no signatures: what a server made without an access config does (tests of other layers). */
const OPEN: AccessConfig = { allow: undefined, keyring: undefined, windowMs: 1 };

/**
 * The UDP transport of a node: binds, receives datagrams, keeps out the ones its access
 * control refuses (PROTOCOL.md, "Access control"), cuts the rest into frames, and sends the
 * replies a `ReplyWriter` holds packed into as few datagrams as fit, signed when datagrams
 * must be. It knows nothing of requests or queues.
 */
export class UdpServer {
  readonly #socket: Socket;
  readonly #maxDatagramBytes: number;
  readonly #counters: NodeCounters;
  readonly #allow: AllowList | undefined;
  readonly #auth: Authenticator | undefined;
  #address: HostPort;
  #log: ThrottledLog | undefined;
  #stopping = false;
  readonly #onSent = (error: Error | null): void => {
    if (!error) return;
    this.#counters.sendErrors++;
    if ((error as NodeJS.ErrnoException).code === 'EMSGSIZE') {
      // The OS sends less than the node packs (macOS: 9216 bytes by default): the reply is lost,
      // the client times out, and the operator learns why here.
      this.#counters.oversizedReplies++;
      this.#log?.warn('reply datagram too large for the operating system: dropped', {
        error: error.message,
        maxDatagramBytes: this.#maxDatagramBytes,
        hint: "macOS caps UDP datagrams at 9216 bytes: raise it with 'sudo sysctl -w net.inet.udp.maxdgram=65535', or lower the node's maxDatagramBytes",
      });
      return;
    }
    this.#log?.warn('send failed', { error: error.message });
  };

  /**
   * `maxDatagramBytes`: room for frames (the AUTH frame comes on top). A node with keys refuses
   * what was signed before this server was made: it cannot know its previous run's nonces.
   */
  constructor(address: HostPort, maxDatagramBytes: number, counters: NodeCounters, access: AccessConfig = OPEN, clock: Clock = systemClock) {
    this.#address = address;
    this.#maxDatagramBytes = maxDatagramBytes;
    this.#counters = counters;
    this.#allow = access.allow;
    this.#auth = access.keyring === undefined ? undefined : createAuthenticator(access.keyring, { clock, windowMs: access.windowMs, notBefore: clock.now() });
    this.#socket = createSocket(address.host.includes(':') ? 'udp6' : 'udp4');
  }

  /**
   * True when STATS may show message bodies to `peer`: a loopback source, or any source of a
   * node with keys (every datagram it takes is signed by a key holder, who could GET them).
   */
  showsBodiesTo(peer: { readonly address: string }): boolean {
    return this.#auth !== undefined || isLoopbackHost(peer.address);
  }

  /** Where the socket is bound (the OS's port once `bind` resolved). */
  get address(): HostPort {
    return this.#address;
  }

  async bind(): Promise<HostPort> {
    await new Promise<void>((resolve, reject) => {
      this.#socket.once('error', reject);
      this.#socket.bind(this.#address.port, this.#address.host, () => {
        this.#socket.off('error', reject);
        resolve();
      });
    });
    const bound = this.#socket.address();
    this.#address = { host: bound.address, port: bound.port };
    try {
      // A bigger receive buffer rides out bursts; the OS may cap it, which is fine.
      this.#socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
    } catch {
      // Best effort only.
    }
    return this.#address;
  }

  /** Starts handing datagrams to `handler`; `log` takes socket and send errors. */
  listen(handler: FrameHandler, log: ThrottledLog): void {
    this.#log = log;
    this.#socket.on('error', (error) => log.warn('socket error', { error: error.message }));
    this.#socket.on('message', (datagram, peer) => {
      if (this.#stopping) return;
      const counters = this.#counters;
      counters.datagramsIn++;
      // Refused datagrams get no reply (it would go to whatever address they claim) and reach nothing.
      if (this.#allow !== undefined && !this.#allow.allows(peer.address)) {
        counters.deniedDatagrams++;
        log.warn('datagram denied', { from: `${peer.address}:${peer.port}` });
        return;
      }
      let signed: Uint8Array = datagram;
      if (this.#auth !== undefined) {
        const verdict = this.#auth.verify('request', datagram);
        if (!verdict.ok) {
          counters.authFailures[verdict.reason]++;
          log.warn('datagram not authenticated', { reason: verdict.reason, from: `${peer.address}:${peer.port}` });
          return;
        }
        signed = verdict.rest;
      }
      const { frames, error } = scanFrames(signed, { maxFrameBytes: this.#maxDatagramBytes });
      counters.framesIn += frames.length;
      // One UTF-8 check for a whole batch instead of one per payload.
      handler.handle(frames, error, peer, frames.length > 1 && isUtf8(signed));
    });
  }

  /** Sends what `out` holds to `peer` in as few datagrams as fit, and empties it. */
  send(out: ReplyWriter, peer: RemoteInfo): void {
    if (this.#stopping) {
      out.reset();
      return;
    }
    const auth = this.#auth;
    out.flush((datagram) => {
      this.#counters.datagramsOut++;
      if (auth === undefined) this.#socket.send(datagram, peer.port, peer.address, this.#onSent);
      else this.#socket.send([auth.signFrame('reply', datagram), datagram], peer.port, peer.address, this.#onSent);
    });
  }

  /** Stops receiving and sending; resolves once the socket is closed. */
  close(): Promise<void> {
    this.#stopping = true;
    return new Promise<void>((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // never bound, or closed already
      }
    });
  }
}
