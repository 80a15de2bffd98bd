import { headers, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import { parseLeaseToken } from '@streampy/codec';
import type { Clock, Logger } from '@streampy/runtime';
import { PUT_DUPLICATE, PUT_STORED, type MessageBatch, type PutOptions, type PutResult, type QueueBackend } from '../backend.js';
import type { DeadLetterRoute } from '../dead-letter.js';
import { utf8Text } from '../local/held.js';
import type { NoncePool } from '../local/nonces.js';
import type { Scheduler } from '../scheduler.js';
import type { QueueStats } from '../stats.js';
import { AckBatcher } from './acks.js';
import { Counts } from './counts.js';
import { LeaseTable, type Lease, type LeaseActions } from './leases.js';
import { isFullCode, unavailable, type JetStreamLink } from './link.js';
import { deliveryOf, issuerOf, queueSubject, readySubject, streamName } from './names.js';
import type { Puller } from './puller.js';
import { SharedReady } from './ready.js';
import { readPubAck, type Replies } from './replies.js';
import type { LeaseHolder, LeaseRouter, LeaseVerb } from './router.js';
import { ensureQueue, type StreamRules } from './setup.js';

/** The rules of every JetStream queue of a node. */
export interface JetStreamRules extends StreamRules {
  readonly maxDeliveries: number;
}

/** What a JetStream queue needs from its node: the connection and its helpers, time, nonces and the dead-letter route. */
export interface JetStreamContext {
  readonly link: JetStreamLink;
  readonly puller: Puller;
  readonly replies: Replies;
  readonly router: LeaseRouter;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly nonces: NoncePool;
  readonly rules: JetStreamRules;
  readonly deadLetters: DeadLetterRoute;
  readonly logger: Logger;
}

/** The idempotency key as JetStream's duplicate detection reads it. */
function idHeaders(key: string): MsgHdrs {
  const h = headers();
  h.set('Nats-Msg-Id', key);
  return h;
}

const NAK = '-NAK';
const WORKING = '+WPI';
const NANOS = 1_000_000;
/** The largest delivery count a token carries (the codec's bound); JetStream counts on. */
const MAX_TOKEN_DELIVERY = 65_535;

/**
 * One named queue kept in a JetStream stream (work-queue retention) with one durable pull
 * consumer that every streampy node on the stream shares (docs/jetstream.md has the mapping).
 * A lease is a JetStream delivery; the node that fetched it keeps it (keep-alives past the
 * consumer's ack wait, a NAK at a shorter deadline) and decides about its token, so a lease
 * taken through one node can be acked through any other (see `LeaseRouter`).
 */
export class JetStreamBackend implements QueueBackend, LeaseActions, LeaseHolder {
  readonly name: string;
  readonly kind = 'jetstream';
  readonly #stream: string;
  readonly #subject: string;
  readonly #context: JetStreamContext;
  readonly #link: JetStreamLink;
  readonly #isDeadLetterQueue: boolean;
  readonly #leases: LeaseTable;
  readonly #ready: SharedReady;
  readonly #counts: Counts;
  readonly #acks: AckBatcher;
  /** Work started here that outlives its request: dead letters on their way, keep-alives, NAKs at deadlines. */
  readonly #background = new Set<Promise<unknown>>();
  /** The last put not yet acknowledged: a GET, RESERVE or SIZE after it waits for it (effects in request order). */
  #lastPut: Promise<unknown> | undefined;
  #closed = false;
  readonly #counters = { puts: 0, gets: 0, reserves: 0, acks: 0, nacks: 0, extends: 0, redeliveries: 0, deadLettered: 0, duplicates: 0, rejectedFull: 0 };

  private constructor(name: string, context: JetStreamContext, isDeadLetterQueue: boolean) {
    this.name = name;
    this.#context = context;
    this.#link = context.link;
    this.#stream = streamName(context.link.config.prefix, name);
    this.#subject = queueSubject(context.link.config.prefix, name);
    this.#isDeadLetterQueue = isDeadLetterQueue;
    this.#ready = new SharedReady(context.link, readySubject(context.link.config.prefix, name));
    this.#leases = new LeaseTable(context.clock, context.scheduler, context.rules.ackWaitMs, this, this.#ready);
    this.#counts = new Counts(context.link, this.#stream, this.#subject, context.clock, this.#ready);
    this.#acks = new AckBatcher(context.link, context.replies);
  }

  /** Makes (or finds) the queue's stream and consumer, then serves it; the dead-letter queue has no bounds and no delivery limit. */
  static async open(name: string, context: JetStreamContext, isDeadLetterQueue: boolean): Promise<JetStreamBackend> {
    await ensureQueue(context.link, name, context.rules, !isDeadLetterQueue);
    const backend = new JetStreamBackend(name, context, isDeadLetterQueue);
    context.router.add(name, backend);
    await backend.#counts.refresh().catch(() => undefined);
    return backend;
  }

  put(body: Uint8Array, key: string | undefined, options?: PutOptions): Promise<PutResult> {
    const what = `store a message in queue ${this.name}`;
    const put = this.#put(body, key, options?.bounded !== false, what);
    this.#lastPut = put;
    return put;
  }

  async get(max: number, into: MessageBatch): Promise<void> {
    const messages = await this.#fetch(max, into.room, `hand out a message of queue ${this.name}`);
    const taken: Msg[] = [];
    for (const msg of messages) {
      if (!into.fits(msg.data.byteLength)) {
        this.#giveBack(msg);
        continue;
      }
      into.add(msg.data, msg.data.byteLength, deliveryOf(msg.reply ?? '')?.storedAt ?? 0);
      taken.push(msg);
    }
    // At most once: the messages are handed out only once the server confirmed every removal;
    // when one is not confirmed none is (those removed are lost, as at-most-once allows; the rest come again).
    const acked = await Promise.allSettled(taken.map((msg) => this.#acks.ack(msg.reply ?? '', `remove a message from queue ${this.name}`)));
    const failed = acked.find((result) => result.status === 'rejected');
    if (failed !== undefined) {
      into.clear();
      throw failed.reason;
    }
    this.#counters.gets += taken.length;
    const again: number[] = [];
    for (const msg of taken) {
      this.#counts.removed(msg.data.byteLength);
      const info = deliveryOf(msg.reply ?? '');
      if (info?.deliveries === 1) this.#counts.delivered(1);
      else if (info !== undefined) again.push(info.streamSeq);
    }
    this.#ready.taken(again);
  }

  async reserve(max: number, leaseMs: number, into: MessageBatch): Promise<void> {
    const messages = await this.#fetch(max, into.room, `lease a message of queue ${this.name}`);
    const maxDeliveries = this.#context.rules.maxDeliveries;
    const again: number[] = [];
    for (const msg of messages) {
      const info = deliveryOf(msg.reply ?? '');
      if (info === undefined) {
        this.#giveBack(msg);
        continue;
      }
      if (info.deliveries > 1) this.#counters.redeliveries++;
      else this.#counts.delivered(1);
      if (!into.fits(msg.data.byteLength)) {
        this.#giveBack(msg);
        continue;
      }
      if (info.deliveries > 1) again.push(info.streamSeq);
      // Its last lease ran out on a node that stopped, or whose NAK was lost: past its deliveries now.
      if (!this.#isDeadLetterQueue && info.deliveries > maxDeliveries) {
        this.#deadLetter(msg, info.streamSeq, info.deliveries);
        continue;
      }
      const nonce = this.#link.nodeId + this.#context.nonces.next();
      const lease = this.#leases.hold(msg, info.streamSeq, info.deliveries, nonce, leaseMs);
      if (this.#context.logger.enabled('debug')) this.#context.logger.debug('lease', { queue: this.name, seq: info.streamSeq, deliveries: info.deliveries, nonce, leaseMs });
      this.#counters.reserves++;
      into.addLeased(msg.data, msg.data.byteLength, info.storedAt, lease.messageId, Math.min(info.deliveries, MAX_TOKEN_DELIVERY), nonce);
    }
    this.#ready.taken(again);
  }

  ack(token: string): Promise<boolean> {
    return this.#settle('ACK', token, 0);
  }

  nack(token: string, delayMs: number): Promise<boolean> {
    return this.#settle('NACK', token, delayMs);
  }

  extend(token: string, leaseMs: number): Promise<boolean> {
    return this.#settle('EXTEND', token, leaseMs);
  }

  async size(): Promise<number> {
    await this.#afterPuts();
    await this.#counts.refresh();
    return this.#counts.neverDelivered + this.#leases.readyAgain;
  }

  /** Counts the server reported at most a second ago (a STATS refreshes them for the next), and this node's leases. */
  stats(): QueueStats {
    const counts = this.#counts;
    counts.refreshIfOld();
    return {
      size: counts.neverDelivered + this.#leases.readyAgain,
      leased: this.#leases.leased,
      delayed: this.#leases.delayed,
      bytes: counts.bodyBytes,
      ...this.#counters,
      storage: { messages: counts.messages, ackPending: counts.ackPending, waitingPulls: counts.waiting },
    };
  }

  /** Waits for this node's work in flight and reads the server's counts afresh (tests, before they look at `stats()`). */
  async settle(): Promise<void> {
    await this.#afterPuts();
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
    await this.#counts.refresh();
  }

  /** Leases still held are given back at once: their tokens name this node, so no other could settle them. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#context.router.remove(this.name);
    for (const lease of this.#leases.clear()) {
      if (!this.#link.connected || lease.msg.reply === undefined) continue;
      // Told before the NAK, so other nodes count it ready by the time they can fetch it.
      this.#ready.add(lease.seq);
      this.#link.tell(lease.msg.reply, NAK);
    }
    this.#ready.close();
    // Bounded: a dead letter whose destination never takes it stays in its stream for another node.
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#link.timeoutMs)));
    await Promise.race([Promise.allSettled([...this.#background]), grace]);
    clearTimeout(timer);
  }

  /** A lease operation through this node: carried out here if this node issued the lease, else by its issuer. */
  async #settle(verb: LeaseVerb, token: string, ms: number): Promise<boolean> {
    const parts = parseLeaseToken(token);
    const issuer = parts === undefined ? undefined : issuerOf(parts.nonce);
    if (parts === undefined || issuer === undefined) return false;
    if (issuer !== this.#link.nodeId) return this.#context.router.forward(issuer, verb, this.name, token, ms);
    return this.decide(verb, token, ms);
  }

  /** `LeaseHolder`: a lease operation on a token this node issued (from a request here, or sent on by another node). */
  async decide(verb: LeaseVerb, token: string, ms: number): Promise<boolean> {
    const parts = parseLeaseToken(token);
    const lease = parts === undefined ? undefined : this.#leases.find(parts);
    if (this.#context.logger.enabled('debug')) this.#context.logger.debug('lease operation', { queue: this.name, verb, token, held: lease !== undefined });
    if (lease === undefined || lease.msg.reply === undefined) return false;
    const reply = lease.msg.reply;
    // While NATS is down the lease stays as it is, for the client to retry.
    this.#link.check(`${verb === 'ACK' ? 'acknowledge' : verb === 'NACK' ? 'give back' : 'extend'} lease ${token}`);
    switch (verb) {
      case 'ACK':
        // Out of the table first, so a second ACK of it answers false at once.
        this.#leases.release(lease);
        try {
          await this.#acks.ack(reply, `acknowledge lease ${token}`);
        } catch (error) {
          this.#leases.reinstate(lease);
          throw error;
        }
        this.#counters.acks++;
        this.#counts.removed(lease.bytes);
        return true;
      case 'EXTEND':
        // The deadline moves here; keep-alives to the server follow it (LeaseTable).
        this.#leases.extend(lease, ms);
        this.#counters.extends++;
        return true;
      case 'NACK':
        this.#counters.nacks++;
        if (!this.#isDeadLetterQueue && lease.deliveries >= this.#context.rules.maxDeliveries) {
          this.#leases.release(lease);
          this.#deadLetter(lease.msg, lease.seq, lease.deliveries);
          return true;
        }
        if (ms <= 0) this.#leases.giveBack(lease);
        else this.#leases.delay(lease, ms);
        await this.#context.replies.request(reply, ms <= 0 ? NAK : `${NAK} ${JSON.stringify({ delay: ms * NANOS })}`, `give back lease ${token}`);
        return true;
    }
  }

  /** `LeaseActions`: the lease outlives the ack wait; a lost keep-alive only means the server may redeliver early. */
  keepAlive(lease: Lease): void {
    if (lease.msg.reply !== undefined) this.#link.tell(lease.msg.reply, WORKING);
    this.#leases.touched(lease);
  }

  /** `LeaseActions`: the deadline passed. */
  expired(lease: Lease): void {
    if (this.#context.logger.enabled('debug')) this.#context.logger.debug('lease ran out', { queue: this.name, seq: lease.seq, deliveries: lease.deliveries });
    if (!this.#isDeadLetterQueue && lease.deliveries >= this.#context.rules.maxDeliveries) {
      this.#leases.release(lease);
      this.#deadLetter(lease.msg, lease.seq, lease.deliveries);
      return;
    }
    this.#leases.giveBack(lease);
    if (lease.msg.reply !== undefined) this.#track(this.#context.replies.request(lease.msg.reply, NAK, `give back expired lease of message ${lease.messageId}`));
  }

  async #put(body: Uint8Array, key: string | undefined, bounded: boolean, what: string): Promise<PutResult> {
    // A put the connection would only buffer now could land long after its answer: refused instead.
    this.#link.check(what);
    const maxBytes = this.#context.rules.maxBytes;
    if (bounded && !this.#isDeadLetterQueue && this.#counts.bodyBytes + body.byteLength > maxBytes) {
      this.#counters.rejectedFull++;
      return { outcome: 'full', reason: `queue ${this.name} is full: its byte bound (${maxBytes} bytes, about ${this.#counts.bodyBytes} held) is reached; retry later` };
    }
    const answer = readPubAck(await this.#context.replies.request(this.#subject, body, what, key === undefined ? undefined : idHeaders(key)));
    if (answer === undefined) throw unavailable(what, new Error('the stream answered something that is not a PubAck'));
    if ('errCode' in answer) {
      if (!isFullCode(answer.errCode)) throw unavailable(what, new Error(`${answer.description} (JetStream error ${answer.errCode})`));
      this.#counters.rejectedFull++;
      return { outcome: 'full', reason: `queue ${this.name} is full: JetStream refused the message (${answer.description}); retry later` };
    }
    if (answer.duplicate) {
      this.#counters.duplicates++;
      return PUT_DUPLICATE;
    }
    this.#counters.puts++;
    this.#counts.stored(body.byteLength);
    return PUT_STORED;
  }

  /** Pulls up to `max` messages within `room` bytes (as the server counts them), after the puts before. */
  async #fetch(max: number, room: number, what: string): Promise<Msg[]> {
    await this.#afterPuts();
    const puller = this.#context.puller;
    const pulled = await puller.pull(this.#stream, max, Number.isFinite(room) ? Math.max(1, Math.floor(room)) : undefined, what);
    // The first message always fits a reply: asked for alone when it is over the room the server was told of.
    if (pulled.messages.length === 0 && pulled.overMaxBytes) return (await puller.pull(this.#stream, 1, undefined, what)).messages;
    return pulled.messages;
  }

  /** A message fetched that the reply has no room for: back at once (JetStream counts it a delivery). */
  #giveBack(msg: Msg): void {
    const info = deliveryOf(msg.reply ?? '');
    if (info !== undefined) this.#leases.markReady(info.streamSeq);
    if (msg.reply !== undefined) this.#link.tell(msg.reply, NAK);
  }

  #deadLetter(msg: Msg, seq: number, deliveries: number): void {
    this.#counters.deadLettered++;
    const messageId = seq.toString(36);
    const reply = msg.reply;
    const done = new Promise<void>((resolve) => {
      // Stored once even when several nodes race (the destination dedups on the key), then removed here.
      this.#context.deadLetters.route({ queue: this.name, messageId, body: utf8Text(msg.data), deliveries, idempotent: true }, () => {
        if (reply === undefined) return resolve();
        this.#acks.ack(reply, `remove dead letter ${messageId} from queue ${this.name}`).then(
          () => {
            this.#counts.removed(msg.data.byteLength);
            resolve();
          },
          (error: unknown) => {
            // The server redelivers it after the ack wait; whoever fetches it dead-letters it again, stored once.
            this.#context.logger.warn('dead letter stored but not yet removed from its queue', { queue: this.name, messageId, error: String(error) });
            resolve();
          },
        );
      });
    });
    this.#track(done);
  }

  #track(work: Promise<unknown>): void {
    // Debug only: an outage fails many of these at once, and the connection already said it dropped.
    const tracked = work.catch((error: unknown) => this.#context.logger.debug('JetStream call failed', { queue: this.name, error: String(error) }));
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }

  async #afterPuts(): Promise<void> {
    const last = this.#lastPut;
    if (last === undefined) return;
    await last.catch(() => undefined);
    if (this.#lastPut === last) this.#lastPut = undefined;
  }
}
