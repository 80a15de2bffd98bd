import type { NodeStats, QueueStats } from '@streampy/codec';
import { edgesOf } from './graph.js';
import type { QueueSpec, Topology } from './model.js';
import type { EdgeView, QueueView, SnapshotSource, TopologySnapshot, WorkerView } from './snapshot.js';
import type { Supervised } from './supervisor.js';

/** What the sampler reads of the runner's process table. */
export interface ProcessTable {
  readonly topology: Topology;
  queue(name: string): { readonly address: string; readonly metrics: string | null; readonly process: Supervised };
  replicas(worker: string): readonly { readonly metrics: string | null; readonly process: Supervised }[];
}

type SnapshotEvent = TopologySnapshot['events'][number];

const MAX_EVENTS = 50;

interface Sample {
  readonly at: number;
  readonly puts: number;
  readonly takes: number;
}

/** The default queue of a node: what a topology queue is. */
function defaultQueue(stats: NodeStats | undefined): QueueStats | undefined {
  return stats?.queues.default;
}

/** Messages in the node's dead-letter queue, or (when it forwards them to another node) how many it sent there. */
function deadLettersOf(spec: QueueSpec, stats: NodeStats | undefined): number {
  if (stats === undefined) return 0;
  const dead = spec.deadLetter;
  if (dead === undefined || dead.kind === 'local') {
    const local = stats.queues[dead?.name ?? 'dead'];
    return local === undefined ? 0 : local.size + local.leased + local.delayed;
  }
  return defaultQueue(stats)?.deadLettered ?? 0;
}

/**
 * The topology's state as the web view and the summary see it: rebuilt from each round of
 * STATS and the process table, with rates over the last interval. Edge rates are the queue's
 * rate shared among the workers on its side, by replicas (a queue's STATS cannot tell its
 * readers apart).
 */
export class TopologySampler implements SnapshotSource {
  readonly #table: ProcessTable;
  readonly #startedAt: number;
  readonly #listeners = new Set<(snapshot: TopologySnapshot) => void>();
  readonly #events: SnapshotEvent[] = [];
  readonly #last = new Map<string, Sample>();
  readonly #rates = new Map<string, { puts: number; takes: number }>();
  readonly #stats = new Map<string, NodeStats>();
  #current: TopologySnapshot;

  constructor(table: ProcessTable, startedAt = Date.now()) {
    this.#table = table;
    this.#startedAt = startedAt;
    this.#current = this.#build(startedAt);
  }

  current(): TopologySnapshot {
    return this.#current;
  }

  subscribe(listener: (snapshot: TopologySnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The last STATS of a queue, if any arrived. */
  stats(queue: string): NodeStats | undefined {
    return this.#stats.get(queue);
  }

  /**
   * Records a process event (an exit, a restart, a failure) and publishes a snapshot at once, with
   * the last rates: a restart can take less than a sampling interval, and the view must see it.
   */
  event(level: SnapshotEvent['level'], text: string, at = Date.now()): void {
    this.#events.push({ at, level, text });
    if (this.#events.length > MAX_EVENTS) this.#events.shift();
    this.#publish(this.#build(at));
  }

  /** One sampling round: the STATS that answered (a missing one keeps its last counts, rates 0). */
  update(stats: ReadonlyMap<string, NodeStats | undefined>, at = Date.now()): TopologySnapshot {
    for (const spec of this.#table.topology.queues) {
      const node = stats.get(spec.name);
      const queue = defaultQueue(node);
      if (node === undefined || queue === undefined) {
        this.#rates.set(spec.name, { puts: 0, takes: 0 });
        continue;
      }
      this.#stats.set(spec.name, node);
      const sample = { at, puts: queue.puts, takes: queue.gets + queue.acks };
      const last = this.#last.get(spec.name);
      const seconds = last === undefined ? 0 : (at - last.at) / 1000;
      // A restarted node counts from 0 again: no negative rates.
      this.#rates.set(spec.name, {
        puts: last === undefined || seconds <= 0 ? 0 : Math.max(0, sample.puts - last.puts) / seconds,
        takes: last === undefined || seconds <= 0 ? 0 : Math.max(0, sample.takes - last.takes) / seconds,
      });
      this.#last.set(spec.name, sample);
    }
    this.#publish(this.#build(at));
    return this.#current;
  }

  #publish(snapshot: TopologySnapshot): void {
    this.#current = snapshot;
    for (const listener of this.#listeners) {
      try {
        listener(snapshot);
      } catch {
        // A listener's failure is its own: the others still get the snapshot.
      }
    }
  }

  #build(at: number): TopologySnapshot {
    const topology = this.#table.topology;
    const queues = topology.queues.map((spec): QueueView => {
      const entry = this.#table.queue(spec.name);
      const node = this.#stats.get(spec.name);
      const queue = defaultQueue(node);
      const rates = this.#rates.get(spec.name) ?? { puts: 0, takes: 0 };
      return {
        name: spec.name,
        address: entry.address,
        pid: entry.process.pid,
        status: entry.process.status,
        restarts: entry.process.restarts,
        ready: queue?.size ?? 0,
        leased: queue?.leased ?? 0,
        delayed: queue?.delayed ?? 0,
        deadLetters: deadLettersOf(spec, node),
        putsPerSecond: round(rates.puts),
        takesPerSecond: round(rates.takes),
        errors: node === undefined ? 0 : node.errors + node.badFrames,
        metrics: entry.metrics,
      };
    });
    const workers = topology.workers.map(
      (spec): WorkerView => ({
        name: spec.name,
        function: spec.function,
        guarantee: spec.guarantees[0] ?? 'at-least-once',
        inputs: spec.inputs,
        outputs: spec.outputType === 'socket' ? [] : spec.outputs,
        replicas: this.#table.replicas(spec.name).map((replica) => ({
          pid: replica.process.pid,
          status: replica.process.status,
          restarts: replica.process.restarts,
          metrics: replica.metrics,
        })),
      }),
    );
    const faults = new Map(topology.faults.map((fault) => [fault.edge, fault]));
    const replicasOf = new Map(topology.workers.map((worker) => [worker.name, worker.replicas]));
    const edges = edgesOf(topology);
    const share = (edge: (typeof edges)[number]): number => {
      const side = edges.filter((other) => other.kind === edge.kind && other.queue === edge.queue);
      const total = side.reduce((sum, other) => sum + (replicasOf.get(other.worker) ?? 1), 0);
      return total === 0 ? 0 : (replicasOf.get(edge.worker) ?? 1) / total;
    };
    const edgeViews = edges.map((edge): EdgeView => {
      const rates = this.#rates.get(edge.queue) ?? { puts: 0, takes: 0 };
      const fault = faults.get(edge.id);
      return {
        id: edge.id,
        from: edge.from,
        to: edge.to,
        kind: edge.kind,
        messagesPerSecond: round((edge.kind === 'input' ? rates.takes : rates.puts) * share(edge)),
        faults:
          fault === undefined
            ? null
            : {
                ...(fault.drop > 0 ? { drop: fault.drop } : {}),
                ...(fault.dup > 0 ? { dup: fault.dup } : {}),
                ...(fault.reorder > 0 ? { reorder: fault.reorder } : {}),
                ...(fault.delayMs !== 0 ? { delayMs: typeof fault.delayMs === 'number' ? fault.delayMs : fault.delayMs[1] } : {}),
              },
      };
    });
    return { name: topology.name, at, uptimeMs: at - this.#startedAt, queues, workers, edges: edgeViews, events: [...this.#events] };
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
