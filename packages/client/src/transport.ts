import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { HostPort } from '@streampy/runtime';

/**
 * What the client needs from the network: datagrams to and from one queue node. The UDP socket
 * below is the real one; tests (and other carriers) can stand in with an in-memory one.
 */
export interface Transport {
  /**
   * Sends one datagram: `data`, or the buffers of `data` gathered in order. The transport may
   * read the bytes after `send` returns (a queued send), so the caller must not change them.
   * Send errors are losses like any other: the request times out and is retried.
   */
  send(data: Uint8Array | readonly Uint8Array[]): void;
  /** Sets the one handler of every datagram that arrives; a view the handler may keep. */
  onDatagram(handler: (datagram: Uint8Array) => void): void;
  /** Holds the process open (requests are outstanding) or lets it exit (idle). */
  hold(held: boolean): void;
  close(): Promise<void>;
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

/** The transport over a connected UDP socket; it starts idle (not holding the process). */
export async function openUdpTransport(peer: HostPort): Promise<Transport> {
  const socket = await openConnectedSocket(peer);
  // Send errors (e.g. ECONNREFUSED from an ICMP port-unreachable) are losses, retried by the caller.
  socket.on('error', () => undefined);
  socket.unref();
  let held = false;
  return {
    // A connected socket sends at once, without a lookup; an array goes out as one gathered datagram.
    send: (data) => socket.send(data as Uint8Array),
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
