import { isUtf8 } from 'node:buffer';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { scanFrames, type CodecError, type ReplyWriter } from '@streampy/codec';
import type { HostPort } from '@streampy/runtime';
import type { NodeCounters } from './stats.js';
import type { ThrottledLog } from './throttled-log.js';

/** Takes the frames of each datagram received. */
export interface FrameHandler {
  /** `knownUtf8`: the whole datagram is valid UTF-8, so each payload is (frame headers are ASCII). */
  handle(frames: readonly Uint8Array[], frameError: CodecError | undefined, peer: RemoteInfo, knownUtf8: boolean): void;
}

const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * The UDP transport of a node: binds, receives datagrams and cuts them into frames, and sends
 * the replies a `ReplyWriter` holds packed into as few datagrams as fit. It knows nothing of
 * requests or queues.
 */
export class UdpServer {
  readonly #socket: Socket;
  readonly #maxDatagramBytes: number;
  readonly #counters: NodeCounters;
  #address: HostPort;
  #log: ThrottledLog | undefined;
  #stopping = false;
  readonly #onSent = (error: Error | null): void => {
    if (!error) return;
    this.#counters.sendErrors++;
    this.#log?.warn('send failed', { error: error.message });
  };

  constructor(address: HostPort, maxDatagramBytes: number, counters: NodeCounters) {
    this.#address = address;
    this.#maxDatagramBytes = maxDatagramBytes;
    this.#counters = counters;
    this.#socket = createSocket(address.host.includes(':') ? 'udp6' : 'udp4');
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
      const { frames, error } = scanFrames(datagram, { maxFrameBytes: this.#maxDatagramBytes });
      counters.framesIn += frames.length;
      // One UTF-8 check for a whole batch instead of one per payload.
      handler.handle(frames, error, peer, frames.length > 1 && isUtf8(datagram));
    });
  }

  /** Sends what `out` holds to `peer` in as few datagrams as fit, and empties it. */
  send(out: ReplyWriter, peer: RemoteInfo): void {
    if (this.#stopping) {
      out.reset();
      return;
    }
    out.flush((datagram) => {
      this.#counters.datagramsOut++;
      this.#socket.send(datagram, peer.port, peer.address, this.#onSent);
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
