export type { EdgeView, ProcessStatus, QueueView, SnapshotSource, TopologySnapshot, WorkerView } from './snapshot.js';
