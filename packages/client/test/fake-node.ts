import { createSocket, type RemoteInfo } from 'node:dgram';
import { decodeText, encodeFrames, encodeReply, isSeedForm, parseRequest, scanFrames, type Reply, type Request } from '@streampy/codec';
import type { HostPort } from '@streampy/runtime';

/** What a fake node received: one entry per datagram, the payloads of its frames as text. */
export type Received = string[][];

export interface FakeNode {
  readonly address: HostPort;
  readonly received: Received;
  /** Sends frames (payloads) back to the client in one datagram. */
  send(to: RemoteInfo, payloads: (string | Uint8Array)[]): void;
  close(): Promise<void>;
}

/** Called per datagram; returns the reply payloads to pack into one datagram, if any. */
export type Responder = (payloads: Uint8Array[], from: RemoteInfo, node: FakeNode) => (string | Uint8Array)[] | undefined;

/** An in-process UDP responder on 127.0.0.1:0 with scripted behaviour. */
export async function startFakeNode(respond: Responder): Promise<FakeNode> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const received: Received = [];
  const node: FakeNode = {
    address: { host: '127.0.0.1', port: socket.address().port },
    received,
    send: (to, payloads) => socket.send(encodeFrames(payloads), to.port, to.address),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (datagram, from) => {
    const { frames } = scanFrames(new Uint8Array(datagram));
    received.push(frames.map((f) => decodeText(f)));
    const replies = respond(frames, from, node);
    if (replies !== undefined && replies.length > 0) node.send(from, replies);
  });
  return node;
}

/** Never answers. */
export const silent: Responder = () => undefined;

/**
 * A minimal in-memory queue speaking the grammar of @streampy/codec: enough to exercise the
 * client, not a model of the real node (no leases, no bounds).
 */
export function fakeQueue(): Responder {
  const queues = new Map<string, Uint8Array[]>();
  const queueOf = (request: Request): Uint8Array[] => {
    const name = request.queue ?? '';
    let queue = queues.get(name);
    if (queue === undefined) queues.set(name, (queue = []));
    return queue;
  };
  const answer = (request: Request): Reply => {
    const base = request.id === undefined ? {} : { id: request.id };
    const queue = queueOf(request);
    switch (request.verb) {
      case 'PUT':
        queue.push(request.body.slice());
        return { ...base, kind: 'put', bytes: request.body.length, duplicate: false };
      case 'GET': {
        if (request.max !== undefined) return { ...base, kind: 'messages', bodies: queue.splice(0, request.max) };
        const body = queue.shift();
        return body === undefined ? { ...base, kind: 'empty' } : { ...base, kind: 'message', body };
      }
      case 'SIZE':
        return { ...base, kind: 'size', size: queue.length };
      default:
        return { ...base, kind: 'error', code: 'UNKNOWN_VERB', message: `fake node does not do ${request.verb}` };
    }
  };
  return (payloads) =>
    payloads.map((payload) => {
      const request = parseRequest(payload);
      return encodeReply(answer(request), isSeedForm(request));
    });
}

/** Polls `check` every 10 ms until it returns true; fails after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const text = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : decodeText(bytes));
