import { createSocket, type Socket } from 'node:dgram';
import { createClient } from '@streampy/client';
import { formatHostPort, type HostPort } from '@streampy/runtime';
import type { WorkerPlan } from './options.js';
import type { WorkerClient, WorkerClientOptions } from './worker-client.js';

/** The worker's open connections: one client per queue node, and the socket of socket outputs. */
export interface Connections {
  /** The client of the node at `address`; one per node, so a self-loop's PUT and the next RESERVE share a datagram. */
  clientOf(address: HostPort): WorkerClient;
  /** Sends socket outputs; undefined with queue outputs. */
  readonly socket: Socket | undefined;
  close(): Promise<void>;
}

function defaultConnect(options: WorkerClientOptions): Promise<WorkerClient> {
  return createClient({ ...options, coalesce: true });
}

/** Opens a client for every node an input or a queue output is on; on a failure, closes what opened. */
export async function openConnections(plan: WorkerPlan): Promise<Connections> {
  const connect = plan.connect ?? defaultConnect;
  const nodes = new Map<string, HostPort>();
  for (const endpoint of plan.outputType === 'queue' ? [...plan.inputs, ...plan.outputs] : plan.inputs) nodes.set(formatHostPort(endpoint.address), endpoint.address);
  const clients = new Map<string, WorkerClient>();
  const opened = await Promise.allSettled(
    [...nodes].map(async ([key, address]) => {
      const options: WorkerClientOptions = {
        address,
        protocol: plan.protocol,
        clock: plan.clock,
        ...(plan.timeoutMs === undefined ? {} : { timeoutMs: plan.timeoutMs }),
        ...(plan.retries === undefined ? {} : { retries: plan.retries }),
        ...(plan.auth === undefined ? {} : { auth: plan.auth }),
      };
      clients.set(key, await connect(options));
    }),
  );
  const failed = opened.find((result) => result.status === 'rejected');
  let socket: Socket | undefined;
  if (failed === undefined && plan.outputType === 'socket') {
    socket = createSocket(plan.outputs.some((output) => output.address.host.includes(':')) ? 'udp6' : 'udp4');
  }
  const connections: Connections = {
    clientOf: (address) => {
      const client = clients.get(formatHostPort(address));
      if (client === undefined) throw new Error(`no client for ${formatHostPort(address)}`);
      return client;
    },
    socket,
    close: async () => {
      const closing: Promise<unknown>[] = [...clients.values()].map((client) => client.close().catch(() => {}));
      if (socket !== undefined) closing.push(new Promise<void>((resolve) => socket.close(() => resolve())));
      await Promise.all(closing);
    },
  };
  if (failed !== undefined) {
    await connections.close();
    throw failed.reason;
  }
  return connections;
}
