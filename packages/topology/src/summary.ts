import type { DirectionStats, ProxyStats } from '@streampy/chaos';
import type { NodeStats } from '@streampy/codec';
import type { WorkerStats } from '@streampy/worker';
import type { Topology } from './model.js';
import type { ProcessInfo } from './runner.js';
import type { TopologySnapshot } from './snapshot.js';

export interface QueueSummary {
  readonly address: string;
  readonly restarts: number;
  /** Held at the end, once the workers stopped. */
  readonly ready: number;
  readonly leased: number;
  readonly delayed: number;
  readonly deadLetters: number;
  /** Counted by the node since its last start. */
  readonly puts: number;
  readonly gets: number;
  readonly acks: number;
  readonly duplicates: number;
  readonly deadLettered: number;
}

export interface WorkerReplicaSummary {
  readonly pids: readonly number[];
  readonly restarts: number;
  /** Summed over the starts that stopped cleanly and reported (a killed process reports nothing). */
  readonly processed: number;
  readonly rejected: number;
  readonly sent: number;
  readonly dropped: number;
  readonly timeouts: number;
}

/** The `summary` line: what ran, how it ended, and what each process counted. */
export interface TopologySummary {
  readonly name: string;
  readonly seconds: number;
  /** Restarts of all processes. */
  readonly restarts: number;
  /** Processes given up on after repeated failed restarts. */
  readonly failed: readonly string[];
  readonly queues: Readonly<Record<string, QueueSummary>>;
  readonly workers: Readonly<Record<string, readonly WorkerReplicaSummary[]>>;
  /** Per faulty edge, both directions' counts summed over its proxy's starts. */
  readonly proxies: Readonly<Record<string, ProxyStats>>;
  /** Every pid the run had, for a caller to check that none is left. */
  readonly pids: readonly number[];
}

export interface SummaryInput {
  readonly topology: Topology;
  readonly seconds: number;
  readonly snapshot: TopologySnapshot;
  readonly processes: readonly ProcessInfo[];
  readonly stats: (queue: string) => NodeStats | undefined;
  readonly workerReports: (worker: string) => readonly (readonly WorkerStats[])[];
  readonly proxyReports: (edge: string) => readonly ProxyStats[];
}

const DIRECTION_FIELDS: readonly (keyof DirectionStats)[] = ['received', 'forwarded', 'dropped', 'duplicated', 'reordered', 'delayed', 'corrupted', 'pending', 'discarded'];

function sumDirections(directions: readonly DirectionStats[]): DirectionStats {
  const total = Object.fromEntries(DIRECTION_FIELDS.map((field) => [field, 0])) as Record<keyof DirectionStats, number>;
  for (const direction of directions) for (const field of DIRECTION_FIELDS) total[field] += direction[field] ?? 0;
  return total;
}

/** Both directions' counts of several proxy runs, added up. */
export function sumProxyStats(reports: readonly ProxyStats[]): ProxyStats {
  const sum = (field: 'sessionsOpened' | 'sessionsClosed' | 'foreign' | 'socketErrors'): number => reports.reduce((total, report) => total + (report[field] ?? 0), 0);
  return {
    toTarget: sumDirections(reports.map((report) => report.toTarget)),
    toClient: sumDirections(reports.map((report) => report.toClient)),
    // Sessions open: none, once every proxy run has stopped.
    sessions: 0,
    sessionsOpened: sum('sessionsOpened'),
    sessionsClosed: sum('sessionsClosed'),
    foreign: sum('foreign'),
    socketErrors: sum('socketErrors'),
  };
}

const round = (value: number): number => Math.round(value * 1000) / 1000;

export function summarize(input: SummaryInput): TopologySummary {
  const { topology, snapshot, processes } = input;
  const queues = Object.fromEntries(
    snapshot.queues.map((view) => {
      const counts = input.stats(view.name)?.queues.default;
      const summary: QueueSummary = {
        address: view.address,
        restarts: view.restarts,
        ready: view.ready,
        leased: view.leased,
        delayed: view.delayed,
        deadLetters: view.deadLetters,
        puts: counts?.puts ?? 0,
        gets: counts?.gets ?? 0,
        acks: counts?.acks ?? 0,
        duplicates: counts?.duplicates ?? 0,
        deadLettered: counts?.deadLettered ?? 0,
      };
      return [view.name, summary];
    }),
  );
  const workers = Object.fromEntries(
    topology.workers.map((spec) => {
      const reports = input.workerReports(spec.name);
      const replicas = processes.filter((info) => info.kind === 'worker' && info.name === spec.name);
      return [
        spec.name,
        replicas.map((info, index): WorkerReplicaSummary => {
          const mine = reports[index] ?? [];
          const sum = (field: keyof WorkerStats): number => mine.reduce((total, report) => total + (report[field] ?? 0), 0);
          return { pids: info.pids, restarts: info.restarts, processed: sum('processed'), rejected: sum('rejected'), sent: sum('sent'), dropped: sum('dropped'), timeouts: sum('timeouts') };
        }),
      ];
    }),
  );
  const proxies = Object.fromEntries(topology.faults.map((fault) => [fault.edge, sumProxyStats(input.proxyReports(fault.edge))]));
  return {
    name: topology.name,
    seconds: round(input.seconds),
    restarts: processes.reduce((total, info) => total + info.restarts, 0),
    failed: processes.filter((info) => info.status === 'failed').map((info) => info.label),
    queues,
    workers,
    proxies,
    pids: processes.flatMap((info) => info.pids),
  };
}
