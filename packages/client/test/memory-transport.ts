import { decodeText, encodeFrames, encodeReply, parseRequest, scanFrames } from '@streampy/codec';
import type { Transport, TransportFault } from '../src/transport.js';

/** An in-memory transport: records what the client sends and whether it holds the process; replies are pushed by the test. */
export class MemoryTransport implements Transport {
  readonly sent: (Uint8Array | readonly Uint8Array[])[] = [];
  readonly holds: boolean[] = [];
  closed = false;
  #handler: ((datagram: Uint8Array) => void) | undefined;
  #faults: ((fault: TransportFault) => void) | undefined;

  send(data: Uint8Array | readonly Uint8Array[]): void {
    this.sent.push(data);
  }

  onDatagram(handler: (datagram: Uint8Array) => void): void {
    this.#handler = handler;
  }

  onFault(handler: (fault: TransportFault) => void): void {
    this.#faults = handler;
  }

  /** Reports what the OS would: the node unreachable, or datagram `index` refused as too large. */
  fault(kind: 'unreachable' | 'too-large', index = this.sent.length - 1): void {
    const datagram = this.sent[index] ?? new Uint8Array(0);
    const bytes = datagram instanceof Uint8Array ? datagram.length : datagram.reduce((sum, part) => sum + part.length, 0);
    const cause = Object.assign(new Error(kind), { code: kind === 'unreachable' ? 'ECONNREFUSED' : 'EMSGSIZE' });
    this.#faults?.(kind === 'unreachable' ? { kind, cause } : { kind, datagram, bytes, cause });
  }

  hold(held: boolean): void {
    this.holds.push(held);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** The payloads of the frames of datagram `index`, as text. */
  frames(index: number): string[] {
    const data = this.sent[index];
    const datagram = data instanceof Uint8Array || data === undefined ? data : Buffer.concat(data);
    return datagram === undefined ? [] : scanFrames(datagram).frames.map((frame) => decodeText(frame));
  }

  /** Answers every request of datagram `index` with `SIZE <n>`, in one datagram. */
  answerSizes(index: number, size: number): void {
    const replies = this.frames(index).map((payload) => encodeReply({ id: parseRequest(new TextEncoder().encode(payload)).id ?? '', kind: 'size', size }));
    this.#handler?.(encodeFrames(replies));
  }

  /** Answers the frames of datagram `index` that `pick` chooses (by position) as the PUTs they are, in one datagram. */
  answerPuts(index: number, pick: (position: number) => boolean = () => true): void {
    const replies = this.frames(index)
      .filter((_payload, position) => pick(position))
      .map((payload) => encodeReply({ id: parseRequest(new TextEncoder().encode(payload)).id ?? '', kind: 'put', bytes: 1, duplicate: false }));
    this.#handler?.(encodeFrames(replies));
  }
}
