import { createSocket } from 'node:dgram';
import type { HostPort } from '@streampy/runtime';
import { TestPeer } from '@streampy/testing';

export interface Peer {
  readonly address: HostPort;
  /** Everything received, in arrival order. */
  readonly received: { data: Buffer; from: HostPort }[];
  send(data: string | Uint8Array, to: HostPort): void;
  close(): Promise<void>;
}

/** The shared UDP test peer on 127.0.0.1, recording what it receives; `reply` turns it into a server. */
export async function openPeer(reply?: (data: Buffer) => Buffer | string | undefined): Promise<Peer> {
  const received: Peer['received'] = [];
  const peer = await TestPeer.open({
    reply: (data, from) => {
      received.push({ data, from });
      return reply?.(data);
    },
  });
  return { address: peer.address, received, send: (data, to) => peer.send(to, data), close: () => peer.close() };
}

/** An echo server that answers `echo:<payload>`. */
export function openEcho(): Promise<Peer> {
  return openPeer((data) => Buffer.concat([Buffer.from('echo:'), data]));
}

/** Binds a fresh socket to `address` and closes it: true when the port was free. */
export async function portIsFree(address: HostPort): Promise<boolean> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(address.port, address.host, resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
