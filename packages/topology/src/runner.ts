import type { ProxyStats } from '@streampy/chaos';
import { createClient, type QueueClient } from '@streampy/client';
import type { NodeStats } from '@streampy/codec';
import { formatHostPort, silentLogger, type HostPort, type Logger } from '@streampy/runtime';
import type { WorkerStats } from '@streampy/worker';
import type { Child, ExitInfo } from './child.js';
import type { Topology } from './model.js';
import { ProxyProcess, QueueProcess, WorkerProcess, findBins, type Bins, type PlanContext } from './plans.js';
import { TopologySampler } from './sampler.js';
import type { ProcessStatus, TopologySnapshot } from './snapshot.js';
import { Supervised, type ProcessKind } from './supervisor.js';
import { summarize, type TopologySummary } from './summary.js';

export interface RunOptions {
  /** The runner's own log: starts, restarts, stops. Default silent. */
  readonly logger?: Logger;
  /** How long each process may take to say it is ready. Default 20000. */
  readonly readyTimeoutMs?: number;
  /** Log level of the children whose file entry sets none. Default `warn`. */
  readonly childLogLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Each log line a child writes (its stderr). Default: copied to this process's stderr. */
  readonly childLog?: (label: string, line: string) => void;
  /** Every child as soon as it is spawned, so a caller can kill it whatever happens. */
  readonly track?: (child: Child) => void;
  /** STATS round interval, ms. Default 1000. */
  readonly sampleIntervalMs?: number;
  /** Grace of a queue or proxy after SIGTERM before SIGKILL. Default 5000. */
  readonly stopGraceMs?: number;
  /** Put each queue's `initial-messages` once started. Default true; --check leaves them out (they would read as corrupted). */
  readonly initialMessages?: boolean;
  /** Restart processes that exit unasked (default true); false leaves them `failed` (see `failed`). */
  readonly restart?: boolean;
  /** The CLIs to run; default the ones pnpm linked (probed once for --metrics-address). */
  readonly bins?: Bins;
}

export interface ProcessInfo {
  readonly kind: ProcessKind;
  readonly name: string;
  readonly replica: number;
  readonly label: string;
  readonly pid: number | null;
  /** Every pid it had, one per start. */
  readonly pids: readonly number[];
  readonly status: ProcessStatus;
  readonly restarts: number;
}

/** The `ready` line's content. */
export interface ReadyInfo {
  readonly queues: Readonly<Record<string, { readonly address: string; readonly pid: number | null; readonly metrics: string | null }>>;
  readonly workers: Readonly<Record<string, readonly { readonly pid: number | null; readonly metrics: string | null }[]>>;
  readonly proxies: Readonly<Record<string, { readonly address: string; readonly target: string; readonly pid: number | null }>>;
}

/** A process given up on: with `restart: false` at its first unasked exit, else after repeated failed restarts. */
export interface ProcessFailure {
  readonly process: ProcessInfo;
  /** How its last run ended, when it ended by exiting. */
  readonly exit: ExitInfo | undefined;
  /** What the log says, e.g. `worker pong (pid 12) exited unasked (signal SIGKILL)`. */
  readonly message: string;
}

export interface RunningTopology {
  readonly topology: Topology;
  /** Resolves with the first process given up on; never, while all keep running. */
  readonly failed: Promise<ProcessFailure>;
  /** Updated every sampleIntervalMs from STATS and the process table (the web view's source). */
  readonly snapshots: TopologySampler;
  ready(): ReadyInfo;
  processes(): ProcessInfo[];
  /** Where a queue listens (the real node, not a proxy). */
  queueAddress(name: string): HostPort;
  /** A process by kind and name (and replica), e.g. to kill it in a test. */
  process(kind: ProcessKind, name: string, replica?: number): Supervised;
  /** One STATS round now. */
  sample(): Promise<TopologySnapshot>;
  /**
   * Stops every process in order (workers, proxies, queues) and reports; idempotent (the first
   * call's options count). `beforeQueues` runs once nothing sends to the queues any more, before
   * their last counts are read: e.g. to wait for leased messages to come back.
   */
  stop(options?: { readonly beforeQueues?: () => Promise<void> }): Promise<TopologySummary>;
}

const DEFAULT_READY_TIMEOUT_MS = 20_000;
const DEFAULT_STOP_GRACE_MS = 5_000;
/** Beyond a worker's own stop timeout (15 s by default), before SIGKILL. */
const WORKER_STOP_MARGIN_MS = 5_000;
const STATS_TIMEOUT_MS = 300;


function workerStopGraceMs(topology: Topology): number {
  const timeouts = topology.workers.map((worker) => Number(worker.flags.find(([key]) => key === 'stop-timeout-ms')?.[1] ?? 15_000));
  return Math.max(15_000, ...timeouts) + WORKER_STOP_MARGIN_MS;
}

