import type { Delivery } from '@streampy/codec';
import type { ManualClock } from '@streampy/testing';
import type { ConnectFunction, WorkerClient } from '../src/index.js';

/** One call a fake client received, with the clock's time. */
export interface Call {
  readonly verb: 'PUT' | 'GET' | 'RESERVE' | 'ACK' | 'NACK' | 'EXTEND';
  readonly at: number;
  readonly arg?: string;
}

/**
 * An in-process stand-in for a queue node's client, for unit tests of the worker's layers: it
 * hands out the deliveries in `ready` (one RESERVE each, or GET bodies under at-most-once),
 * answers everything else at once, and records every call with the time of `clock`.
 */
export class FakeClient implements WorkerClient {
  readonly calls: Call[] = [];
  readonly ready: Delivery[] = [];
  readonly puts: string[] = [];
  closed = false;

  constructor(readonly clock: ManualClock) {}

  #record(verb: Call['verb'], arg?: string): void {
    this.calls.push(arg === undefined ? { verb, at: this.clock.now() } : { verb, at: this.clock.now(), arg });
  }

  count(verb: Call['verb']): number {
    return this.calls.filter((call) => call.verb === verb).length;
  }

  put(message: string | Uint8Array): Promise<{ bytes: number; duplicate: boolean }> {
    const text = typeof message === 'string' ? message : new TextDecoder().decode(message);
    this.#record('PUT', text);
    this.puts.push(text);
    return Promise.resolve({ bytes: text.length, duplicate: false });
  }

  get(): Promise<Uint8Array | undefined> {
    this.#record('GET');
    return Promise.resolve(this.ready.shift()?.body);
  }

  getBatch(max: number): Promise<Uint8Array[]> {
    this.#record('GET');
    return Promise.resolve(this.ready.splice(0, max).map((delivery) => delivery.body));
  }

  reserve(): Promise<Delivery[]> {
    this.#record('RESERVE');
    const next = this.ready.shift();
    return Promise.resolve(next === undefined ? [] : [next]);
  }

  ack(token: string): Promise<unknown> {
    this.#record('ACK', token);
    return Promise.resolve();
  }

  nack(token: string): Promise<unknown> {
    this.#record('NACK', token);
    return Promise.resolve();
  }

  extend(token: string): Promise<unknown> {
    this.#record('EXTEND', token);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** A `connect` option that hands out this client for every node. */
  connect(): ConnectFunction {
    return () => Promise.resolve(this);
  }
}

/** A delivery as a node would lease it. */
export function leased(body: string, messageId = '1', delivery = 1): Delivery {
  return { token: `${messageId}.${delivery}.n0nce${delivery}`, deliveries: delivery, body: new TextEncoder().encode(body) };
}

/** Lets every promise reaction and I/O callback queued so far run: one event-loop turn, not a wait on time. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs the clock's timers one at a time up to `ms` from now, letting the worker react between them. */
export async function play(clock: ManualClock, ms: number): Promise<void> {
  const target = clock.now() + ms;
  await turn();
  for (let step = 0; step < 100_000; step++) {
    const next = clock.nextDeadline();
    if (next === undefined || next > target) break;
    clock.runNext();
    await turn();
  }
  clock.advance(target - clock.now());
  await turn();
}
