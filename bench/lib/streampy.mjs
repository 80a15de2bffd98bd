// The streampy cases: queue node (raw frames and through the client), worker topologies,
// durability, memory per queued message and put-to-get latency. Every node and worker runs
// in its own process, started from the packages' built CLIs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { UdpPeer, closedLoop, latencySummary } from './load.mjs';
import { makeTempDir, removeTempDir, residentBytes, startProcess } from './procs.mjs';
import { caseRunner, clientCases, putBatches } from './cases.mjs';

const root = new URL('../../', import.meta.url);
const path = (relative) => fileURLToPath(new URL(relative, root));

export const BUILT = {
  codec: path('packages/codec/dist/index.js'),
  client: path('packages/client/dist/index.js'),
  mqCli: path('packages/mq/dist/cli.js'),
  workerCli: path('packages/worker/dist/cli.js'),
};

/** The built files a group of cases needs that are missing (run `npx tsc -b` first). */
export function missingBuilds(...names) {
  return names.filter((name) => !existsSync(BUILT[name])).map((name) => BUILT[name]);
}

/** Loads the built codec and client (dynamic: the root has no dependency on the packages). */
export async function loadStreampy() {
  const codec = await import(BUILT.codec);
  const { createClient } = await import(BUILT.client);
  return { codec, createClient };
}

export async function startQueueNode(args = []) {
  const node = await startProcess('streampy-mq', process.execPath, [BUILT.mqCli, '--address', '127.0.0.1:0', '--log-level', 'warn', ...args], {
    ready: /listening on (\S+):(\d+)\s*$/,
  });
  node.host = node.match[1];
  node.port = Number(node.match[2]);
  node.address = `${node.host}:${node.port}`;
  return node;
}

function startWorker(input, output, fn, extraArgs) {
  return startProcess('streampy-worker', process.execPath, [BUILT.workerCli, input, output, '--function', fn, '--log-level', 'warn', ...extraArgs], {
    ready: /running/,
  });
}

/** Text of a payload's head (before the first `:`), enough to read a status word. */
function head(payload) {
  const colon = payload.indexOf(0x3a);
  return Buffer.from(payload.buffer, payload.byteOffset, colon < 0 ? payload.length : colon).toString('latin1');
}

/**
 * The queue node in memory mode: single PUT/GET and RESERVE+ACK, one at a time, with raw frames;
 * batches of raw frames (100 per datagram, GET max=100); then the client cases (`clientCases`).
 */
export async function benchQueueNode({ budget, body, streampy, measure }) {
  const { codec, createClient } = streampy;
  const node = await startQueueNode();
  const peer = await UdpPeer.open(node.host, node.port);
  const client = await createClient({ address: node.address, timeoutMs: 1000, retries: 2 });
  const { backlog, fill, add, rows } = caseRunner({ budget, body, codec, client, peer, measure });
  try {
    const putFrame = codec.encodeFrame(Buffer.concat([Buffer.from('PUT:'), body]));
    await add('mq.put.raw.c1', 'PUT, one at a time, raw frames', () => closedLoop(budget, async () => {
      const reply = await peer.request(putFrame);
      if (reply !== undefined) backlog.count++;
      return 1;
    }));

    await fill();
    const getFrame = codec.encodeFrame('GET');
    await add('mq.get.raw.c1', 'GET (at-most-once), one at a time, raw frames', () => closedLoop(budget, async () => {
      const reply = await peer.request(getFrame);
      // The seed reply to GET on an empty queue is the empty frame `10`.
      if (reply !== undefined && reply.length <= 2) return 0;
      backlog.count--;
      return 1;
    }));

    await fill();
    const reserveFrame = codec.encodeFrame('RESERVE');
    let heldToken;
    await add('mq.consume.raw.c1', 'RESERVE + ACK in one datagram, one at a time, raw frames', () => closedLoop(budget, async () => {
      const datagram = heldToken === undefined ? reserveFrame : Buffer.concat([codec.encodeFrame(`ACK ${heldToken}`), reserveFrame]);
      heldToken = undefined;
      const reply = await peer.request(datagram);
      if (reply === undefined) return 1;
      const frames = codec.decodeFrames(reply);
      const leased = codec.parseReply(frames[frames.length - 1], { verb: 'RESERVE' });
      if (leased.kind !== 'leased' || leased.deliveries.length === 0) return 0;
      heldToken = leased.deliveries[0].token;
      backlog.count--;
      return 1;
    }));
    if (heldToken !== undefined) await client.ack(heldToken);

    const batch = 100;
    const batchDatagram = codec.encodeFrames(Array.from({ length: batch }, () => Buffer.concat([Buffer.from('PUT:'), body])));
    await add('mq.batch.put.raw', `PUT x${batch} per datagram, 4 datagrams in flight, raw frames`, () => peer.pipelined(
      { ...budget, window: 4 * batch },
      () => ({ datagram: batchDatagram, units: batch }),
      (reply) => {
        const n = codec.scanFrames(reply).frames.length;
        backlog.count += n;
        return { sent: n, done: n };
      },
    ));
    await fill(budget.batchPrefill);
    const batchGet = codec.encodeFrame(`GET max=${batch}`);
    await add('mq.batch.get.raw', `GET max=${batch}, 4 requests in flight, raw frames`, () => peer.pipelined(
      { ...budget, window: 4 },
      () => ({ datagram: batchGet, units: 1 }),
      (reply) => {
        const status = head(codec.decodeFrame(reply));
        const n = status.startsWith('MSGS ') ? Number(status.slice(5)) : 0;
        backlog.count -= n;
        return { sent: 1, done: n, stop: n === 0 };
      },
    ));
    await clientCases({ prefix: 'mq', client, body, budget, backlog, fill, add });
  } finally {
    peer.close();
    await client.close();
    await node.stop();
  }
  return { rows };
}

