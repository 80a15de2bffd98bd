import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { formatHostPort, parseHostPort, type HostPort } from '@streampy/runtime';
import { BUILTIN_FUNCTIONS, isBuiltinFunction, type Guarantee } from '@streampy/worker';
import { QUEUE_KEYS, WORKER_KEYS, type KeySpec } from './keys.js';
import type { DeadLetter, EdgeFaults, Flags, QueueSpec, Topology, TopologyOf, WorkerSpec } from './model.js';
import { NAME_PATTERN } from './values.js';

/** A checked value and the line of its key. */
export interface Located<T> {
  readonly value: T;
  readonly line: number;
}

type Values = ReadonlyMap<string, Located<unknown>>;

export interface RawQueue {
  readonly name: string;
  readonly line: number;
  readonly values: Values;
}
export type RawWorker = RawQueue;
export interface RawFault {
  readonly index: number;
  readonly line: number;
  readonly values: Values;
}
/** A topology file as read, before its values are checked against each other. */
export type RawTopology = TopologyOf<RawQueue, RawWorker, RawFault>;

/** Where problems go: `at(line, path, message)`. */
export interface ProblemSink {
  at(line: number, path: string, message: string): void;
}

function get<T>(values: Values, key: string): Located<T> | undefined {
  return values.get(key) as Located<T> | undefined;
}

/** The `--key value` flags of a process, paths resolved from the file's folder, in the file's order. */
function flagsOf(values: Values, keys: readonly KeySpec[], dir: string, leaveOut: readonly string[]): Flags {
  const flags: (readonly [string, string])[] = [];
  for (const [key, { value }] of values) {
    const spec = keys.find((candidate) => candidate.key === key);
    if (spec?.flag !== true || leaveOut.includes(key)) continue;
    flags.push([key, spec.path === true ? resolve(dir, String(value)) : String(value)]);
  }
  return flags;
}

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || isAbsolute(spec) || /\.[cm]?js$/.test(spec);
}

function resolveQueues(raw: RawTopology, problems: ProblemSink): QueueSpec[] {
  const names = new Set(raw.queues.map((queue) => queue.name));
  const fixed = new Map<string, string>();
  const dataDirs = new Map<string, string>();
  const queues = raw.queues.map((queue): QueueSpec => {
    const path = `queues.${queue.name}`;
    const given = get<string>(queue.values, 'address');
    const address: HostPort = given === undefined ? { host: '127.0.0.1', port: 0 } : parseHostPort(given.value);
    if (address.port !== 0) {
      const key = formatHostPort(address);
      const other = fixed.get(key);
      if (other !== undefined) problems.at(given?.line ?? queue.line, `${path}.address`, `${key} is also the address of queue ${other}`);
      fixed.set(key, queue.name);
    }
    const dataDirValue = get<string>(queue.values, 'data-dir');
    const dataDir = dataDirValue === undefined ? undefined : resolve(raw.dir, dataDirValue.value);
    if (dataDir !== undefined) {
      const other = dataDirs.get(dataDir);
      if (other !== undefined) problems.at(dataDirValue?.line ?? queue.line, `${path}.data-dir`, `is also the data-dir of queue ${other}: two nodes cannot share one`);
      dataDirs.set(dataDir, queue.name);
    }
    const fsync = get(queue.values, 'fsync');
    if (fsync !== undefined && dataDir === undefined) problems.at(fsync.line, `${path}.fsync`, 'needs data-dir (a queue without one keeps its messages in memory)');
    return {
      name: queue.name,
      address,
      dataDir,
      deadLetter: deadLetterOf(queue, names, problems),
      metricsAddress: get<string>(queue.values, 'metrics-address')?.value,
      initialMessages: get<readonly string[]>(queue.values, 'initial-messages')?.value ?? [],
      flags: flagsOf(queue.values, QUEUE_KEYS, raw.dir, ['data-dir', 'metrics-address']),
      line: queue.line,
    };
  });
  checkDeadLetterCycles(queues, raw, problems);
  return queues;
}