function infoOf(process: Supervised): ProcessInfo {
  const { plan } = process;
  return { kind: plan.kind, name: plan.name, replica: plan.replica, label: plan.label, pid: process.pid, pids: [...process.pids], status: process.status, restarts: process.restarts };
}

/** Queues in an order where each dead-letter queue starts before the queues sending to it. */
function startOrder(topology: Topology): QueueProcess[] {
  const byName = new Map(topology.queues.map((spec) => [spec.name, spec]));
  const ordered: string[] = [];
  const visit = (name: string): void => {
    if (ordered.includes(name)) return;
    const dead = byName.get(name)?.deadLetter;
    if (dead?.kind === 'queue') visit(dead.queue);
    ordered.push(name);
  };
  for (const spec of topology.queues) visit(spec.name);
  return ordered.map((name) => new QueueProcess(byName.get(name) as (typeof topology.queues)[number]));
}

/**
 * Starts every process of `topology` (queues, then fault proxies, then workers), waits until
 * each is ready, and keeps them running until `stop()`. If any fails to start, everything
 * started is stopped and the error is thrown.
 */
export async function startTopology(topology: Topology, options: RunOptions = {}): Promise<RunningTopology> {
  const logger = options.logger ?? silentLogger('streampy-run');
  const bins = options.bins ?? (await findBins());
  const childLog = options.childLog ?? ((_label: string, line: string) => process.stderr.write(`${line}\n`));
  const context: PlanContext = {
    bins,
    topology,
    childLogLevel: options.childLogLevel ?? 'warn',
    stderr: childLog,
    workerStopGraceMs: workerStopGraceMs(topology),
    stopGraceMs: options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
  };
  const queues = startOrder(topology);
  const queueByName = new Map(queues.map((queue) => [queue.spec.name, queue]));
  const proxies = topology.faults.map((faults) => new ProxyProcess(faults));
  const proxyByEdge = new Map(proxies.map((proxy) => [proxy.faults.edge, proxy]));
  const replicas = topology.workers.flatMap((spec) => Array.from({ length: spec.replicas }, (_, index) => new WorkerProcess(spec, index)));
  const startedAt = Date.now();
  let reportFailure: (failure: ProcessFailure) => void = () => {};
  const failed = new Promise<ProcessFailure>((resolve) => (reportFailure = resolve));
  const hooks = {
    restart: options.restart ?? true,
    failed: (process: Supervised, message: string, exit: ExitInfo | undefined) => reportFailure({ process: infoOf(process), exit, message }),
    readyTimeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    track: (child: Child) => options.track?.(child),
    event: (level: 'info' | 'warn' | 'error', text: string) => {
      logger[level]('process', { text });
      // Called only once processes run, by then the sampler exists.
      snapshots.event(level, text);
    },
  };
  const queueAddress = (name: string): HostPort => {
    const queue = queueByName.get(name);
    if (queue === undefined) throw new RangeError(`no queue named ${name}`);
    return queue.address;
  };
  const endpoint = (queue: string, edge: string): HostPort => proxyByEdge.get(edge)?.address ?? queueAddress(queue);
  // Every process is planned before any starts, so the process table is whole from the start.
  const supervised = new Map<object, Supervised>([
    ...queues.map((queue) => [queue, new Supervised(queue.plan(context, queueAddress), hooks)] as const),
    ...proxies.map((proxy) => [proxy, new Supervised(proxy.plan(context, () => queueAddress(proxy.faults.queue)), hooks)] as const),
    ...replicas.map((replica) => [replica, new Supervised(replica.plan(context, endpoint), hooks)] as const),
  ]);
  const of = (owner: object): Supervised => supervised.get(owner) as Supervised;
  const clients = new Map<string, QueueClient>();
  const table = {
    topology,
    queue: (name: string) => {
      const queue = queueByName.get(name) as QueueProcess;
      return { address: formatHostPort(queue.address), metrics: queue.metrics, process: of(queue) };
    },
    replicas: (worker: string) => replicas.filter((replica) => replica.spec.name === worker).map((replica) => ({ metrics: replica.metrics, process: of(replica) })),
  };
  const snapshots = new TopologySampler(table, startedAt);

  const stopAll = async (): Promise<void> => {
    await Promise.all(replicas.map((replica) => of(replica).stop()));
    await Promise.all(proxies.map((proxy) => of(proxy).stop()));
    for (const queue of [...queues].reverse()) await of(queue).stop();
  };

  try {
    // In waves: a queue starts once the queue taking its dead letters listens.
    const started = new Set<string>();
    while (started.size < queues.length) {
      const wave = queues.filter((queue) => !started.has(queue.spec.name) && (queue.spec.deadLetter?.kind !== 'queue' || started.has(queue.spec.deadLetter.queue)));
      await Promise.all(
        wave.map(async (queue) => {
          await of(queue).start();
          logger.info('queue ready', { queue: queue.spec.name, address: formatHostPort(queue.address), pid: of(queue).pid });
        }),
      );
      for (const queue of wave) started.add(queue.spec.name);
    }
    await Promise.all(proxies.map((proxy) => of(proxy).start()));
    await Promise.all(replicas.map((replica) => of(replica).start()));
    const auth = topology.authKeyFile === undefined ? {} : { auth: topology.authKeyFile };
    for (const queue of queues) clients.set(queue.spec.name, await createClient({ address: queue.address, timeoutMs: STATS_TIMEOUT_MS, retries: 1, ...auth }));
    for (const queue of options.initialMessages === false ? [] : queues) {
      const client = clients.get(queue.spec.name) as QueueClient;
      // Keyed, so a put retried after a lost reply is stored once.
      for (const [index, message] of queue.spec.initialMessages.entries()) await client.put(message, { key: `initial-${queue.spec.name}-${index}`, retries: 10 });
    }
  } catch (error) {
    await stopAll();
    await Promise.all([...clients.values()].map((client) => client.close()));
    throw error;
  }

  const sample = async (): Promise<TopologySnapshot> => {
    const rounds = await Promise.all(
      queues.map(async (queue): Promise<[string, NodeStats | undefined]> => {
        const client = clients.get(queue.spec.name);
        if (client === undefined || of(queue).status !== 'running') return [queue.spec.name, undefined];
        return [queue.spec.name, await client.stats().catch(() => undefined)];
      }),
    );
    return snapshots.update(new Map(rounds));
  };
  let sampling = false;
  const timer = setInterval(() => {
    if (sampling) return;
    sampling = true;
    void sample().finally(() => (sampling = false));
  }, options.sampleIntervalMs ?? 1000);
  timer.unref();
  await sample();

  const all = (): [ProcessInfo, Supervised][] => [...queues, ...proxies, ...replicas].map((owner) => [infoOf(of(owner)), of(owner)]);

  let stopped: Promise<TopologySummary> | undefined;
  const stop = (stopOptions: { readonly beforeQueues?: () => Promise<void> } = {}): Promise<TopologySummary> => {
    stopped ??= (async () => {
      clearInterval(timer);
      logger.info('stopping', { order: 'workers, proxies, queues' });
      await Promise.all(replicas.map((replica) => of(replica).stop()));
      await Promise.all(proxies.map((proxy) => of(proxy).stop()));
      // The queues' last counts, once nothing sends to them any more.
      try {
        await stopOptions.beforeQueues?.();
      } catch (error) {
        logger.warn('before-queues step failed', { error: error instanceof Error ? error.message : String(error) });
      }
      const final = await sample();
      for (const queue of [...queues].reverse()) await of(queue).stop();
      await Promise.all([...clients.values()].map((client) => client.close()));
      return summarize({
        topology,
        seconds: (Date.now() - startedAt) / 1000,
        snapshot: final,
        processes: all().map(([info]) => info),
        stats: (name) => snapshots.stats(name),
        workerReports: (name): readonly (readonly WorkerStats[])[] => replicas.filter((replica) => replica.spec.name === name).map((replica) => replica.reports),
        proxyReports: (edge): readonly ProxyStats[] => proxyByEdge.get(edge)?.reports ?? [],
      });
    })();
    return stopped;
  };

  return {
    topology,
    failed,
    snapshots,
    ready: () => ({
      queues: Object.fromEntries(queues.map((queue) => [queue.spec.name, { address: formatHostPort(queue.address), pid: of(queue).pid, metrics: queue.metrics }])),
      workers: Object.fromEntries(
        topology.workers.map((spec) => [spec.name, replicas.filter((replica) => replica.spec === spec).map((replica) => ({ pid: of(replica).pid, metrics: replica.metrics }))]),
      ),
      proxies: Object.fromEntries(
        proxies.map((proxy) => [proxy.faults.edge, { address: formatHostPort(proxy.address), target: formatHostPort(queueAddress(proxy.faults.queue)), pid: of(proxy).pid }]),
      ),
    }),
    processes: () => all().map(([info]) => info),
    queueAddress,
    process: (kind, name, replica = 0) => {
      const found = all().find(([info]) => info.kind === kind && info.name === name && info.replica === replica);
      if (found === undefined) throw new RangeError(`no ${kind} ${name}${replica === 0 ? '' : `#${replica}`}`);
      return found[1];
    },
    sample,
    stop,
  };
}
