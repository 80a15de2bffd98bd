import type { HostPort } from '@streampy/runtime';
import type { Guarantee } from '@streampy/worker';

/** CLI flags of one process, as `--key value` pairs in the file's order (paths resolved). */
export type Flags = readonly (readonly [key: string, value: string])[];

export type DeadLetter =
  | { readonly kind: 'queue'; readonly queue: string }
  | { readonly kind: 'local'; readonly name: string }
  | { readonly kind: 'address'; readonly address: HostPort };

export interface QueueSpec {
  readonly name: string;
  /** Where it listens; port 0 until started (then the bound port is kept across restarts). */
  readonly address: HostPort;
  /** Absolute; the same folder on every restart. */
  readonly dataDir: string | undefined;
  readonly deadLetter: DeadLetter | undefined;
  /** A fixed metrics address, when the file gives one. */
  readonly metricsAddress: string | undefined;
  /** Put once every process is ready, each with an idempotency key. */
  readonly initialMessages: readonly string[];
  /** Every other streampy-mq flag the file sets. */
  readonly flags: Flags;
  /** Line of its key in the file, for messages. */
  readonly line: number;
}

export interface WorkerSpec {
  readonly name: string;
  /** As written in the file: a built-in name or a module path. */
  readonly function: string;
  /** What `--function` gets: the built-in name, or the module path made absolute. */
  readonly functionArg: string;
  readonly inputs: readonly string[];
  /** Queue names, or `host:port` listeners with `output-type: socket`. */
  readonly outputs: readonly string[];
  readonly outputType: 'queue' | 'socket';
  /** One per input. */
  readonly guarantees: readonly Guarantee[];
  readonly replicas: number;
  readonly metricsAddress: string | undefined;
  readonly flags: Flags;
  readonly line: number;
}

export interface EdgeFaults {
  /** `${from}->${to}`. */
  readonly edge: string;
  readonly from: string;
  readonly to: string;
  /** The queue the proxy fronts, and the worker whose requests go through it. */
  readonly queue: string;
  readonly worker: string;
  readonly kind: 'input' | 'output';
  readonly drop: number;
  readonly dup: number;
  readonly reorder: number;
  readonly delayMs: number | readonly [number, number];
  readonly corrupt: number;
  readonly seed: number | undefined;
}

/** A topology file at each stage (as read, then checked): what it names and where it is. */
export interface TopologyOf<Queue, Worker, Fault> {
  readonly name: string;
  /** Absolute path of the file (or the name given to parseTopology). */
  readonly file: string;
  /** Folder that relative paths in the file are resolved from. */
  readonly dir: string;
  readonly queues: readonly Queue[];
  readonly workers: readonly Worker[];
  readonly faults: readonly Fault[];
}

/** A topology file, checked: every name resolves, every value is one its CLI takes. */
export interface Topology extends TopologyOf<QueueSpec, WorkerSpec, EdgeFaults> {
  /** Absolute path of the shared key file, when the file names one. */
  readonly authKeyFile?: string;
}
