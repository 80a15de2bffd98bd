import { decodeText, encodeFrames, encodeReply, isSeedForm, parseRequest, scanFrames, type Reply, type Request } from '@streampy/codec';
import type { HostPort } from '@streampy/runtime';
import { TestPeer } from '@streampy/testing';

/** What a fake node received: one entry per datagram, the payloads of its frames as text. */
export type Received = string[][];

export interface FakeNode {
  readonly address: HostPort;
  readonly received: Received;
  /** Sends frames (payloads) back to the client in one datagram. */
  send(to: HostPort, payloads: (string | Uint8Array)[]): void;
  close(): Promise<void>;
}

/** Called per datagram; returns the reply payloads to pack into one datagram, if any. */
export type Responder = (payloads: Uint8Array[], from: HostPort, node: FakeNode) => (string | Uint8Array)[] | undefined;

/** A scripted node on the shared UDP test peer: records every datagram's frames and answers with `respond`. */
export async function startFakeNode(respond: Responder): Promise<FakeNode> {
  const received: Received = [];
  // Datagrams arrive only once the peer's address is known, so `node` is set by then.
  const self: { node?: FakeNode } = {};
  const peer = await TestPeer.open({
    reply: (datagram, from) => {
      const { frames } = scanFrames(new Uint8Array(datagram));
      received.push(frames.map((f) => decodeText(f)));
      const replies = self.node === undefined ? undefined : respond(frames, from, self.node);
      return replies !== undefined && replies.length > 0 ? encodeFrames(replies) : undefined;
    },
  });
  const node: FakeNode = {
    address: peer.address,
    received,
    send: (to, payloads) => peer.send(to, encodeFrames(payloads)),
    close: () => peer.close(),
  };
  self.node = node;
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

export const text = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : decodeText(bytes));
