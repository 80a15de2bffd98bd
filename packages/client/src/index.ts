export { createClient } from './client.js';
export type {
  ClientOptions,
  ClientProtocol,
  NackOptions,
  PutManyItem,
  PutManyResult,
  PutOptions,
  PutResult,
  QueueClient,
  QueueOptions,
  ReserveOptions,
} from './types.js';
export { BadReplyError, ClientClosedError, ClientError, DatagramTooLargeError, QueueFullError, RemoteError, TimeoutError, UnreachableError } from './errors.js';
export type { ClientErrorCode } from './errors.js';
export type { Delivery, Reply, Request } from '@streampy/codec';
export type { HostPort } from '@streampy/runtime';
