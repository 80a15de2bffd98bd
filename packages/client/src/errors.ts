import { StreampyError, errorCodeOf, type WireErrorCode } from '@streampy/codec';
import { formatHostPort, type HostPort } from '@streampy/runtime';

/**
 * Stable codes of `@streampy/client` errors, from the one table of `@streampy/codec`
 * (`ERROR_CODES`). Wire errors keep the node's code with an `ERR_` prefix (`FULL` -> `ERR_FULL`).
 */
export type ClientErrorCode =
  | 'ERR_TIMEOUT'
  | 'ERR_BAD_REPLY'
  | 'ERR_CLOSED'
  | 'ERR_UNSUPPORTED'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_REQUEST_TOO_LARGE'
  | 'ERR_UNREACHABLE'
  | 'ERR_DATAGRAM_TOO_LARGE'
  | `ERR_${WireErrorCode}`;

/** Base class of every error `@streampy/client` raises. Branch on `code`, not on the message. */
export class ClientError extends StreampyError<ClientErrorCode> {
  override readonly name: string = 'ClientError';
}

/** "N attempts", for messages. */
function attemptsText(attempts: number): string {
  return `${attempts} attempt${attempts === 1 ? '' : 's'}`;
}

/** A request that got no reply for any of its attempts; the subclass says why. */
abstract class UnansweredError extends ClientError {
  /** The queue node that did not answer. */
  readonly address: HostPort;
  readonly verb: string;
  /** Datagrams sent for this request: 1 + retries. */
  readonly attempts: number;

  constructor(code: 'ERR_TIMEOUT' | 'ERR_UNREACHABLE', request: { address: HostPort; verb: string; attempts: number }, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.address = request.address;
    this.verb = request.verb;
    this.attempts = request.attempts;
  }
}

/** No reply arrived for any attempt of a request. */
export class TimeoutError extends UnansweredError {
  override readonly name = 'TimeoutError';

  /** `detail` ends the message: what the client knows about why (e.g. replies it dropped). */
  constructor(address: HostPort, verb: string, attempts: number, timeoutMs: number, detail = '') {
    super('ERR_TIMEOUT', { address, verb, attempts }, `no reply from ${formatHostPort(address)} to ${verb} after ${attemptsText(attempts)} (${timeoutMs} ms each)${detail}`);
  }
}

/**
 * The operating system reported the node unreachable (an ICMP port or host unreachable, seen as
 * `ECONNREFUSED`, `EHOSTUNREACH`...) for the last of 1 + retries attempts: nothing listens there.
 * Each such report ends an attempt at once instead of at its timeout, so this comes fast.
 */
export class UnreachableError extends UnansweredError {
  override readonly name = 'UnreachableError';

  constructor(address: HostPort, verb: string, attempts: number, cause: Error) {
    const errno = (cause as { code?: unknown }).code;
    const reported = typeof errno === 'string' ? errno : cause.message;
    super('ERR_UNREACHABLE', { address, verb, attempts }, `${formatHostPort(address)} is unreachable: the operating system reported ${reported} for ${verb} after ${attemptsText(attempts)} (is a queue node running there?)`, { cause });
  }
}

/**
 * The operating system refused to send a datagram this large (`EMSGSIZE`): no retry can help.
 * macOS caps UDP datagrams at 9,216 bytes unless `net.inet.udp.maxdgram` is raised.
 */
export class DatagramTooLargeError extends ClientError {
  override readonly name = 'DatagramTooLargeError';
  /** The size of the datagram refused, bytes (several coalesced requests share one). */
  readonly bytes: number;

  constructor(address: HostPort, verb: string, bytes: number, cause: Error) {
    super(
      'ERR_DATAGRAM_TOO_LARGE',
      `the operating system refused to send a ${bytes}-byte datagram to ${formatHostPort(address)} for ${verb} (EMSGSIZE): UDP over IPv4 carries at most 65507 bytes, and macOS only 9216 unless 'sudo sysctl -w net.inet.udp.maxdgram=65535' raises it`,
      { cause },
    );
    this.bytes = bytes;
  }
}

/** The node answered `ERR <CODE> <sentence>`. */
export class RemoteError extends ClientError {
  override readonly name: string = 'RemoteError';
  /** The code as it travelled on the wire, e.g. `UNKNOWN_LEASE`. */
  readonly wireCode: WireErrorCode;

  constructor(wireCode: WireErrorCode, message: string) {
    super(errorCodeOf(wireCode), message.length > 0 ? message : `the node answered ERR ${wireCode}`);
    this.wireCode = wireCode;
  }
}

/** `ERR FULL`: the queue is at its bound. Backpressure: retry later, after a pause. */
export class QueueFullError extends RemoteError {
  override readonly name = 'QueueFullError';
}

/** A reply that does not parse, or is not a possible answer to the request sent. */
export class BadReplyError extends ClientError {
  override readonly name = 'BadReplyError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BAD_REPLY', message, options);
  }
}

/** The client was closed before, or while, the request was outstanding. */
export class ClientClosedError extends ClientError {
  override readonly name = 'ClientClosedError';

  constructor() {
    super('ERR_CLOSED', 'the client is closed');
  }
}

/** The typed error of an `ERR` reply. */
export function remoteError(wireCode: WireErrorCode, message: string): RemoteError {
  return wireCode === 'FULL' ? new QueueFullError(wireCode, message) : new RemoteError(wireCode, message);
}
