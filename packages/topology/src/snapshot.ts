export type ProcessStatus = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';

export interface QueueView {
  readonly name: string;
  readonly address: string;          // host:port
  readonly pid: number | null;
  readonly status: ProcessStatus;
  readonly restarts: number;
  readonly ready: number;            // messages ready (SIZE)
  readonly leased: number;
  readonly delayed: number;
  readonly deadLetters: number;      // messages in this node's dead-letter queue
  readonly putsPerSecond: number;    // rates over the last sampling interval
  readonly takesPerSecond: number;   // gets + acks per second
  readonly errors: number;           // node-wide ERR replies + bad frames, cumulative
  readonly metrics: string | null;   // URL of its /metrics, when it has one
}

export interface WorkerView {
  readonly name: string;
  readonly function: string;
  readonly guarantee: 'at-most-once' | 'at-least-once' | 'exactly-once';
  readonly inputs: readonly string[];    // queue names
  readonly outputs: readonly string[];   // queue names
  readonly replicas: readonly { readonly pid: number | null; readonly status: ProcessStatus; readonly restarts: number; readonly metrics: string | null }[];
}

export interface EdgeView {
  readonly id: string;                   // `${from}->${to}`
  readonly from: string;                 // a queue or worker name
  readonly to: string;
  readonly kind: 'input' | 'output';     // queue->worker is input, worker->queue is output
  readonly messagesPerSecond: number;
  readonly faults: { readonly drop?: number; readonly dup?: number; readonly reorder?: number; readonly delayMs?: number } | null;
}

export interface TopologySnapshot {
  readonly name: string;                 // the file's base name
  readonly at: number;                   // ms since the epoch
  readonly uptimeMs: number;
  readonly queues: readonly QueueView[];
  readonly workers: readonly WorkerView[];
  readonly edges: readonly EdgeView[];
  readonly events: readonly { readonly at: number; readonly level: 'info' | 'warn' | 'error'; readonly text: string }[];  // last 50: restarts, exits, faults
}

/** What the web view needs from a running topology. */
export interface SnapshotSource {
  current(): TopologySnapshot;
  /** Called with every new snapshot (at least once a second while running); returns an unsubscribe function. */
  subscribe(listener: (snapshot: TopologySnapshot) => void): () => void;
}
