import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasFaults } from '@streampy/chaos';
import { deriveSeed } from '@streampy/runtime';
import { loadTopology, type EdgeFaults, type Flags, type Topology } from '@streampy/topology';
import type { DemoOptions, Faults } from './options.js';

/** The demo's self-loop, as a topology file beside the package. */
export const TOPOLOGY_FILE = fileURLToPath(new URL('../pong.yaml', import.meta.url));

/** Names in pong.yaml. */
export const QUEUE = 'court';
export const WORKER = 'pong';

/** Far above a loopback round trip, even on a busy machine. */
const FAULTY_TIMEOUT_MS = 100;

/**
 * The worker's request timeout behind the proxies. Its default suits a real network; on loopback a
 * dropped datagram would then stall the ball for half a second, and a few seconds of play would
 * show few faults. Round trips through a proxy take twice its delay.
 */
function workerTimeoutMs(faults: Faults): number {
  const maxDelay = typeof faults.delayMs === 'number' ? faults.delayMs : faults.delayMs[1];
  return FAULTY_TIMEOUT_MS + 2 * maxDelay;
}

function withFlag(flags: Flags, key: string, value: string): Flags {
  return [...flags.filter(([name]) => name !== key), [key, value]];
}

/** Both edges of the self-loop (the worker's reads and its puts), each through its own fault proxy. */
function edgeFaults(faults: Faults, seed: number): EdgeFaults[] {
  const common = { queue: QUEUE, worker: WORKER, drop: faults.drop, dup: faults.duplicate, reorder: faults.reorder, delayMs: faults.delayMs, corrupt: 0 };
  return [
    { ...common, edge: `${QUEUE}->${WORKER}`, from: QUEUE, to: WORKER, kind: 'input', seed },
    { ...common, edge: `${WORKER}->${QUEUE}`, from: WORKER, to: QUEUE, kind: 'output', seed: deriveSeed(seed, 1) },
  ];
}

/** pong.yaml with the command line applied: the balls, the guarantee, the lease and the faults. */
export function pongTopology(base: Topology, options: DemoOptions, seed: number): Topology {
  const faulty = hasFaults(options.faults);
  return {
    ...base,
    queues: base.queues.map((queue) => (queue.name === QUEUE ? { ...queue, initialMessages: Array.from({ length: options.balls }, () => 'ping') } : queue)),
    workers: base.workers.map((worker) => {
      if (worker.name !== WORKER) return worker;
      let flags = withFlag(worker.flags, 'lease-ms', String(options.leaseMs));
      if (faulty) flags = withFlag(flags, 'timeout-ms', String(workerTimeoutMs(options.faults)));
      return { ...worker, guarantees: worker.inputs.map(() => options.guarantee), flags };
    }),
    faults: faulty ? edgeFaults(options.faults, seed) : [],
    // From the command line: relative to where the demo was started.
    ...(options.authKeyFile === undefined ? {} : { authKeyFile: resolve(options.authKeyFile) }),
  };
}

export async function loadPongTopology(options: DemoOptions, seed: number): Promise<Topology> {
  return pongTopology(await loadTopology(TOPOLOGY_FILE), options, seed);
}
