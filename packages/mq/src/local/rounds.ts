import { isStreampyError } from '@streampy/codec';
import type { PutResult } from '../backend.js';
import { PUT_DUPLICATE, PUT_STORED } from '../backend.js';
import { MqError } from '../errors.js';
import type { StorageEngine } from '../storage/engine.js';

/** A put recorded by the engine and not yet visible: it becomes visible once durable. */
export interface PendingPut {
  readonly seq: number;
  readonly key: string | undefined;
  readonly body: string;
  readonly bytes: number;
  readonly enqueuedAt: number;
}

/** A message a GET took, kept until its removal is durable, to be put back if it is not. */
export interface TakenMessage {
  readonly seq: number;
  readonly body: string;
  readonly bytes: number;
  readonly enqueuedAt: number;
  readonly deliveries: number;
}

/**
 * The operations of one event-loop turn on a queue whose engine must be durable before an
 * answer goes out: they share one `flush()` (group commit) and are committed, or undone
 * together when it fails, before anyone is answered.
 */
export class Round<Lease> {
  readonly puts: PendingPut[] = [];
  readonly taken: TakenMessage[] = [];
  readonly acked: Lease[] = [];
  /** Settles once the round is committed or undone; rejects with `ERR_STORAGE` when the flush failed. */
  readonly done: Promise<void>;
  #stored: Promise<PutResult> | undefined;
  #duplicate: Promise<PutResult> | undefined;
  #acks: Promise<boolean> | undefined;

  constructor(done: Promise<void>) {
    this.done = done;
  }

  /** The answer to a put of this round; one promise per outcome, however many puts. */
  put(result: PutResult): Promise<PutResult> {
    if (result === PUT_STORED) return (this.#stored ??= this.done.then(() => PUT_STORED));
    return (this.#duplicate ??= this.done.then(() => PUT_DUPLICATE));
  }

  ack(): Promise<boolean> {
    return (this.#acks ??= this.done.then(() => true));
  }
}

/** What a queue does when its round is durable, or was not made durable. */
export interface RoundOwner<Lease> {
  commit(round: Round<Lease>): void;
  revert(round: Round<Lease>): void;
}

/** The error every operation of a failed round answers with. */
function storageError(cause: unknown): MqError {
  if (isStreampyError(cause, 'ERR_STORAGE') && cause instanceof MqError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new MqError('ERR_STORAGE', `storage failed (${reason}); the request changed nothing`, { cause });
}

/** Opens one round per event-loop turn; its flush is called after the turn's operations, in a microtask. */
export class Rounds<Lease> {
  readonly #engine: StorageEngine;
  readonly #owner: RoundOwner<Lease>;
  #open: Round<Lease> | undefined;

  constructor(engine: StorageEngine, owner: RoundOwner<Lease>) {
    this.#engine = engine;
    this.#owner = owner;
  }

  /** The round operations of this turn join. */
  current(): Round<Lease> {
    const open = this.#open;
    if (open !== undefined) return open;
    const round: Round<Lease> = new Round(
      Promise.resolve()
        .then(() => {
          this.#open = undefined;
          return this.#engine.flush();
        })
        .then(
          () => this.#owner.commit(round),
          (error: unknown) => {
            this.#owner.revert(round);
            throw storageError(error);
          },
        ),
    );
    this.#open = round;
    return round;
  }
}
