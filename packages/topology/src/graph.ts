import type { Guarantee } from '@streampy/worker';
import type { Topology } from './model.js';

export interface Edge {
  /** `${from}->${to}`. */
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly kind: 'input' | 'output';
  readonly queue: string;
  readonly worker: string;
}

/** Every queue->worker (input) and worker->queue (output) edge, in the file's order. */
export function edgesOf(topology: Topology): Edge[] {
  const edges: Edge[] = [];
  for (const worker of topology.workers) {
    for (const queue of worker.inputs) edges.push({ id: `${queue}->${worker.name}`, from: queue, to: worker.name, kind: 'input', queue, worker: worker.name });
    if (worker.outputType === 'socket') continue;
    for (const queue of worker.outputs) edges.push({ id: `${worker.name}->${queue}`, from: worker.name, to: queue, kind: 'output', queue, worker: worker.name });
  }
  return edges;
}

/** Queues that take another queue's dead letters: neither a source nor a sink of the flow. */
export function deadLetterQueues(topology: Topology): Set<string> {
  return new Set(topology.queues.flatMap((queue) => (queue.deadLetter?.kind === 'queue' ? [queue.deadLetter.queue] : [])));
}

/** Queues no worker writes to: where messages enter. */
export function sourcesOf(topology: Topology): string[] {
  const written = new Set(edgesOf(topology).filter((edge) => edge.kind === 'output').map((edge) => edge.queue));
  const dead = deadLetterQueues(topology);
  return topology.queues.map((queue) => queue.name).filter((name) => !written.has(name) && !dead.has(name));
}

/** Queues no worker reads from: where messages end. */
export function sinksOf(topology: Topology): string[] {
  const read = new Set(edgesOf(topology).filter((edge) => edge.kind === 'input').map((edge) => edge.queue));
  const dead = deadLetterQueues(topology);
  return topology.queues.map((queue) => queue.name).filter((name) => !read.has(name) && !dead.has(name));
}

const STRENGTH: Readonly<Record<Guarantee, number>> = { 'at-most-once': 0, 'at-least-once': 1, 'exactly-once': 2 };

/**
 * What the edges promise for messages from `source`: the weakest guarantee of any worker input
 * they can pass through (a message is only as safe as its weakest hop). Exactly-once when no
 * worker is on the way (the source is the sink).
 */
export function promisedGuarantee(topology: Topology, source: string): Guarantee {
  let weakest: Guarantee = 'exactly-once';
  const seen = new Set<string>([source]);
  const queue = [source];
  while (queue.length > 0) {
    const at = queue.shift() as string;
    for (const worker of topology.workers) {
      const index = worker.inputs.indexOf(at);
      if (index < 0) continue;
      const guarantee = worker.guarantees[index] ?? 'at-least-once';
      if (STRENGTH[guarantee] < STRENGTH[weakest]) weakest = guarantee;
      if (worker.outputType === 'socket') continue;
      for (const next of worker.outputs) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
  }
  return weakest;
}
