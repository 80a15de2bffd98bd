import type { IncomingMessage, ServerResponse } from 'node:http';

export interface EventStreamsOptions {
  /** Most streams open at once; one more is refused with 503 so a runaway tab cannot pile up sockets. */
  readonly maxClients: number;
  /** A comment line goes to every stream this often, so idle proxies and browsers keep it open. */
  readonly heartbeatMs: number;
}

/**
 * A stream whose reader stopped reading is dropped once this much is queued for it:
 * a snapshot is a few kilobytes, so this is hundreds of unread updates, and memory stays bounded.
 */
const MAX_BUFFERED_BYTES = 1 << 20;

/**
 * The open server-sent-event streams of the web view: one `data:` line of JSON per update to every
 * open stream, heartbeat comments, and each stream forgotten as soon as its connection closes.
 */
export class EventStreams {
  readonly #clients = new Set<ServerResponse>();
  readonly #maxClients: number;
  readonly #heartbeat: NodeJS.Timeout;

  constructor(options: EventStreamsOptions) {
    this.#maxClients = options.maxClients;
    this.#heartbeat = setInterval(() => this.#sendAll(': heartbeat\n\n'), options.heartbeatMs);
    // The view never keeps a process alive by itself: whoever started it closes it.
    this.#heartbeat.unref();
  }

  /** How many streams are open. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * Answers a request for `/events`: refuses it (503) when `maxClients` are open, else opens the stream
   * and sends `first` (a JSON text) at once, so a new page draws without waiting for the next update.
   */
  open(request: IncomingMessage, response: ServerResponse, first: string): boolean {
    if (this.#clients.size >= this.#maxClients) {
      response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
      response.end(`too many open event streams (at most ${this.#maxClients})\n`);
      return false;
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.#clients.add(response);
    const forget = (): void => {
      this.#clients.delete(response);
    };
    request.on('close', forget);
    response.on('close', forget);
    response.on('error', forget);
    // `retry` makes a browser reconnect after 1 s when the stream breaks (the runner restarting, say).
    this.#send(response, `retry: 1000\n\n${frame(first)}`);
    return true;
  }

  /** Sends one update (a JSON text) to every open stream. */
  broadcast(json: string): void {
    this.#sendAll(frame(json));
  }

  /** Ends every stream and stops the heartbeat. */
  close(): void {
    clearInterval(this.#heartbeat);
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }

  #sendAll(chunk: string): void {
    for (const client of this.#clients) this.#send(client, chunk);
  }

  #send(client: ServerResponse, chunk: string): void {
    if (client.writableLength > MAX_BUFFERED_BYTES) {
      this.#clients.delete(client);
      client.destroy();
      return;
    }
    client.write(chunk);
  }
}

/** JSON.stringify never emits a raw line break (it escapes them), so one `data:` line carries the whole text. */
function frame(json: string): string {
  return `data: ${json}\n\n`;
}