/** Messages/s through a node's put counter (default queue), sampled over the measured window. */
async function putRate(client, budget, { until } = {}) {
  const puts = async () => Number((await client.stats()).queues?.default?.puts ?? NaN);
  await sleep(budget.warmupMs);
  const p0 = await puts();
  const t0 = performance.now();
  let p1 = p0;
  let t1 = t0;
  const end = t0 + budget.durationMs;
  while (t1 < end) {
    await sleep(Math.min(100, end - t1));
    p1 = await puts();
    t1 = performance.now();
    if (until !== undefined && p1 >= until) break;
  }
  const seconds = (t1 - t0) / 1000;
  return { ops: p1 - p0, seconds, rate: (p1 - p0) / seconds };
}

export const GUARANTEES = ['at-most-once', 'at-least-once', 'exactly-once'];

/** Pong with one ball on one queue (the prototype's self-loop), then source -> passthrough -> sink. */
export async function benchWorker({ budget, quick, body, streampy, measure }) {
  const { codec, createClient } = streampy;
  const rows = [];
  // The last variant serves Prometheus metrics from the node and the worker: what metrics cost on the hot path.
  const pongs = [
    { guarantee: 'at-most-once', metrics: false },
    { guarantee: 'at-least-once', metrics: false },
    { guarantee: 'at-least-once', metrics: true },
  ];
  for (const { guarantee, metrics } of pongs) {
    const metricsArgs = metrics ? ['--metrics-address', '127.0.0.1:0'] : [];
    const node = await startQueueNode(metricsArgs);
    let worker;
    const client = await createClient({ address: node.address });
    try {
      worker = await startWorker(node.address, node.address, 'pong', ['--guarantee', guarantee, ...metricsArgs]);
      await client.put('ping');
      const id = `worker.pong.${guarantee}${metrics ? '.metrics' : ''}`;
      const title = metrics ? `pong self-loop, ${guarantee}, /metrics on node and worker` : `pong self-loop, one ball, ${guarantee} (rounds/s)`;
      rows.push(await measure(id, title, () => putRate(client, budget)));
    } finally {
      await client.close();
      await worker?.stop();
      await node.stop();
    }
  }
  // Counted from the worker's start: the source is pre-filled and a fast pipeline can drain it
  // within a warm-up, so the warm-up is skipped and the count sized to take seconds.
  const messages = quick ? 5_000 : 200_000;
  const variants = [...GUARANTEES.map((guarantee) => ({ guarantee, args: [] })), { guarantee: 'at-least-once', args: ['--batch', '50', '--concurrency', '4'] }];
  for (const { guarantee, args } of variants) {
    const source = await startQueueNode();
    let sink;
    let worker;
    let sinkClient;
    try {
      sink = await startQueueNode();
      sinkClient = await createClient({ address: sink.address });
      const filler = await UdpPeer.open(source.host, source.port);
      await putBatches(filler, codec, messages, () => body).finally(() => filler.close());
      worker = await startWorker(source.address, sink.address, 'passthrough', ['--guarantee', guarantee, ...args]);
      const flags = args.length === 0 ? '' : ` ${args.join(' ')}`;
      const id = `worker.pipeline.${guarantee}${args.length === 0 ? '' : '.batch'}`;
      rows.push(await measure(id, `source -> passthrough -> sink, ${guarantee}${flags}`, () => putRate(sinkClient, { ...budget, warmupMs: 0 }, { until: messages })));
    } finally {
      await sinkClient?.close();
      await worker?.stop();
      await sink?.stop();
      await source.stop();
    }
  }
  return { rows };
}

