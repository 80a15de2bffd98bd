import { execFile } from 'node:child_process';
import type { ProxyStats } from '@streampy/chaos';
import { formatHostPort, parseHostPort, type HostPort } from '@streampy/runtime';
import type { WorkerStats } from '@streampy/worker';
import { resolveBin } from './child.js';
import type { EdgeFaults, QueueSpec, Topology, WorkerSpec } from './model.js';
import type { ProcessPlan } from './supervisor.js';

/** The three CLIs, and whether each serves `--metrics-address` yet. */
export interface Bins {
  readonly mq: string;
  readonly worker: string;
  readonly proxy: string;
  readonly metrics: { readonly mq: boolean; readonly worker: boolean };
  /** Whether each takes --auth-key-file (a topology-wide key needs it). */
  readonly auth: { readonly mq: boolean; readonly worker: boolean };
}

function helpOf(script: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, '--help'], { timeout: 10_000 }, (error, stdout) => resolve(error ? '' : stdout));
  });
}

/** Finds the CLIs pnpm linked, and asks each once (`--help`) whether it serves metrics. */
export async function findBins(): Promise<Bins> {
  const mq = resolveBin('@streampy/mq', 'streampy-mq');
  const worker = resolveBin('@streampy/worker', 'streampy-worker');
  const proxy = resolveBin('@streampy/chaos', 'streampy-proxy');
  const [mqHelp, workerHelp] = await Promise.all([helpOf(mq), helpOf(worker)]);
  return {
    mq,
    worker,
    proxy,
    metrics: { mq: mqHelp.includes('--metrics-address'), worker: workerHelp.includes('--metrics-address') },
    auth: { mq: mqHelp.includes('--auth-key-file'), worker: workerHelp.includes('--auth-key-file') },
  };
}

/** What every plan reports to: the runner's log of child output. */
export interface PlanContext {
  readonly bins: Bins;
  readonly topology: Topology;
  /** Log level of children whose file entry sets none. */
  readonly childLogLevel: string;
  readonly stderr: (label: string, line: string) => void;
  /** How long a worker may take to finish its messages in hand after SIGTERM. */
  readonly workerStopGraceMs: number;
  readonly stopGraceMs: number;
}

/** A URL of `/metrics` in a line: `... metrics on http://...` or a JSON line's `metrics` field. */
export function metricsUrlIn(line: string): string | undefined {
  const text = /metrics on (http:\/\/\S+)/.exec(line)?.[1];
  if (text !== undefined) return text;
  if (!line.startsWith('{')) return undefined;
  try {
    const value = (JSON.parse(line) as { metrics?: unknown }).metrics;
    return typeof value === 'string' && value.startsWith('http://') ? value : undefined;
  } catch {
    return undefined;
  }
}

function parseJsonLine<T>(line: string): T | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
}

const flagArgs = (flags: readonly (readonly [string, string])[]): string[] => flags.flatMap(([key, value]) => [`--${key}`, value]);
const hasFlag = (flags: readonly (readonly [string, string])[], key: string): boolean => flags.some(([name]) => name === key);

/** streampy-mq's stream-name prefix when `nats-prefix` is not given. */
const DEFAULT_NATS_PREFIX = 'STREAMPY';

/**
 * What a worker's exactly-once keys name its input by (`--input-id`): the queue's name in this
 * file, or for a NATS JetStream-backed queue its stream, which every node with the same `nats`
 * prefix serves. Two nodes in front of one stream then key a message alike, so a delivery that
 * comes back through the other node (its ACK lost) puts nothing twice downstream.
 */
function inputIdOf(topology: Topology, name: string): string {
  const flags = topology.queues.find((queue) => queue.name === name)?.flags ?? [];
  if (!hasFlag(flags, 'nats')) return `queue:${name}`;
  return `nats:${flags.find(([key]) => key === 'nats-prefix')?.[1] ?? DEFAULT_NATS_PREFIX}/default`;
}

/** The topology-wide key file for a process that takes one and sets none of its own. */
function authArgs(context: PlanContext, supported: boolean, flags: readonly (readonly [string, string])[]): string[] {
  const file = context.topology.authKeyFile;
  return file === undefined || !supported || hasFlag(flags, 'auth-key-file') ? [] : ['--auth-key-file', file];
}

/** A queue node and what the runner knows of it. */
export class QueueProcess {
  readonly spec: QueueSpec;
  /** Port 0 until the first start; the bound address from then on (restarts reuse it). */
  address: HostPort;
  metrics: string | null = null;

  constructor(spec: QueueSpec) {
    this.spec = spec;
    this.address = spec.address;
  }

  plan(context: PlanContext, deadLetterAddress: (queue: string) => HostPort): ProcessPlan {
    const { spec } = this;
    const label = `queue ${spec.name}`;
    return {
      kind: 'queue',
      name: spec.name,
      replica: 0,
      label,
      script: context.bins.mq,
      stopGraceMs: context.stopGraceMs,
      args: () => {
        const dead = spec.deadLetter;
        const deadLetter = dead === undefined ? [] : ['--dead-letter', dead.kind === 'queue' ? formatHostPort(deadLetterAddress(dead.queue)) : dead.kind === 'local' ? dead.name : formatHostPort(dead.address)];
        const metrics = context.bins.metrics.mq ? ['--metrics-address', this.metrics === null ? (spec.metricsAddress ?? '127.0.0.1:0') : new URL(this.metrics).host] : [];
        return [
          '--address',
          formatHostPort(this.address),
          ...(spec.dataDir === undefined ? [] : ['--data-dir', spec.dataDir]),
          ...deadLetter,
          ...flagArgs(spec.flags),
          ...(hasFlag(spec.flags, 'log-level') ? [] : ['--log-level', context.childLogLevel]),
          ...authArgs(context, context.bins.auth.mq, spec.flags),
          ...metrics,
        ];
      },
      ready: (line) => /streampy-mq listening on (\S+)/.exec(line)?.[1],
      onReady: (value) => {
        this.address = parseHostPort(value, `${label} address`);
      },
      onLine: (line) => {
        this.metrics = metricsUrlIn(line) ?? this.metrics;
      },
      onStderr: (line) => context.stderr(label, line),
    };
  }
}

