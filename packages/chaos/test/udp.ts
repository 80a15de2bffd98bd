import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { HostPort } from '@streampy/runtime';

export interface Peer {
  readonly socket: Socket;
  readonly address: HostPort;
  /** Everything received, in arrival order. */
  readonly received: { data: Buffer; from: RemoteInfo }[];
  send(data: string | Uint8Array, to: HostPort): void;
  close(): Promise<void>;
}

/** A UDP socket on 127.0.0.1 that records what it receives; `reply` turns it into a server. */
export async function openPeer(reply?: (data: Buffer) => Buffer | string | undefined): Promise<Peer> {
  const socket = createSocket('udp4');
  const received: Peer['received'] = [];
  socket.on('message', (data, from) => {
    received.push({ data, from });
    const answer = reply?.(data);
    if (answer !== undefined) socket.send(answer, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { address, port } = socket.address();
  let closed = false;
  return {
    socket,
    address: { host: address, port },
    received,
    send: (data, to) => socket.send(data, to.port, to.host),
    close: () =>
      new Promise((resolve) => {
        if (closed) return resolve();
        closed = true;
        socket.close(() => resolve());
      }),
  };
}

/** An echo server that answers `echo:<payload>`. */
export function openEcho(): Promise<Peer> {
  return openPeer((data) => Buffer.concat([Buffer.from('echo:'), data]));
}

/** Polls until `condition` holds; throws with `what` after `timeoutMs` (generous: the machine is shared). */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
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
