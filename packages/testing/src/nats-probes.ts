// What the nats-server harness (nats.ts) asks of the machine and of a running server: free
// loopback ports, and the server's monitoring endpoint over HTTP.
import { createServer, type Server } from 'node:net';

/** Distinct ports that were free a moment ago: bound together on port 0 (so they differ), then released. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port from listen(0)');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** Monitoring status of `path` (`/healthz`...): the HTTP status, or 0 when not answering yet. */
export async function monitorStatus(port: number, path: string): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** A monitoring endpoint's JSON (also of an error status, with `anyStatus`), or undefined when the server does not answer. */
export async function monitorJson<T>(port: number, path: string, anyStatus = false): Promise<T | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
    return response.ok || anyStatus ? ((await response.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}
