// The queue-node cases every node mode shares (memory, durable, JetStream-backed): the raw
// batched puts that fill a backlog, the per-group row runner, and the cases through the client.
import { closedLoop, inFlight } from './load.mjs';

/**
 * What every queue-node group measures with: a backlog count, `fill(target)` topping the queue up
 * with raw batched puts (the count read back from the node, since replies dropped at the end of a
 * case leave a local count behind), and `add(id, label, run)` measuring one row and counting the
 * raw peer's lost replies.
 */
export function caseRunner({ budget, body, codec, client, peer, measure }) {
  const backlog = { count: 0 };
  const rows = [];
  const fill = async (target = budget.prefill) => {
    backlog.count = await client.size();
    if (backlog.count < target) backlog.count += await putBatches(peer, codec, target - backlog.count, () => body);
  };
  const add = async (id, label, run) => {
    const lostBefore = peer.lost;
    rows.push({ ...(await measure(id, label, run)), lost: peer.lost - lostBefore });
  };
  return { backlog, fill, add, rows };
}

/**
 * The cases through `@streampy/client`, on any node (memory mode, or `--nats`): PUT one at a
 * time and 16 in flight, GET one at a time, reserve + ack one at a time and 16 in flight,
 * putMany(100) and getBatch(100) with 4 in flight, reserve max=100 + 100 acks. Row ids are
 * `<prefix>.put.client.c1` and so on, so groups line up.
 */
export async function clientCases({ prefix, client, body, budget, backlog, fill, add, batchPrefill = budget.batchPrefill }) {
  const batch = 100;
  for (const concurrency of [1, 16]) {
    await add(`${prefix}.put.client.c${concurrency}`, `PUT, ${inFlight(concurrency)}, client`, () => closedLoop({ ...budget, concurrency }, async () => {
      await client.put(body);
      backlog.count++;
      return 1;
    }));
  }
  await fill();
  await add(`${prefix}.get.client.c1`, 'GET (at-most-once), one at a time, client', () => closedLoop(budget, async () => {
    if ((await client.get()) === undefined) return 0;
    backlog.count--;
    return 1;
  }));
  for (const concurrency of [1, 16]) {
    await fill();
    await add(`${prefix}.consume.client.c${concurrency}`, `reserve + ack (ack with the next reserve), ${inFlight(concurrency)}, client`,
      () => consumeThroughClient(client, budget, backlog, { concurrency, max: 1 }));
  }
  const many = Array.from({ length: batch }, () => body);
  await add(`${prefix}.batch.put.client`, `putMany(${batch}) (one datagram), 4 batches in flight, client`,
    () => closedLoop({ ...budget, concurrency: 4 }, async () => {
      await client.putMany(many);
      backlog.count += batch;
      return batch;
    }));
  await fill();
  await add(`${prefix}.batch.get.client`, `getBatch(${batch}), 4 in flight, client`, () => closedLoop({ ...budget, concurrency: 4 }, async () => {
    const bodies = await client.getBatch(batch);
    backlog.count -= bodies.length;
    return bodies.length;
  }));
  await fill(batchPrefill);
  await add(`${prefix}.batch.consume.client`, `reserve max=${batch} + ${batch} acks (with the next reserve), client`,
    () => consumeThroughClient(client, budget, backlog, { concurrency: 1, max: batch }));
}

/**
 * Puts `count` messages as raw datagrams of `batch` PUT frames, 4 datagrams in flight, and
 * returns how many the node acknowledged (a little over `count` if a reply was lost).
 */
export async function putBatches(peer, codec, count, bodyAt, batch = 100) {
  const put = Buffer.from('PUT:');
  let next = 0;
  let stored = 0;
  await peer.pipelined(
    { warmupMs: 0, durationMs: 120_000, maxOps: count, window: 4 * batch, stallMs: 500 },
    () => ({ datagram: codec.encodeFrames(Array.from({ length: batch }, () => Buffer.concat([put, bodyAt(next++)]))), units: batch }),
    (reply) => {
      const n = codec.scanFrames(reply).frames.length;
      stored += n;
      return { sent: n, done: n, stop: stored >= count };
    },
  );
  return stored;
}

/** Reserve, then ack every delivery in the same turn as the next reserve: one datagram per round. */
async function consumeThroughClient(client, budget, backlog, { concurrency, max }) {
  const held = Array.from({ length: concurrency }, () => []);
  const result = await closedLoop({ ...budget, concurrency }, async (slot) => {
    const acks = held[slot].map((token) => client.ack(token));
    const [deliveries] = await Promise.all([client.reserve(max === 1 ? undefined : { max }), ...acks]);
    held[slot] = deliveries.map((delivery) => delivery.token);
    backlog.count -= deliveries.length;
    return deliveries.length;
  });
  await Promise.all(held.flat().map((token) => client.ack(token)));
  return result;
}
