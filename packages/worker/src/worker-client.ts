import type { Delivery } from '@streampy/codec';
import type { Clock, HostPort, Keyring } from '@streampy/runtime';

/**
 * The part of `@streampy/client`'s QueueClient the worker uses. The worker depends on this
 * shape, not on the client's class, so tests (and other transports) can stand in for it.
 */
export interface WorkerClient {
  put(message: string | Uint8Array, options?: { key?: string; queue?: string; retries?: number }): Promise<{ bytes: number; duplicate: boolean }>;
  get(options?: { queue?: string }): Promise<Uint8Array | undefined>;
  getBatch(max: number, options?: { queue?: string }): Promise<Uint8Array[]>;
  reserve(options?: { max?: number; leaseMs?: number; queue?: string }): Promise<Delivery[]>;
  ack(token: string, options?: { queue?: string }): Promise<unknown>;
  nack(token: string, options?: { delayMs?: number; queue?: string }): Promise<unknown>;
  extend(token: string, leaseMs: number, options?: { queue?: string }): Promise<unknown>;
  close(): Promise<void>;
}

export interface WorkerClientOptions {
  readonly address: HostPort;
  readonly protocol: 'extended' | 'seed';
  readonly timeoutMs?: number;
  readonly retries?: number;
  /** The worker's clock, for the client's deadlines and retries. */
  readonly clock?: Clock;
  /** The worker's keys: the client signs its datagrams and verifies the node's replies with them. */
  readonly auth?: Keyring;
}

/** Opens a client to one queue node; the default uses `@streampy/client`'s `createClient`. */
export type ConnectFunction = (options: WorkerClientOptions) => Promise<WorkerClient>;