/** The `--json` report a proxy prints when it stops. */
export interface ProxyReport extends ProxyStats {
  readonly listen: string;
  readonly target: string;
  readonly seed: number;
}

/** A fault proxy in front of one queue, for one edge. */
export class ProxyProcess {
  readonly faults: EdgeFaults;
  address: HostPort = { host: '127.0.0.1', port: 0 };
  /** Its counts, from the line it prints when it stops (one per start, summed over restarts). */
  readonly reports: ProxyReport[] = [];

  constructor(faults: EdgeFaults) {
    this.faults = faults;
  }

  plan(context: PlanContext, queueAddress: () => HostPort): ProcessPlan {
    const { faults } = this;
    const label = `proxy ${faults.edge}`;
    const delay = typeof faults.delayMs === 'number' ? String(faults.delayMs) : `${faults.delayMs[0]}-${faults.delayMs[1]}`;
    return {
      kind: 'proxy',
      name: faults.edge,
      replica: 0,
      label,
      script: context.bins.proxy,
      stopGraceMs: context.stopGraceMs,
      args: () => [
        '--listen',
        formatHostPort(this.address),
        '--target',
        formatHostPort(queueAddress()),
        '--drop',
        String(faults.drop),
        '--dup',
        String(faults.dup),
        '--reorder',
        String(faults.reorder),
        '--delay',
        delay,
        '--corrupt',
        String(faults.corrupt),
        ...(faults.seed === undefined ? [] : ['--seed', String(faults.seed)]),
        '--log-level',
        context.childLogLevel,
        '--json',
      ],
      ready: (line) => /streampy-proxy listening on (\S+) ->/.exec(line)?.[1],
      onReady: (value) => {
        this.address = parseHostPort(value, `${label} address`);
      },
      onLine: (line) => {
        const report = parseJsonLine<ProxyReport>(line);
        if (report?.toTarget !== undefined) this.reports.push(report);
      },
      onStderr: (line) => context.stderr(label, line),
    };
  }
}

/** One replica of a worker. */
export class WorkerProcess {
  readonly spec: WorkerSpec;
  readonly replica: number;
  metrics: string | null = null;
  /** Its counts, from the line it prints when it stops cleanly (one per start). */
  readonly reports: WorkerStats[] = [];

  constructor(spec: WorkerSpec, replica: number) {
    this.spec = spec;
    this.replica = replica;
  }

  get label(): string {
    return this.spec.replicas === 1 ? `worker ${this.spec.name}` : `worker ${this.spec.name}#${this.replica}`;
  }

  /** `endpoint(queue, edge)` is where the worker reaches a queue over one edge: the queue, or its proxy. */
  plan(context: PlanContext, endpoint: (queue: string, edge: string) => HostPort): ProcessPlan {
    const { spec } = this;
    const label = this.label;
    return {
      kind: 'worker',
      name: spec.name,
      replica: this.replica,
      label,
      script: context.bins.worker,
      stopGraceMs: context.workerStopGraceMs,
      args: () => {
        const outputs =
          spec.outputType === 'socket' ? spec.outputs : spec.outputs.map((output) => formatHostPort(endpoint(output, `${spec.name}->${output}`)));
        const metrics = context.bins.metrics.worker ? ['--metrics-address', this.metrics === null ? (spec.metricsAddress ?? '127.0.0.1:0') : new URL(this.metrics).host] : [];
        return [
          ...spec.inputs.flatMap((input) => ['--input-address', formatHostPort(endpoint(input, `${input}->${spec.name}`))]),
          ...spec.inputs.flatMap((input) => ['--input-id', inputIdOf(context.topology, input)]),
          ...outputs.flatMap((output) => ['--output-address', output]),
          '--function',
          spec.functionArg,
          '--guarantee',
          spec.guarantees.join(','),
          ...flagArgs(spec.flags),
          ...(hasFlag(spec.flags, 'log-level') ? [] : ['--log-level', context.childLogLevel]),
          ...authArgs(context, context.bins.auth.worker, spec.flags),
          ...metrics,
          '--json',
        ];
      },
      ready: (line) => (parseJsonLine<{ event?: unknown }>(line)?.event === 'running' ? line : undefined),
      onReady: () => {},
      onLine: (line) => {
        this.metrics = metricsUrlIn(line) ?? this.metrics;
        const report = parseJsonLine<WorkerStats & { event?: unknown }>(line);
        if (report?.event === 'stopped') {
          const { event: _event, ...stats } = report as WorkerStats & { event?: unknown; function?: unknown };
          delete (stats as { function?: unknown }).function;
          this.reports.push(stats);
        }
      },
      onStderr: (line) => context.stderr(label, line),
    };
  }
}