/** Put throughput (16 in flight, client) in memory mode and with a durable log. */
export async function benchDurability({ budget, body, streampy, measure }) {
  const rows = [];
  for (const fsync of [undefined, '10', 'always']) {
    const dataDir = fsync === undefined ? undefined : makeTempDir('mq-data');
    let node;
    let client;
    try {
      node = await startQueueNode(dataDir === undefined ? [] : ['--data-dir', dataDir, '--fsync', fsync]);
      client = await streampy.createClient({ address: node.address, timeoutMs: 2000 });
      const mode = fsync === undefined ? 'memory' : `fsync-${fsync}`;
      const label = `PUT, 16 in flight, client, ${fsync === undefined ? 'memory' : `--fsync ${fsync}`}`;
      rows.push(await measure(`durable.${mode}`, label, () => closedLoop({ ...budget, concurrency: 16 }, async () => {
        await client.put(body);
        return 1;
      })));
    } finally {
      await client?.close();
      await node?.stop();
      if (dataDir !== undefined) removeTempDir(dataDir);
    }
  }
  return { rows };
}

/** Waits until the RSS of `pid` stops moving (or a bound), then returns it. */
async function settledRss(pid) {
  let last = residentBytes(pid);
  for (let i = 0; i < 10; i++) {
    await sleep(150);
    const now = residentBytes(pid);
    if (Math.abs(now - last) < 256 * 1024) return now;
    last = now;
  }
  return last;
}

/**
 * RSS growth of the node per queued 16-byte message, minus the 16 payload bytes; and the same
 * for a plain Node process holding as many 16-byte Buffers in an array (the baseline).
 */
export async function benchMemory({ budget, streampy, measure }) {
  const { codec, createClient } = streampy;
  const count = budget.memoryMessages;
  const payloadBytes = 16;
  const baseline = await startProcess('memory-baseline', process.execPath, [path('bench/memory-baseline.mjs'), String(count), String(payloadBytes)], {
    ready: /^\{.*\}$/,
    readyTimeoutMs: 60_000,
  });
  const plain = JSON.parse(baseline.match[0]);
  await baseline.stop();
  const node = await startQueueNode();
  const peer = await UdpPeer.open(node.host, node.port);
  const client = await createClient({ address: node.address, timeoutMs: 5000 });
  try {
    await client.size();
    const before = await settledRss(node.pid);
    await putBatches(peer, codec, count, (i) => Buffer.from(String(i).padStart(payloadBytes, '0'), 'latin1'), 500);
    // Replies to the last datagrams may still be on their way; SIZE is the count that matters.
    await sleep(200);
    const size = await client.size();
    const after = await settledRss(node.pid);
    const perMessage = (after - before) / size;
    const label = `memory per queued ${payloadBytes}-byte message (${size.toLocaleString('en-US')} queued)`;
    const row = await measure('memory.overhead', label, () => ({
      value: perMessage - payloadBytes,
      unit: 'B',
      rssGrowthBytes: after - before,
      queued: size,
      baselineOverhead: plain.bytesPerMessage - payloadBytes,
    }));
    return { rows: [row] };
  } finally {
    peer.close();
    await client.close();
    await node.stop();
  }
}

/**
 * Put-to-get latency at a fixed offered load: a producer puts `rate` messages/s (1 ms ticks,
 * the puts of a tick coalesced into one datagram) while a consumer drains with GET max=100.
 */
export async function benchLatency({ budget, streampy, measure, rate = 5_000 }) {
  const { createClient } = streampy;
  const node = await startQueueNode();
  const producer = await createClient({ address: node.address });
  const consumer = await createClient({ address: node.address });
  const run = async () => {
    const sentAt = [];
    const samples = [];
    let lost = 0;
    const seconds = budget.latencySeconds;
    const total = Math.round(rate * seconds);
    const start = performance.now();
    let produced = 0;
    const produce = new Promise((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
        while (produced < due) {
          const id = produced++;
          sentAt[id] = performance.now();
          producer.put(String(id).padStart(16, '0')).catch(() => lost++);
        }
        if (produced >= total) {
          clearInterval(tick);
          resolve();
        }
      }, 1);
    });
    const deadline = start + seconds * 1000 + 5_000;
    let received = 0;
    while (received + lost < total && performance.now() < deadline) {
      const bodies = await consumer.getBatch(100).catch(() => []);
      const now = performance.now();
      for (const bytes of bodies) {
        const id = Number(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1'));
        samples.push((now - sentAt[id]) * 1000);
        received++;
      }
      if (bodies.length === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await produce;
    const summary = latencySummary(samples);
    return { value: summary.p50, unit: 'µs', ...summary, received, lost: total - received };
  };
  try {
    const label = `put-to-get latency at ${rate.toLocaleString('en-US')} msg/s offered (GET max=100 polling)`;
    return { rows: [await measure('latency.put-to-get', label, run)] };
  } finally {
    await producer.close();
    await consumer.close();
    await node.stop();
  }
}
