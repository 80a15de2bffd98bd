import { createFaultProxy, hasFaults, type FaultProxy, type ProxyStats } from '@streampy/chaos';
import { createClient, type QueueClient } from '@streampy/client';
import { formatHostPort, parseHostPort, type Logger } from '@streampy/runtime';
import { Child, describeExit, resolveBin } from './children.js';
import { DemoError } from './errors.js';
import type { Guarantee } from '@streampy/worker';
import type { DemoOptions, Faults } from './options.js';
import { ballsHeld, readQueueCounts, type QueueCounts } from './queue-stats.js';

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
}

const READY_TIMEOUT_MS = 10_000;
/** How long a child gets to exit after SIGTERM (and again after SIGKILL). */
const STOP_GRACE_MS = 5_000;
const CLIENT_TIMEOUT_MS = 500;
const CLIENT_RETRIES = 4;
/** Far above a loopback round trip, even on a busy machine. */
const FAULTY_TIMEOUT_MS = 100;
/** Polls while waiting for leased balls to come back; each poll is one STATS round trip. */
const SETTLE_POLL_MS = 100;
/** Beyond one lease, for the node to notice the expiry and the last reply to arrive. */
const SETTLE_MARGIN_MS = 3_000;
/** A node that misses this many STATS in a row while alive is broken, not slow. */
const MAX_STATS_FAILURES = 10;

/**
 * The worker's request timeout behind the proxy. Its default suits a real network; on loopback a
 * dropped datagram would then stall the ball for half a second, and a few seconds of play would
 * show few faults. Round trips through the proxy take twice its delay.
 */
function workerTimeoutMs(faults: Faults): number {
  const maxDelay = typeof faults.delayMs === 'number' ? faults.delayMs : faults.delayMs[1];
  return FAULTY_TIMEOUT_MS + 2 * maxDelay;
}

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

/**
 * Plays one game: a queue node and a pong worker as child processes in a self-loop (through a
 * fault proxy when faults are asked for), `balls` pings seeded, watched until stopped; then
 * the worker is stopped first so the ball in its hand is put back, leased balls are given
 * time to return, the balls are counted, and the queue node is stopped.
 */
export async function playPong(options: DemoOptions, hooks: GameHooks): Promise<Summary> {
  const { logger } = hooks;
  const children: Child[] = [];
  const start = async (name: string, script: string, args: string[], ready: RegExp): Promise<{ child: Child; match: RegExpMatchArray }> => {
    const started = await Child.start({ name, script, args, ready, readyTimeoutMs: READY_TIMEOUT_MS }, (child) => {
      children.push(child);
      hooks.track(child);
    });
    logger.info('child started', { name, pid: started.child.pid });
    return started;
  };
  let proxy: FaultProxy | undefined;
  let client: QueueClient | undefined;
  try {
    const queue = await start('queue node', resolveBin('@streampy/mq', 'streampy-mq'), ['--address', '127.0.0.1:0', '--log-level', 'warn'], /streampy-mq listening on (\S+)/);
    const queueAddress = parseHostPort(queue.match[1] ?? '', 'queue node address');
    logger.info('queue node listening', { address: formatHostPort(queueAddress) });

    const faulty = hasFaults(options.faults);
    if (faulty) {
      proxy = await createFaultProxy({
        listen: '127.0.0.1:0',
        target: queueAddress,
        toTarget: options.faults,
        toClient: options.faults,
        ...(options.seed === undefined ? {} : { seed: options.seed }),
      });
      logger.info('fault proxy listening', { address: formatHostPort(proxy.address), seed: proxy.seed });
    }
    const workerTarget = formatHostPort(proxy?.address ?? queueAddress);
    const workerTimeout = faulty ? ['--timeout-ms', String(workerTimeoutMs(options.faults))] : [];
    const worker = await start(
      'pong worker',
      resolveBin('@streampy/worker', 'streampy-worker'),
      [workerTarget, workerTarget, '--function', 'pong', '--guarantee', options.guarantee, '--lease-ms', String(options.leaseMs), ...workerTimeout, '--log-level', 'warn'],
      /streampy-worker .*running/,
    );

    // The demo's own client talks to the queue directly: faults are the worker's to suffer.
    const queueClient = await createClient({ address: formatHostPort(queueAddress), timeoutMs: CLIENT_TIMEOUT_MS, retries: CLIENT_RETRIES });
    client = queueClient;
    for (let ball = 0; ball < options.balls; ball++) await queueClient.put('ping', { key: `seed-${ball}` });
    logger.info('balls seeded', { balls: options.balls, queue: queue.child.pid, worker: worker.child.pid });
    const startedAt = performance.now();

    const readCounts = async (): Promise<QueueCounts> => {
      const counts = readQueueCounts(await queueClient.stats());
      if (!counts) throw new DemoError('ERR_QUEUE', 'the queue node sent STATS without a default queue');
      return counts;
    };

    // Any child exit before we ask for it ends the game as a failure.
    const childDied = Promise.race(
      [queue.child, worker.child].map((child) =>
        child.exited.then((exit) => ({ child, exit })),
      ),
    );
    const stop = stopRequested(hooks.stopSignal, options.durationSeconds);
    const ticker = hooks.onSnapshot ? startTicker(hooks.onSnapshot) : undefined;
    const ended = await Promise.race([stop.promise.then(() => undefined), childDied, ticker?.failed ?? new Promise<never>(() => {})]);
    stop.cancel();
    ticker?.stop();
    const seconds = (performance.now() - startedAt) / 1000;
    if (ended) {
      throw new DemoError('ERR_CHILD_EXIT', `${ended.child.name} (pid ${ended.child.pid}) exited unexpectedly (${describeExit(ended.exit)})${ended.child.stderrHint()}`);
    }

    logger.info('stopping worker', { pid: worker.child.pid });
    const workerExit = await worker.child.stop(STOP_GRACE_MS);
    if (workerExit?.code !== 0) {
      throw new DemoError('ERR_CHILD_EXIT', `pong worker did not stop cleanly (${workerExit ? describeExit(workerExit) : 'still running'})${worker.child.stderrHint()}`);
    }
    // Nothing the worker sent may arrive after this: the count must not move any more.
    await proxy?.close();
    const final = await settle(readCounts, options.leaseMs + SETTLE_MARGIN_MS);
    const rounds = Math.max(0, final.puts - options.balls);
    return {
      rounds,
      seconds: round(seconds, 3),
      roundsPerSecond: round(seconds > 0 ? rounds / seconds : 0, 1),
      ballsSeeded: options.balls,
      ballsAtEnd: ballsHeld(final),
      guarantee: options.guarantee,
      faults: proxy ? { ...options.faults, seed: proxy.seed, proxy: proxy.stats() } : null,
      pids: children.map((child) => child.pid),
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
          proxy: proxy?.stats(),
        });
      };
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        tick().then(
          () => (failures = 0),
          (error: unknown) => {
            failures++;
            const message = error instanceof Error ? error.message : String(error);
            logger.warn('stats failed', { error: message, failures });
            if (failures >= MAX_STATS_FAILURES) fail(new DemoError('ERR_QUEUE', `the queue node stopped answering STATS: ${message}`, { cause: error }));
          },
        ).finally(() => (busy = false));
      }, hooks.intervalMs);
      return { stop: () => clearInterval(timer), failed };
    }
  } finally {
    await proxy?.close();
    await stopAll(children);
    await client?.close();
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

/** Stops children newest first (the worker before the queue it feeds), each by its PID. */
async function stopAll(children: readonly Child[]): Promise<void> {
  for (const child of [...children].reverse()) await child.stop(STOP_GRACE_MS);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
