import { randomInt } from 'node:crypto';
import { hasFaults, type ProxyStats } from '@streampy/chaos';
import type { Logger } from '@streampy/runtime';
import { describeExit, startTopology, sumProxyStats, type Child, type RunningTopology } from '@streampy/topology';
import type { Guarantee } from '@streampy/worker';
import { DemoError } from './errors.js';
import type { DemoOptions, Faults } from './options.js';
import { ballsHeld, readQueueCounts, type QueueCounts } from './queue-stats.js';
import { QUEUE, WORKER, loadPongTopology } from './topology.js';

/** What the live view shows at one moment. */
export interface Snapshot {
  readonly elapsedSeconds: number;
  readonly rounds: number;
  /** Over the last interval between snapshots. */
  readonly roundsPerSecond: number;
  readonly counts: QueueCounts;
  readonly ballsSeeded: number;
  readonly guarantee: Guarantee;
  readonly faults: Faults | undefined;
  /** The proxies' counts, when known (the proxies are processes: they report when they stop). */
  readonly proxy: ProxyStats | undefined;
}

/** The `--json` summary. */
export interface Summary {
  readonly rounds: number;
  readonly seconds: number;
  readonly roundsPerSecond: number;
  readonly ballsSeeded: number;
  readonly ballsAtEnd: number;
  readonly guarantee: Guarantee;
  readonly faults: (Faults & { readonly seed: number; readonly proxy: ProxyStats }) | null;
  /** Every process the game ran: queue node, worker, and the fault proxies if any. */
  readonly pids: number[];
}

export interface GameHooks {
  readonly logger: Logger;
  /** Stops the game (Ctrl-C); the duration option stops it too. */
  readonly stopSignal: AbortSignal;
  /** Called with a fresh snapshot every `intervalMs`; omitted for `--json`. */
  readonly onSnapshot?: (snapshot: Snapshot) => void;
  readonly intervalMs: number;
  /** Every child as soon as it is spawned, so the caller can kill it whatever happens. */
  readonly track: (child: Child) => void;
  /** Called once the topology runs (e.g. to start the web view on its snapshots). */
  readonly onRunning?: (running: RunningTopology) => Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
/** Polls while waiting for leased balls to come back; each poll is one STATS round trip. */
const SETTLE_POLL_MS = 100;
/** Beyond one lease, for the node to notice the expiry and the last reply to arrive. */
const SETTLE_MARGIN_MS = 3_000;
/** A node that misses this many STATS in a row while alive is broken, not slow. */
const MAX_STATS_FAILURES = 10;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `signal` aborts or `seconds` pass (never, when undefined). */
function stopRequested(signal: AbortSignal, seconds: number | undefined): { promise: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
    if (seconds !== undefined) timer = setTimeout(resolve, seconds * 1000);
  });
  return {
    promise,
    cancel: () => {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    },
  };
}

/** How the demo names its two processes in messages. */
const NAMES: Readonly<Record<string, string>> = { queue: 'queue node', worker: 'pong worker', proxy: 'fault proxy' };

/**
 * Plays one game: the self-loop of pong.yaml run by @streampy/topology (a queue node and a pong
 * worker as child processes, through fault proxies when faults are asked for), `balls` pings
 * seeded, watched until stopped; then the worker is stopped first so the ball in its hand is put
 * back, leased balls are given time to return, the balls are counted, and the queue node stops.
 * A process that dies mid-game ends it as a failure (the demo does not restart it).
 */
