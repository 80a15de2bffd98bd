import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatHostPort, parseHostPort } from '@streampy/runtime';
import type { SnapshotSource } from '../snapshot.js';
import { loadAssets, type Asset } from './assets.js';
import { EventStreams } from './sse.js';

export interface WebViewOptions {
  /** `host:port` to listen on; `:port` means 127.0.0.1, port 0 any free port. */
  readonly address: string;
  /** The running topology. */
  readonly source: SnapshotSource;
  /** Most pages connected at once (each holds one event stream). Default 16. */
  readonly maxClients?: number;
  /** How often an idle event stream gets a heartbeat comment. Default 15000 ms. */
  readonly heartbeatMs?: number;
}

/** A running web view. */
export interface WebView {
  /** `http://host:port/`, the page's address. */
  readonly url: string;
  /** Ends every event stream and stops listening. */
  close(): Promise<void>;
}

/**
 * The page only ever talks to its own server: this policy makes the browser refuse anything else
 * (a CDN script, a font, a beacon), so "works offline" is enforced rather than hoped for.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Serves the live view of a topology: the page (`/`) and its files, `/events` (server-sent events:
 * the current snapshot at once, then one per update from `source`, heartbeat comments between) and
 * `/snapshot` (the current snapshot as JSON, for scripts).
 */
export async function startWebView(options: WebViewOptions): Promise<WebView> {
  const { host, port } = parseHostPort(options.address, 'web address');
  const assets = await loadAssets();
  const streams = new EventStreams({ maxClients: options.maxClients ?? 16, heartbeatMs: options.heartbeatMs ?? 15_000 });
  const guarded = isLoopback(host);
  const server = createServer((request, response) => {
    try {
      if (guarded && !namesLoopback(request.headers.host)) {
        send(response, 403, 'text/plain; charset=utf-8', 'this view answers only to localhost and loopback addresses\n');
        return;
      }
      route(request, response, assets, streams, options.source);
    } catch (error) {
      // A failing source or a broken request must not take the runner down with it.
      fail(response, error);
    }
  });
  try {
    await listen(server, host, port);
  } catch (error) {
    streams.close();
    throw error;
  }
  // After listen, the only server errors are failed accepts (EMFILE under a flood): the server keeps
  // listening and takes the next connection, so they must not become an uncaught 'error' that ends the runner.
  server.on('error', () => undefined);
  const unsubscribe = options.source.subscribe((snapshot) => {
    if (streams.size > 0) streams.broadcast(JSON.stringify(snapshot));
  });
  const bound = server.address() as AddressInfo;
  const url = `http://${formatHostPort({ host: bound.address, port: bound.port })}/`;
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        unsubscribe();
        streams.close();
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open until they time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function route(request: IncomingMessage, response: ServerResponse, assets: ReadonlyMap<string, Asset>, streams: EventStreams, source: SnapshotSource): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    send(response, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n', { allow: 'GET, HEAD' });
    return;
  }
  const path = new URL(request.url ?? '/', 'http://view').pathname;
  if (path === '/events') {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    streams.open(request, response, JSON.stringify(source.current()));
    return;
  }
  if (path === '/snapshot') {
    send(response, 200, 'application/json; charset=utf-8', `${JSON.stringify(source.current())}\n`);
    return;
  }
  const asset = assets.get(path);
  if (asset === undefined) {
    send(response, 404, 'text/plain; charset=utf-8', `not found: ${path}\n`);
    return;
  }
  send(response, 200, asset.type, asset.body);
}

/**
 * A view on loopback answers only requests addressed to a loopback name: otherwise a web page
 * elsewhere could point its own DNS name at 127.0.0.1 (DNS rebinding) and read the topology.
 */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function namesLoopback(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined) return false;
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::\d+)?$/.exec(hostHeader.trim().toLowerCase());
  const name = match?.[1] ?? match?.[2];
  return name !== undefined && isLoopback(name);
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer, extra: Readonly<Record<string, string>> = {}): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    ...extra,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

function fail(response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const reason = error instanceof Error ? error.message : String(error);
  send(response, 500, 'text/plain; charset=utf-8', `internal error: ${reason}\n`);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
