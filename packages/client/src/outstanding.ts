import type { TimerHandle } from '@streampy/runtime';
import { TimeoutError, UnreachableError, type ClientError } from './errors.js';

/** What a reader returns for a reply frame that does not answer the request (ordered matching only). */
export const NOT_MINE: unique symbol = Symbol('not-mine');

/**
 * Reads one reply frame into the value its request resolves to, or the error it stands for.
 * `context` is what the caller gave with the request; `attempts` how many times it was sent.
 */
export type ReplyReader<T, C> = (payload: Uint8Array, context: C, attempts: number) => T | ClientError | typeof NOT_MINE;

/** The outcome of one frame of a group, shaped like `Promise.allSettled`'s. */
export type Settled<T> = { readonly status: 'fulfilled'; readonly value: T } | { readonly status: 'rejected'; readonly reason: ClientError };

/**
 * One request on its way: a single frame, or a group whose frames carry the consecutive
 * counters `first` .. `first + frames.length - 1`. The frames are kept, so a retry resends the
 * very same bytes (and ids).
 */
export abstract class Outstanding {
  attempts = 0;
  deadline = 0;
  settled = false;
  /** An attempt is on the wire: sent, and neither answered, timed out nor reported unreachable yet. */
  onWire = false;
  /** Attempts the OS reported unreachable. */
  unreachable = 0;
  backoff: TimerHandle | undefined = undefined;

  constructor(
    /** The verb, for a timeout's message. */
    readonly label: string,
    /** Correlation counter of the (first) frame; -1 with ordered matching. */
    readonly first: number,
    readonly frames: readonly Uint8Array[],
    /** Extra attempts allowed after a timeout. */
    readonly retries: number,
  ) {}

  /** Whether frame `index` still waits for its reply (a retry resends only those). */
  abstract open(index: number): boolean;
  /** Takes the reply to frame `index`: true once the whole request is settled. */
  abstract answer(payload: Uint8Array, index: number): boolean | typeof NOT_MINE;
  abstract fail(error: ClientError): void;
  /** Ends frame `index` with `error`, for good (the OS refused to send it): true once the whole request is settled. */
  abstract refuse(index: number, error: ClientError): boolean;
}

export class Single<T, C> extends Outstanding {
  constructor(
    label: string,
    first: number,
    frame: Uint8Array,
    retries: number,
    readonly context: C,
    readonly read: ReplyReader<T, C>,
    readonly resolve: (value: T) => void,
    readonly reject: (error: ClientError) => void,
  ) {
    super(label, first, [frame], retries);
  }

  open(): boolean {
    return true;
  }

  answer(payload: Uint8Array): boolean | typeof NOT_MINE {
    const value = this.read(payload, this.context, this.attempts);
    if (value === NOT_MINE) return NOT_MINE;
    if (value instanceof Error) this.reject(value);
    else this.resolve(value);
    return true;
  }

  fail(error: ClientError): void {
    this.reject(error);
  }

  refuse(_index: number, error: ClientError): boolean {
    this.reject(error);
    return true;
  }
}

export class Group<T, C> extends Outstanding {
  readonly results: (Settled<T> | undefined)[];
  unanswered: number;

  constructor(
    label: string,
    first: number,
    frames: readonly Uint8Array[],
    retries: number,
    readonly context: C,
    readonly read: ReplyReader<T, C>,
    readonly resolve: (results: Settled<T>[]) => void,
    readonly reject: (error: ClientError) => void,
  ) {
    super(label, first, frames, retries);
    this.results = new Array<Settled<T> | undefined>(frames.length).fill(undefined);
    this.unanswered = frames.length;
  }

  open(index: number): boolean {
    return this.results[index] === undefined;
  }

  answer(payload: Uint8Array, index: number): boolean | typeof NOT_MINE {
    if (this.results[index] !== undefined) return false;
    const value = this.read(payload, this.context, this.attempts);
    if (value === NOT_MINE) return NOT_MINE;
    this.results[index] = value instanceof Error ? { status: 'rejected', reason: value } : { status: 'fulfilled', value };
    if (--this.unanswered > 0) return false;
    this.resolve(this.results as Settled<T>[]);
    return true;
  }

  refuse(index: number, error: ClientError): boolean {
    if (this.results[index] !== undefined) return false;
    this.results[index] = { status: 'rejected', reason: error };
    if (--this.unanswered > 0) return false;
    this.resolve(this.results as Settled<T>[]);
    return true;
  }

  fail(error: ClientError): void {
    // A group times out (or finds the node unreachable) as a whole: its unanswered frames fail,
    // the answered keep their result.
    if (!(error instanceof TimeoutError || error instanceof UnreachableError)) return this.reject(error);
    for (let i = 0; i < this.results.length; i++) this.results[i] ??= { status: 'rejected', reason: error };
    this.resolve(this.results as Settled<T>[]);
  }
}
