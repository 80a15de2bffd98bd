import { createClient, type QueueClient } from '@streampy/client';
import { MQ_CLI, spawnReady, type Spawned } from '../client/processes.js';

/** A `streampy-mq --nats ...` process and a client talking to it. */
export interface NatsNode {
  /** host:port the node listens on. */
  readonly address: string;
  readonly process: Spawned;
  readonly client: QueueClient;
  stop(): Promise<void>;
}

export interface NatsNodeOptions {
  /** The NATS urls, comma-joined (`startNatsCluster().url`). */
  readonly nats: string;
  /** More streampy-mq flags (`--replicas 3`, `--nats-timeout 1000`...). */
  readonly args?: readonly string[];
  /** The client's wait per attempt; callers retry themselves, across nodes. Default 3000. */
  readonly timeoutMs?: number;
}

const LISTENING = /streampy-mq listening on (\S+):(\d+)/;

/**
 * Starts one real streampy-mq (dist/cli.js: build first) on a port the OS picks, backed by
 * JetStream, with a client that does not retry by itself: the tests' loops choose where a retry
 * goes, so the attempts through each node can be counted.
 */
export async function startNatsNode(options: NatsNodeOptions): Promise<NatsNode> {
  const args = ['--address', '127.0.0.1:0', '--nats', options.nats, '--log-level', 'warn', ...(options.args ?? [])];
  // Connecting to NATS comes before the listening line, and a cluster can be slow to answer on a shared machine.
  const spawned = await spawnReady(process.execPath, [MQ_CLI, ...args], LISTENING, 60_000);
  const address = `${spawned.ready[1]}:${spawned.ready[2]}`;
  const client = await createClient({ address, timeoutMs: options.timeoutMs ?? 3_000, retries: 0 });
  return {
    address,
    process: spawned,
    client,
    async stop() {
      await client.close();
      await spawned.stop();
    },
  };
}

/** Starts `count` nodes on the same NATS servers; they serve the same queues. */
export async function startNatsNodes(count: number, options: NatsNodeOptions): Promise<NatsNode[]> {
  const nodes: NatsNode[] = [];
  try {
    for (let i = 0; i < count; i++) nodes.push(await startNatsNode(options));
    return nodes;
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
}

/** The stable code of an error from a client call (`ERR_UNAVAILABLE`, `ERR_TIMEOUT`...), or its name. */
export function codeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.name : String(error);
}
