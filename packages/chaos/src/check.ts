import { randomBytes } from 'node:crypto';
import { createClient, type QueueClient } from '@streampy/client';
import { checkInteger, checkName, parseLeaseToken, type Delivery, type NodeStats } from '@streampy/codec';
import { loadKeyFile, type HostPort, type Keyring, type Logger } from '@streampy/runtime';
import { validated } from './errors.js';
import { encodeCheckMessage, verifyCheckMessage } from './message.js';

/** How the checker reads the sink. */
export type DrainMode = 'reserve' | 'get';

export interface CheckOptions {
  /** The queue the checker fills. */
  readonly source: string | HostPort;
  /** The queue the checker drains (the same as `source` for a topology without workers). */
  readonly sink: string | HostPort;
  /** How many numbered messages to send. */
  readonly messages: number;
  /** Filler bytes per message. Default 16. */
  readonly payloadBytes?: number;
  /** Tags this run's messages and keys; default random. */
  readonly runId?: string;
  /** Puts in flight at once. Default 256. */
  readonly concurrency?: number;
  /** Client wait per attempt, ms. Default 200. */
  readonly timeoutMs?: number;
  /** Client retries per request before the checker itself tries again. Default 4. */
  readonly retries?: number;
  /**
   * `reserve` (default): lease + ack, so a reply lost on the way back does not lose messages;
   * `get`: destructive GET batches (what a seed node offers; a lost reply loses its messages).
   */
  readonly drain?: DrainMode;
  /** Lease of the checker's own reservations, ms. Default 2000; acks are retried within it. */
  readonly leaseMs?: number;
  /** Messages per RESERVE/GET. Default 100. */
  readonly batch?: number;
  /**
   * With messages still missing, stop once all are sent, the sink was quiet this long and (with
   * `reserve`) neither node holds anything any more. Default 3000.
   */
  readonly settleMs?: number;
  /** With every message in, keep draining until quiet this long, to catch late duplicates. Default 1000. */
  readonly tailMs?: number;
  /** Bound on the whole run, ms. Default 30,000 + 10 ms per message. */
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /** The nodes' shared key (a keyring or a key-file path): the checker's clients sign with it. */
  readonly auth?: Keyring | string;
  /**
   * Queue nodes between source and sink (a topology's middle queues): with `reserve`, the run is
   * drained only once their default queues hold nothing either, and their movement counts as
   * activity, so a restarting worker in the middle does not make missing messages look lost.
   */
  readonly watch?: readonly (string | HostPort)[];
}

export interface CheckReport {
  readonly runId: string;
  /** Messages the checker meant to send. */
  readonly messages: number;
  /** Messages the source acknowledged. */
  readonly sent: number;
  /** Copies read from the sink (intact or corrupted), leaving out the checker's own redeliveries. */
  readonly delivered: number;
  /** Distinct intact message numbers read. */
  readonly unique: number;
  /** Acknowledged messages never read intact. */
  readonly lost: number;
  /** Intact copies beyond the first of each number. */
  readonly duplicated: number;
  /** Copies whose content failed the checksum. */
  readonly corrupted: number;
  /** Copies redelivered because the checker's own ack did not land in time: not counted as duplicates. */
  readonly redelivered: number;
  /** Intact messages of another run (leftovers on the queues): ignored. */
  readonly foreign: number;
  /** True when the deadline ended the run. */
  readonly timedOut: boolean;
  readonly seconds: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Failures no retry can cure: a closed client, a request the client or node can never take.
 * Anything else from the network (no reply, a full queue, a request or reply damaged on the
 * way, which the node may answer with any error) is retried, within the run's deadline.
 */
const FATAL = new Set(['ERR_CLOSED', 'ERR_INVALID_ARGUMENT', 'ERR_REQUEST_TOO_LARGE', 'ERR_TOO_LARGE', 'ERR_UNSUPPORTED']);

function isTransient(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && !FATAL.has(code);
}

/**
 * Asks a node for its size before the run, to stop at once when the OS reports nothing listens
 * there (ERR_UNREACHABLE, thrown). Any other failure is left to the run: a node behind a lossy
 * proxy may miss one request and take the next; an unreachable node met later (a restart) is
 * retried like any loss.
 */
async function probe(client: QueueClient): Promise<void> {
  try {
    await client.size();
  } catch (error) {
    if (codeOf(error) === 'ERR_UNREACHABLE') throw error;
  }
}

/**
 * Why a finished run checked nothing, or undefined when it checked something: none of the
 * messages was acknowledged by the source, or nothing at all was read from the sink. The
 * checker's CLI exits 1 with this line (a report of zeros would read as a pass).
 */
export function emptyRunProblem(report: CheckReport, source: string, sink: string): string | undefined {
  if (report.messages > 0 && report.sent === 0) {
    return `the source ${source} acknowledged none of the ${report.messages} messages in ${report.seconds} s: is a queue node running there, and reachable?`;
  }
  const seen = report.delivered + report.redelivered + report.foreign;
  if (report.sent > 0 && seen === 0) {
    return `nothing arrived at the sink ${sink} in ${report.seconds} s (${report.sent} messages sent): does anything move messages from the source to it?`;
  }
  return undefined;
}

/**
 * The stored message a delivery is of, when its token is a lease token of the codec's format:
 * every redelivery of one message shares its message id, while two stored copies of the same
 * content never do.
 */
function identityOf(delivery: Delivery): string | undefined {
  return parseLeaseToken(delivery.token)?.messageId;
}

interface Holdings {
  /** Ready messages. */
  readonly ready: number;
  /** Leased or delayed: will be acked, or come back. */
  readonly inFlight: number;
  /** Sum of the movement counters: changes whenever a message moves. */
  readonly activity: number;
}

/** What a node's default queue holds, from its typed STATS; undefined before the queue exists. */
function holdingsOf(stats: NodeStats): Holdings | undefined {
  const queue = stats.queues.default;
  if (queue === undefined) return undefined;
  return {
    ready: queue.size,
    inFlight: queue.leased + queue.delayed,
    activity: queue.puts + queue.duplicates + queue.gets + queue.reserves + queue.acks + queue.nacks + queue.deadLettered,
  };
}

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  return validated('ERR_BAD_OPTION', () => checkInteger(name, value ?? fallback, min, max));
}

