import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { HostPort } from '@streampy/runtime';

/**
 * What the operating system said went wrong, when it says anything (it need not: a lost
 * datagram is silence). `unreachable`: nothing listens at the node's address (an ICMP port or
 * host unreachable), about whatever is on the wire now, not one datagram. `too-large`: `datagram`
 * was refused as larger than the OS sends (`EMSGSIZE`) and never left.
 */
export type TransportFault =
  | { readonly kind: 'unreachable'; readonly cause: Error }
  | { readonly kind: 'too-large'; readonly datagram: Uint8Array | readonly Uint8Array[]; readonly bytes: number; readonly cause: Error };

/**
 * What the client needs from the network: datagrams to and from one queue node. The UDP socket
 * below is the real one; tests (and other carriers) can stand in with an in-memory one.
 */
export interface Transport {
  /**
   * Sends one datagram: `data`, or the buffers of `data` gathered in order. The transport may
   * read the bytes after `send` returns (a queued send), so the caller must not change them.
   * Send errors other than the faults below are losses like any other: the request times out
   * and is retried.
   */
  send(data: Uint8Array | readonly Uint8Array[]): void;
  /** Sets the one handler of every datagram that arrives; a view the handler may keep. */
  onDatagram(handler: (datagram: Uint8Array) => void): void;
  /**
   * Sets the one handler of the faults the OS reports. Optional: a transport without it reports
   * none, and every failure is a timeout. A report speeds failure up; none is needed for
   * correctness (not every OS reports an unreachable port on UDP).
   */
  onFault?(handler: (fault: TransportFault) => void): void;
  /** Holds the process open (requests are outstanding) or lets it exit (idle). */
  hold(held: boolean): void;
  close(): Promise<void>;
}

/**
 * Errors that say the peer cannot be reached. `ECONNREFUSED` is Linux's and macOS's word for an
 * ICMP port unreachable on a connected socket. Windows says `WSAECONNRESET`, which libuv drops on
 * UDP receives (there a request times out as before); it is listed for a send that reports it.
 */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);

/** The fault `error` stands for, or undefined for an error that is just a loss. */
function faultOf(error: Error, data: Uint8Array | readonly Uint8Array[] | undefined): TransportFault | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EMSGSIZE' && data !== undefined) {
    const bytes = data instanceof Uint8Array ? data.length : data.reduce((sum, part) => sum + part.length, 0);
    return { kind: 'too-large', datagram: data, bytes, cause: error };
  }
  return code !== undefined && UNREACHABLE.has(code) ? { kind: 'unreachable', cause: error } : undefined;
}

function isLoopback(address: string, family: 4 | 6): boolean {
  return family === 4 ? address.startsWith('127.') : address === '::1';
}

/**
 * A UDP socket connected to `peer`: the kernel then drops datagrams from anyone else, so every
 * datagram the socket reads came from the node. It binds the loopback address of the peer's family
 * when the peer is local (nothing else on the network can reach the client's port), the wildcard
 * address otherwise (a loopback-bound socket cannot reach another host).
 */
async function openConnectedSocket(peer: HostPort): Promise<Socket> {
  // Names prefer IPv4: `localhost` resolving to ::1 would miss a node bound to 127.0.0.1.
  const resolved = isIP(peer.host) === 0 ? await lookup(peer.host, { order: 'ipv4first' }) : { address: peer.host, family: isIP(peer.host) };
  const family = resolved.family === 6 ? 6 : 4;
  const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  const local = isLoopback(resolved.address, family) ? (family === 6 ? '::1' : '127.0.0.1') : undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: 0, ...(local === undefined ? {} : { address: local }) }, () => {
        socket.connect(peer.port, resolved.address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    });
  } catch (error) {
    socket.close();
    throw error;
  }
  return socket;
}

/**
 * The transport over a connected UDP socket; it starts idle (not holding the process). Being
 * connected is what lets the OS report an ICMP unreachable at all: Linux tells an unconnected
 * socket nothing. Other socket errors are losses, retried by the caller.
 */
export async function openUdpTransport(peer: HostPort): Promise<Transport> {
  const socket = await openConnectedSocket(peer);
  let report: ((fault: TransportFault) => void) | undefined;
  const reported = (error: Error, data?: Uint8Array | readonly Uint8Array[]): void => {
    const fault = report === undefined ? undefined : faultOf(error, data);
    if (fault !== undefined) report?.(fault);
  };
  // An ICMP unreachable comes as an error of the next receive ('recvmsg'), after the send went out.
  socket.on('error', (error) => reported(error));
  socket.unref();
  let held = false;
  return {
    // A connected socket sends at once, without a lookup; an array goes out as one gathered datagram.
    // Without a callback Node drops a send's error unseen (EMSGSIZE among them).
    send: (data) =>
      socket.send(data as Uint8Array, (error) => {
        if (error) reported(error, data);
      }),
    onFault: (handler) => {
      report = handler;
    },
    onDatagram: (handler) => {
      socket.removeAllListeners('message');
      // A plain Uint8Array view: bodies handed to callers are views into it, not Buffers.
      socket.on('message', (datagram: Buffer) => handler(new Uint8Array(datagram.buffer, datagram.byteOffset, datagram.length)));
    },
    hold: (hold) => {
      if (hold === held) return;
      held = hold;
      if (hold) socket.ref();
      else socket.unref();
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
