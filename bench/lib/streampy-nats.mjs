// The queue node with its queues in NATS JetStream (`streampy-mq --nats URL`, issue 11): the
// same client cases as memory mode, on a nats-server started like the JetStream peer's (one
// server, file store), so the rows line up with both the memory-mode rows and the peer's.
import { UdpPeer } from './load.mjs';
import { caseRunner, clientCases } from './cases.mjs';
import { startNatsServer } from './peers/nats.mjs';
import { startQueueNode } from './streampy.mjs';

export async function benchJetStreamNode({ budget, body, streampy, log, measure }) {
  const { codec, createClient } = streampy;
  const nats = await startNatsServer(log, 'jetstream-node');
  if (nats.skipped) return nats;
  let node;
  let peer;
  let client;
  try {
    node = await startQueueNode(['--nats', nats.url]).catch((error) => {
      throw new Error(`streampy-mq --nats did not start (does this build have the JetStream backend?): ${error.message}`);
    });
    peer = await UdpPeer.open(node.host, node.port);
    client = await createClient({ address: node.address, timeoutMs: 2000, retries: 2 });
    const runner = caseRunner({ budget, body, codec, client, peer, measure });
    // The peer's consume cases start from `prefill` messages too; half a million would mostly measure the fill.
    await clientCases({ prefix: 'mqjs', client, body, budget, ...runner, batchPrefill: budget.prefill });
    return { rows: runner.rows };
  } finally {
    peer?.close();
    await client?.close();
    await node?.stop();
    await nats.stop();
  }
}