export async function playPong(options: DemoOptions, hooks: GameHooks): Promise<Summary> {
  const { logger } = hooks;
  const seed = options.seed ?? randomInt(2 ** 32);
  const topology = await loadPongTopology(options, seed);
  const running = await startTopology(topology, {
    logger,
    restart: false,
    readyTimeoutMs: READY_TIMEOUT_MS,
    // The children's logs stay with them (their last lines explain a failure); on a live screen
    // they would tear the picture, and the demo's own stderr says what the demo does.
    childLog: () => {},
    track: hooks.track,
    sampleIntervalMs: hooks.intervalMs,
  });
  let stopped = false;
  try {
    const ready = running.ready();
    const queuePid = ready.queues[QUEUE]?.pid;
    const workerPid = ready.workers[WORKER]?.[0]?.pid;
    logger.info('balls seeded', { balls: options.balls, queue: queuePid, worker: workerPid });
    await hooks.onRunning?.(running);
    const startedAt = performance.now();
    const faulty = hasFaults(options.faults);

    const readCounts = async (): Promise<QueueCounts> => {
      await running.sample();
      const stats = running.snapshots.stats(QUEUE);
      const counts = stats === undefined ? undefined : readQueueCounts(stats);
      if (!counts) throw new DemoError('ERR_QUEUE', 'the queue node did not answer STATS');
      return counts;
    };

    const stop = stopRequested(hooks.stopSignal, options.durationSeconds);
    const ticker = hooks.onSnapshot ? startTicker(hooks.onSnapshot) : undefined;
    const ended = await Promise.race([stop.promise.then(() => undefined), running.failed, ticker?.failed ?? new Promise<never>(() => {})]);
    stop.cancel();
    ticker?.stop();
    const seconds = (performance.now() - startedAt) / 1000;
    if (ended) {
      const { process, exit } = ended;
      const name = NAMES[process.kind] ?? process.label;
      throw new DemoError('ERR_CHILD_EXIT', `${name} (pid ${process.pids.at(-1) ?? '?'}) exited unexpectedly (${exit ? describeExit(exit) : 'gone'})${ended.message.includes('; its last') ? ended.message.slice(ended.message.indexOf('; its last')) : ''}`);
    }

    let final: QueueCounts | undefined;
    stopped = true;
    const summary = await running.stop({
      // Nothing the worker sent can arrive any more: the count must not move.
      beforeQueues: async () => {
        final = await settle(readCounts, options.leaseMs + SETTLE_MARGIN_MS);
      },
    });
    const workerExit = running.process('worker', WORKER).exit;
    if (workerExit?.code !== 0) {
      throw new DemoError('ERR_CHILD_EXIT', `pong worker did not stop cleanly (${workerExit ? describeExit(workerExit) : 'still running'})`);
    }
    if (final === undefined) throw new DemoError('ERR_QUEUE', 'the queue node did not answer STATS at the end');
    const rounds = Math.max(0, final.puts - options.balls);
    return {
      rounds,
      seconds: round(seconds, 3),
      roundsPerSecond: round(seconds > 0 ? rounds / seconds : 0, 1),
      ballsSeeded: options.balls,
      ballsAtEnd: ballsHeld(final),
      guarantee: options.guarantee,
      faults: faulty ? { ...options.faults, seed, proxy: sumProxyStats(Object.values(summary.proxies)) } : null,
      pids: summary.pids.slice(),
    };

    function startTicker(onSnapshot: (snapshot: Snapshot) => void): { stop: () => void; failed: Promise<never> } {
      let last = { at: startedAt, puts: options.balls };
      let busy = false;
      let failures = 0;
      let fail: (error: Error) => void = () => {};
      const failed = new Promise<never>((_, reject) => (fail = reject));
      // A tick still in flight may fail after the game ended: that is no longer anyone's concern.
      failed.catch(() => {});
      const tick = async (): Promise<void> => {
        const counts = await readCounts();
        const now = performance.now();
        const rounds = Math.max(0, counts.puts - options.balls);
        const interval = (now - last.at) / 1000;
        const roundsPerSecond = interval > 0 ? Math.max(0, counts.puts - last.puts) / interval : 0;
        last = { at: now, puts: counts.puts };
        onSnapshot({
          elapsedSeconds: (now - startedAt) / 1000,
          rounds,
          roundsPerSecond,
          counts,
          ballsSeeded: options.balls,
          guarantee: options.guarantee,
          faults: faulty ? options.faults : undefined,
          proxy: undefined,
        });
      };
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        tick()
          .then(
            () => (failures = 0),
            (error: unknown) => {
              failures++;
              const message = error instanceof Error ? error.message : String(error);
              logger.warn('stats failed', { error: message, failures });
              if (failures >= MAX_STATS_FAILURES) fail(new DemoError('ERR_QUEUE', `the queue node stopped answering STATS: ${message}`, { cause: error }));
            },
          )
          .finally(() => (busy = false));
      }, hooks.intervalMs);
      return { stop: () => clearInterval(timer), failed };
    }
  } finally {
    if (!stopped) await running.stop();
  }
}

/**
 * Polls until no ball is leased or delayed (leased balls return to the queue when their
 * lease ends), or the deadline passes; returns the last counts either way.
 */
async function settle(readCounts: () => Promise<QueueCounts>, deadlineMs: number): Promise<QueueCounts> {
  const deadline = performance.now() + deadlineMs;
  let counts = await readCounts();
  while (counts.leased + counts.delayed > 0 && performance.now() < deadline) {
    await sleep(SETTLE_POLL_MS);
    counts = await readCounts();
  }
  return counts;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
