import { get, request, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@streampy/testing';
import type { TopologySnapshot } from '../src/snapshot.js';
import { startWebView, type WebView } from '../src/web/server.js';
import { ScriptedSource, wordCount } from './web-fixtures.js';

/** An open /events stream: the JSON of every `data:` line and every comment, as they arrive. */
interface Stream {
  readonly response: IncomingMessage;
  readonly data: TopologySnapshot[];
  readonly comments: string[];
  ended: boolean;
  close(): void;
}

function openStream(url: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = get(new URL('events', url), (response) => {
      const stream: Stream = { response, data: [], comments: [], ended: false, close: () => req.destroy() };
      let buffered = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffered += chunk;
        for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
          for (const line of buffered.slice(0, end).split('\n')) {
            if (line.startsWith('data: ')) stream.data.push(JSON.parse(line.slice(6)) as TopologySnapshot);
            else if (line.startsWith(':')) stream.comments.push(line);
          }
          buffered = buffered.slice(end + 2);
        }
      });
      response.on('end', () => (stream.ended = true));
      response.on('error', () => (stream.ended = true));
      resolve(stream);
    });
    req.on('error', reject);
  });
}

async function fetchText(url: string, method = 'GET'): Promise<{ status: number; type: string; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'] ?? '', headers: response.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('startWebView over HTTP', () => {
  const opened: { view: WebView; streams: Stream[] }[] = [];
  afterEach(async () => {
    for (const { view, streams } of opened.splice(0)) {
      for (const s of streams) s.close();
      await view.close();
    }
  });

  async function start(source: ScriptedSource, extra: { maxClients?: number; heartbeatMs?: number } = {}) {
    const view = await startWebView({ address: '127.0.0.1:0', source, ...extra });
    const entry = { view, streams: [] as Stream[] };
    opened.push(entry);
    const stream = async () => {
      const s = await openStream(view.url);
      entry.streams.push(s);
      return s;
    };
    return { view, stream };
  }

  it('listens on loopback at the port the OS chose and serves the page, its scripts and dagre locally', async () => {
    const { view } = await start(new ScriptedSource(wordCount()));
    expect(view.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetchText(view.url);
    expect(page.status).toBe(200);
    expect(page.type).toContain('text/html');
    expect(page.body).toContain('<script src="/vendor/dagre.min.js"');
    // The browser may load nothing from elsewhere: every script the page names is served here.
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    for (const path of ['/app.js', '/graph.js', '/nodes.js', '/svg.js', '/panels.js', '/format.js', '/style.css']) {
      const asset = await fetchText(new URL(path, view.url).href);
      expect(asset.status, path).toBe(200);
    }
    const dagre = await fetchText(new URL('/vendor/dagre.min.js', view.url).href);
    expect(dagre.type).toContain('text/javascript');
    expect(dagre.body).toContain('var dagre=');
  });

  it('takes `:port` as loopback', async () => {
    const view = await startWebView({ address: ':0', source: new ScriptedSource(wordCount()) });
    opened.push({ view, streams: [] });
    expect(view.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/$/);
  });

  it('rejects a malformed address', async () => {
    await expect(startWebView({ address: 'nowhere', source: new ScriptedSource(wordCount()) })).rejects.toThrow(/host:port/);
  });

  it('answers /snapshot with the current snapshot, 404 for unknown paths and 405 for other methods', async () => {
    const source = new ScriptedSource(wordCount());
    const { view } = await start(source);
    const snapshot = await fetchText(new URL('/snapshot', view.url).href);
    expect(snapshot.type).toContain('application/json');
    expect(JSON.parse(snapshot.body)).toEqual(wordCount());
    source.publish(wordCount(2));
    expect(JSON.parse((await fetchText(new URL('/snapshot', view.url).href)).body)).toEqual(wordCount(2));
    expect((await fetchText(new URL('/nope', view.url).href)).status).toBe(404);
    expect((await fetchText(new URL('/../../package.json', view.url).href)).status).toBe(404);
    const post = await fetchText(new URL('/snapshot', view.url).href, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('on loopback, refuses requests addressed to another name (DNS rebinding)', async () => {
    const { view } = await start(new ScriptedSource(wordCount()));
    const port = new URL(view.url).port;
    const ask = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(new URL('/snapshot', view.url), { headers: { host } }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await ask(`attacker.example:${port}`)).toBe(403);
    expect(await ask(`127.0.0.1.attacker.example:${port}`)).toBe(403);
    expect(await ask(`localhost:${port}`)).toBe(200);
    expect(await ask(`127.0.0.1:${port}`)).toBe(200);
    expect(await ask(`[::1]:${port}`)).toBe(200);
  });

  it('answers 500 and keeps serving when the source throws', async () => {
    const source = new ScriptedSource(wordCount());
    const { view } = await start(source);
    const current = source.current.bind(source);
    source.current = () => {
      throw new Error('runner is gone');
    };
    const failed = await fetchText(new URL('/snapshot', view.url).href);
    expect(failed.status).toBe(500);
    expect(failed.body).toContain('runner is gone');
    source.current = current;
    expect((await fetchText(new URL('/snapshot', view.url).href)).status).toBe(200);
  });

  it('streams the current snapshot at once, then every update, as one data line of JSON each', async () => {
    const source = new ScriptedSource(wordCount());
    const { stream } = await start(source);
    const s = await stream();
    expect(s.response.headers['content-type']).toContain('text/event-stream');
    await waitFor(() => s.data.length >= 1, { what: 'the initial snapshot' });
    expect(s.data[0]).toEqual(wordCount());
    source.publish(wordCount(2));
    source.publish(wordCount(3));
    await waitFor(() => s.data.length >= 3, { what: 'two updates' });
    expect(s.data.map((d) => d.edges[0]?.messagesPerSecond)).toEqual([398, 796, 1194]);
  });

  it('sends heartbeat comments on an idle stream', async () => {
    const { stream } = await start(new ScriptedSource(wordCount()), { heartbeatMs: 20 });
    const s = await stream();
    await waitFor(() => s.comments.length >= 2, { what: 'two heartbeats' });
    expect(s.comments[0]).toBe(': heartbeat');
  });

  it('refuses streams past maxClients and takes a new one once a client went away', async () => {
    const source = new ScriptedSource(wordCount());
    const { stream } = await start(source, { maxClients: 2 });
    const first = await stream();
    const second = await stream();
    await waitFor(() => first.data.length > 0 && second.data.length > 0, { what: 'both streams open' });
    const third = await stream();
    expect(third.response.statusCode).toBe(503);
    first.close();
    // The server notices the closed socket on its own time: poll with new requests until one is taken.
    const fourth = await waitFor(
      async () => {
        const s = await stream();
        if (s.response.statusCode === 200) return s;
        s.close();
        return null;
      },
      { what: 'a free stream slot after one client left', intervalMs: 20 },
    );
    source.publish(wordCount(2));
    await waitFor(() => fourth.data.length >= 2 && second.data.length >= 2, { what: 'the update on both open streams' });
  });

  it('close() ends the open streams and unsubscribes from the source', async () => {
    const source = new ScriptedSource(wordCount());
    const view = await startWebView({ address: '127.0.0.1:0', source });
    expect(source.listeners).toBe(1);
    const s = await openStream(view.url);
    await waitFor(() => s.data.length > 0, { what: 'the initial snapshot' });
    await view.close();
    await waitFor(() => s.ended, { what: 'the stream to end' });
    expect(source.listeners).toBe(0);
    await view.close(); // twice is fine
  });
});
