import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { HostPort } from '@streampy/runtime';

function isLoopback(address: string, family: 4 | 6): boolean {
  return family === 4 ? address.startsWith('127.') : address === '::1';
}

/**
 * A UDP socket connected to `peer`: the kernel then drops datagrams from anyone else, so every
 * datagram the socket reads came from the node. It binds the loopback address of the peer's family
 * when the peer is local (nothing else on the network can reach the client's port), the wildcard
 * address otherwise (a loopback-bound socket cannot reach another host).
 */
export async function openConnectedSocket(peer: HostPort): Promise<Socket> {
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