/**
 * Sends `messages` numbered, checksummed messages into the source (each with an idempotency
 * key, retried until acknowledged), drains the sink, and reports what was lost, duplicated or
 * corrupted on the way.
 */
export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const messages = integer('messages', options.messages, 0, 0, 10_000_000);
  const payloadBytes = integer('payloadBytes', options.payloadBytes, 16, 0, 60_000);
  const concurrency = integer('concurrency', options.concurrency, 256, 1, 10_000);
  const leaseMs = integer('leaseMs', options.leaseMs, 2000, 1, 3_600_000);
  const batch = integer('batch', options.batch, 100, 1, 1000);
  const settleMs = integer('settleMs', options.settleMs, 3000, 0, 3_600_000);
  const tailMs = integer('tailMs', options.tailMs, 1000, 0, 3_600_000);
  const deadlineMs = integer('deadlineMs', options.deadlineMs, 30_000 + 10 * messages, 1, 86_400_000);
  const runId = options.runId ?? randomBytes(5).toString('hex');
  validated('ERR_BAD_OPTION', () => checkName('runId', runId, 'ERR_BAD_OPTION', 32));
  const drain = options.drain ?? 'reserve';
  const log = options.logger;
  const auth = typeof options.auth === 'string' ? loadKeyFile(options.auth) : options.auth;
  const clientOptions = { timeoutMs: options.timeoutMs ?? 200, retries: options.retries ?? 4, ...(auth === undefined ? {} : { auth }) };

  const started = Date.now();
  const deadline = started + deadlineMs;
  const expired = (): boolean => Date.now() >= deadline || options.signal?.aborted === true;

  const acked = new Uint8Array(messages);
  const copies = new Uint8Array(messages);
  /**
   * Deliveries whose ack the checker could not confirm: when one comes back, that is the
   * checker's own doing, not a duplicate. Keyed by the stored message's identity where the
   * token shows it, else (coarser) by message number.
   */
  const ackUnsure = new Set<string | number>();
  /** The report's counts, kept in place as the run goes (lost is counted at the end). */
  const counts = { sent: 0, delivered: 0, unique: 0, lost: 0, duplicated: 0, corrupted: 0, redelivered: 0, foreign: 0 };
  let sendingDone = false;
  let lastArrival = Date.now();

  const source = await createClient({ address: options.source, ...clientOptions });
  const sink = await createClient({ address: options.sink, ...clientOptions });
  const sameNode = source.address.host === sink.address.host && source.address.port === sink.address.port;
  const watched = await Promise.all((options.watch ?? []).map((address) => createClient({ address, ...clientOptions })));
  try {
    await Promise.all([source, ...(sameNode ? [] : [sink]), ...watched].map(probe));
  } catch (error) {
    await Promise.all([source.close(), sink.close(), ...watched.map((client) => client.close())]);
    throw error;
  }
  // Leases and STATS come together: a node that reserves reports what it holds.
  const watchHoldings = drain === 'reserve';
  const acks = new Set<Promise<void>>();

  /** Counts one body read from the sink; returns its message number when it is intact and ours. */
  const record = (body: Uint8Array, delivery?: Delivery): number | undefined => {
    lastArrival = Date.now();
    const checked = verifyCheckMessage(body, runId);
    if (checked.kind === 'foreign') {
      counts.foreign++;
      return undefined;
    }
    if (checked.kind === 'corrupt' || checked.n >= messages) {
      counts.corrupted++;
      counts.delivered++;
      return undefined;
    }
    const n = checked.n;
    const seen = copies[n] as number;
    if (seen > 0 && delivery !== undefined && delivery.deliveries > 1 && ackUnsure.has(identityOf(delivery) ?? n)) {
      counts.redelivered++;
      return n;
    }
    counts.delivered++;
    if (seen === 0) counts.unique++;
    else counts.duplicated++;
    copies[n] = Math.min(255, seen + 1);
    return n;
  };

  const ackUntilDone = async (n: number | undefined, delivery: Delivery, leasedAt: number): Promise<void> => {
    const token = delivery.token;
    // Past the lease the node has already put the message back: another ack cannot help.
    while (Date.now() < leasedAt + leaseMs && !expired()) {
      try {
        await sink.ack(token);
        return;
      } catch (error) {
        // UNKNOWN_LEASE: an earlier attempt landed, or the lease ran out; no retry tells which.
        if (!isTransient(error) || codeOf(error) === 'ERR_UNKNOWN_LEASE') break;
      }
    }
    const identity = identityOf(delivery) ?? n;
    if (identity !== undefined) ackUnsure.add(identity);
  };

  const putUntilAcked = async (n: number): Promise<void> => {
    const body = encodeCheckMessage(runId, n, payloadBytes);
    const key = `${runId}-${n}`;
    while (!expired()) {
      try {
        await source.put(body, { key });
        acked[n] = 1;
        counts.sent++;
        return;
      } catch (error) {
        if (!isTransient(error)) throw error;
        // A full queue, or a node down for now (which fails at once, not after a timeout): pause.
        const code = codeOf(error);
        if (code === 'ERR_FULL' || code === 'ERR_UNREACHABLE') await sleep(50);
      }
    }
  };

  const sendAll = async (): Promise<void> => {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < messages && !expired()) await putUntilAcked(next++);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(messages, 1)) }, lane));
    sendingDone = true;
    lastArrival = Math.max(lastArrival, Date.now());
    log?.info('check-sent', { sent: counts.sent, messages, seconds: (Date.now() - started) / 1000 });
  };

  let done = false;
  let lastActivity = -1;
  /**
   * True when nothing more can reach the sink: it holds nothing (a lease whose reply was lost
   * comes back later), nothing is in flight out of the source (a worker's work in progress),
   * and no message moved since the last look. Undefined when a node does not answer STATS.
   */
  const drained = async (): Promise<boolean | undefined> => {
    try {
      const sinkHoldings = holdingsOf(await sink.stats());
      const sourceHoldings = sameNode ? sinkHoldings : holdingsOf(await source.stats());
      if (sinkHoldings === undefined || sourceHoldings === undefined) return undefined;
      let activity = sinkHoldings.activity + (sameNode ? 0 : sourceHoldings.activity);
      let middleEmpty = true;
      for (const client of watched) {
        const middle = holdingsOf(await client.stats());
        if (middle === undefined) return undefined;
        activity += middle.activity;
        if (middle.ready + middle.inFlight > 0) middleEmpty = false;
      }
      const moved = activity !== lastActivity;
      lastActivity = activity;
      if (moved) lastArrival = Math.max(lastArrival, Date.now());
      return !moved && middleEmpty && sinkHoldings.ready + sinkHoldings.inFlight === 0 && sourceHoldings.inFlight === 0;
    } catch {
      return undefined;
    }
  };

  /** Decides when to stop: everything sent, the sink quiet long enough, and (with leases) nothing more on its way. */
  const watch = async (): Promise<void> => {
    let statsWorked = false;
    let statsFailed = 0;
    while (!expired()) {
      await sleep(Math.min(200, Math.max(10, tailMs / 2)));
      if (!sendingDone) continue;
      const complete = counts.unique >= counts.sent && counts.sent === messages;
      if (Date.now() - lastArrival < (complete ? tailMs : settleMs)) continue;
      if (!watchHoldings || (!statsWorked && statsFailed >= 3)) break; // a node without STATS: quiet is all there is to go by
      const result = await drained();
      if (result === true) break;
      if (result === undefined) statsFailed++;
      else statsWorked = true;
    }
    done = true;
  };

  const drainLane = async (): Promise<void> => {
    while (!done && !expired()) {
      let got = 0;
      try {
        if (drain === 'get') {
          const bodies = await sink.getBatch(batch);
          for (const body of bodies) record(body);
          got = bodies.length;
        } else {
          const leasedAt = Date.now();
          const deliveries = await sink.reserve({ max: batch, leaseMs });
          for (const delivery of deliveries) {
            const n = record(delivery.body, delivery);
            const ack = ackUntilDone(n, delivery, leasedAt).finally(() => acks.delete(ack));
            acks.add(ack);
          }
          got = deliveries.length;
        }
      } catch (error) {
        if (!isTransient(error)) throw error;
      }
      if (got === 0) await sleep(10);
    }
  };

  try {
    await Promise.all([sendAll(), watch(), ...Array.from({ length: 4 }, drainLane)]);
    await Promise.all([...acks]);
  } finally {
    await Promise.all([source.close(), sink.close(), ...watched.map((client) => client.close())]);
  }

  for (let n = 0; n < messages; n++) if (acked[n] === 1 && copies[n] === 0) counts.lost++;
  const report: CheckReport = {
    runId,
    messages,
    ...counts,
    timedOut: Date.now() >= deadline,
    seconds: Math.round((Date.now() - started) / 10) / 100,
  };
  log?.info('check-done', { ...report });
  return report;
}