function deadLetterOf(queue: RawQueue, names: ReadonlySet<string>, problems: ProblemSink): DeadLetter | undefined {
  const given = get<string>(queue.values, 'dead-letter');
  if (given === undefined) return undefined;
  const path = `queues.${queue.name}.dead-letter`;
  const value = given.value;
  if (names.has(value)) {
    if (value === queue.name) problems.at(given.line, path, 'a queue cannot be its own dead-letter queue (use a local name such as dead)');
    return { kind: 'queue', queue: value };
  }
  if (value.includes(':')) {
    try {
      return { kind: 'address', address: parseHostPort(value) };
    } catch {
      problems.at(given.line, path, `must be a queue of this file, a local queue name or host:port, got "${value}"`);
      return undefined;
    }
  }
  if (!NAME_PATTERN.test(value)) problems.at(given.line, path, `must be a queue of this file, a local queue name or host:port, got "${value}"`);
  return { kind: 'local', name: value };
}

/** Dead-letter queues start before the queues that send to them: that order must exist. */
function checkDeadLetterCycles(queues: readonly QueueSpec[], raw: RawTopology, problems: ProblemSink): void {
  const next = new Map(queues.flatMap((queue) => (queue.deadLetter?.kind === 'queue' ? [[queue.name, queue.deadLetter.queue] as const] : [])));
  for (const queue of queues) {
    const seen = [queue.name];
    let at = next.get(queue.name);
    while (at !== undefined && at !== queue.name && !seen.includes(at)) {
      seen.push(at);
      at = next.get(at);
    }
    if (at === queue.name && seen.length > 1) {
      const line = raw.queues.find((candidate) => candidate.name === queue.name)?.values.get('dead-letter')?.line ?? queue.line;
      problems.at(line, `queues.${queue.name}.dead-letter`, `dead letters go round in a circle: ${[...seen, queue.name].join(' -> ')}`);
      return;
    }
  }
}

function resolveWorker(worker: RawWorker, raw: RawTopology, queueNames: readonly string[], problems: ProblemSink): WorkerSpec {
  const path = `workers.${worker.name}`;
  const fn = get<string>(worker.values, 'function');
  let functionArg = fn?.value ?? 'pong';
  if (fn !== undefined) {
    if (looksLikePath(fn.value)) {
      functionArg = resolve(raw.dir, fn.value);
      if (!existsSync(functionArg)) problems.at(fn.line, `${path}.function`, `no such module: ${functionArg}`);
    } else if (!isBuiltinFunction(fn.value)) {
      problems.at(fn.line, `${path}.function`, `unknown built-in "${fn.value}"; built-ins: ${Object.keys(BUILTIN_FUNCTIONS).join(', ')}, or a module path such as ./fn.mjs`);
    }
  }
  const known = queueNames.join(', ');
  const inputs = get<readonly string[]>(worker.values, 'inputs');
  for (const input of inputs?.value ?? []) {
    if (!queueNames.includes(input)) problems.at(inputs?.line ?? worker.line, `${path}.inputs`, `no queue named "${input}"; queues: ${known}`);
  }
  const outputType = (get<'queue' | 'socket'>(worker.values, 'output-type')?.value ?? 'queue');
  const outputs = get<readonly string[]>(worker.values, 'outputs');
  for (const output of outputs?.value ?? []) {
    if (outputType === 'socket') {
      try {
        parseHostPort(output);
      } catch {
        problems.at(outputs?.line ?? worker.line, `${path}.outputs`, `with output-type socket, outputs are host:port listeners, got "${output}"`);
      }
    } else if (!queueNames.includes(output)) problems.at(outputs?.line ?? worker.line, `${path}.outputs`, `no queue named "${output}"; queues: ${known}`);
  }
  const inputCount = inputs?.value.length ?? 1;
  const given = get<readonly Guarantee[]>(worker.values, 'guarantee');
  const fallback: Guarantee = get(worker.values, 'protocol')?.value === 'seed' ? 'at-most-once' : 'at-least-once';
  let guarantees: readonly Guarantee[] = Array.from({ length: inputCount }, () => given?.value[0] ?? fallback);
  if (given !== undefined && given.value.length > 1) {
    if (given.value.length !== inputCount) problems.at(given.line, `${path}.guarantee`, `give one for all inputs or one per input (${inputCount}), got ${given.value.length}`);
    else guarantees = given.value;
  }
  if (outputType === 'socket' && guarantees.includes('exactly-once')) {
    problems.at(given?.line ?? worker.line, `${path}.guarantee`, 'exactly-once needs queue outputs: a plain UDP listener cannot drop duplicates');
  }
  const replicas = get<number>(worker.values, 'replicas')?.value ?? 1;
  const metricsAddress = get<string>(worker.values, 'metrics-address');
  if (metricsAddress !== undefined && replicas > 1 && parseHostPort(metricsAddress.value).port !== 0) {
    problems.at(metricsAddress.line, `${path}.metrics-address`, `one fixed port cannot serve ${replicas} replicas: use port 0 or replicas: 1`);
  }
  return {
    name: worker.name,
    function: fn?.value ?? 'pong',
    functionArg,
    inputs: inputs?.value ?? [],
    outputs: outputs?.value ?? [],
    outputType,
    guarantees,
    replicas,
    metricsAddress: metricsAddress?.value,
    flags: flagsOf(worker.values, WORKER_KEYS, raw.dir, ['metrics-address']),
    line: worker.line,
  };
}

function resolveFaults(raw: RawTopology, workers: readonly WorkerSpec[], problems: ProblemSink): EdgeFaults[] {
  const edges = new Map<string, { queue: string; worker: string; kind: 'input' | 'output' }>();
  for (const worker of workers) {
    for (const input of worker.inputs) edges.set(`${input}->${worker.name}`, { queue: input, worker: worker.name, kind: 'input' });
    if (worker.outputType === 'queue') for (const output of worker.outputs) edges.set(`${worker.name}->${output}`, { queue: output, worker: worker.name, kind: 'output' });
  }
  const seen = new Set<string>();
  const faults: EdgeFaults[] = [];
  for (const fault of raw.faults) {
    const from = get<string>(fault.values, 'from')?.value;
    const to = get<string>(fault.values, 'to')?.value;
    if (from === undefined || to === undefined) continue;
    const id = `${from}->${to}`;
    const edge = edges.get(id);
    const path = `faults[${fault.index}]`;
    if (edge === undefined) {
      problems.at(fault.line, path, `no edge ${id}; edges: ${[...edges.keys()].join(', ') || 'none'}`);
      continue;
    }
    if (seen.has(id)) problems.at(fault.line, path, `edge ${id} has faults already: one entry per edge`);
    seen.add(id);
    const number = (key: string): number => get<number>(fault.values, key)?.value ?? 0;
    faults.push({
      edge: id,
      from,
      to,
      ...edge,
      drop: number('drop'),
      dup: number('dup'),
      reorder: number('reorder'),
      delayMs: get<number | readonly [number, number]>(fault.values, 'delay')?.value ?? 0,
      corrupt: number('corrupt'),
      seed: get<number>(fault.values, 'seed')?.value,
    });
  }
  return faults;
}

/** The graph checks of a file whose keys and values are each right: names resolve, edges exist. */
export function resolveTopology(raw: RawTopology, problems: ProblemSink): Topology {
  const queueNames = raw.queues.map((queue) => queue.name);
  for (const worker of raw.workers) {
    if (queueNames.includes(worker.name)) problems.at(worker.line, `workers.${worker.name}`, `is also the name of a queue: names are shared by queues and workers`);
  }
  const queues = resolveQueues(raw, problems);
  const workers = raw.workers.map((worker) => resolveWorker(worker, raw, queueNames, problems));
  return { name: raw.name, file: raw.file, dir: raw.dir, queues, workers, faults: resolveFaults(raw, workers, problems) };
}
