import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { natsServerMissing, startNatsCluster, waitFor, type NatsClusterHandle, type NatsHandle } from '@streampy/testing';
import { runExactlyOnceLoad } from './j2-load.js';
import { codeOf, startNatsNodes, type NatsNode } from './j2-nodes.js';

const missing = natsServerMissing();
if (missing) console.warn(`JetStream cluster fault tests skipped: ${missing}`);

/** JETSTREAM.md: a queue's stream is <prefix>_<queue>, the prefix STREAMPY by default. */
const stream = (queue: string): string => `STREAMPY_${queue}`;

// Three real nats-servers (R3 streams) behind two real streampy-mq nodes; the faults are kill -9s
// of the servers, triggered by progress (acknowledged puts), never by a clock.
describe.skipIf(missing !== undefined)('two streampy-mq nodes on a three-server JetStream cluster, R3', { timeout: 240_000 }, () => {
  let cluster: NatsClusterHandle | undefined;
  let nodes: NatsNode[] = [];

  beforeEach(async () => {
    cluster = await startNatsCluster(3);
    // A JetStream call that cannot finish in 1 s makes the node answer ERR UNAVAILABLE; clients wait 3 s.
    nodes = await startNatsNodes(2, { nats: cluster.url, args: ['--replicas', '3', '--nats-timeout', '1000'] });
  }, 120_000);

  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    nodes = [];
    await cluster?.stop();
    cluster = undefined;
  });

  it('kill -9 of the stream leader under put/reserve/ack load, then its restart: every acknowledged put is delivered, none twice', async () => {
    const messages = 600;
    let victim: NatsHandle | undefined;
    let restarted = false;
    const report = await runExactlyOnceLoad({
      clients: nodes.map((node) => node.client),
      queue: 'faults',
      messages,
      onAcknowledged: async (acknowledged) => {
        if (acknowledged === 150) {
          victim = (await cluster!.streamLeader(stream('faults'))) ?? cluster!.servers[0]!;
          await victim.kill('SIGKILL');
        } else if (acknowledged === 400 && victim) {
          await victim.restart();
          restarted = true;
        }
      },
    });
    console.log(`cluster fault (one of three killed): ${JSON.stringify({ ...report, lost: report.lost.length, duplicated: report.duplicated.length, resurrected: report.resurrected.length, victim: victim?.name })}`);
    expect(victim).toBeDefined();
    expect(restarted).toBe(true);
    expect(report.timedOut).toBe(false);
    expect(report.acknowledged).toBe(messages);
    expect(report.lost).toEqual([]);
    expect(report.duplicated).toEqual([]);
    expect(report.resurrected).toEqual([]);
    // Leases from one node were acked through the other.
    expect(report.crossNodeAcks).toBeGreaterThan(0);
    await cluster!.healthy();
    // Both nodes see the same, empty queue: nothing is left to be delivered a second time.
    for (const node of nodes) expect(await node.client.size({ queue: 'faults' })).toBe(0);
  });

  it('two of three down (no quorum): both nodes answer ERR UNAVAILABLE, and serve again by themselves once the servers are back', async () => {
    const queue = 'quorum';
    const before = `before-${Date.now().toString(36)}`;
    await nodes[0]!.client.put(before, { key: before, queue });
    const [, second, third] = cluster!.servers;
    await Promise.all([second!.kill('SIGKILL'), third!.kill('SIGKILL')]);

    // Bounded: a few keyed puts and reserves through each node, each answered within the client's 3 s.
    const codes: Record<string, number> = {};
    const unavailableBy = new Map<string, number>();
    const tried: string[] = [];
    for (let round = 0; round < 4; round++) {
      for (const [index, node] of nodes.entries()) {
        const key = `outage-${round}-${index}`;
        tried.push(key);
        for (const call of [() => node.client.put(key, { key, queue }), () => node.client.reserve({ queue, max: 1, leaseMs: 10_000 })]) {
          try {
            const answer = await call();
            // A reserve may find nothing to hand out; a put cannot be acknowledged without a quorum.
            if (!Array.isArray(answer)) throw new Error(`a put was acknowledged with two of three servers down: ${JSON.stringify(answer)}`);
            codes.empty = (codes.empty ?? 0) + 1;
          } catch (error) {
            const code = codeOf(error);
            if (code === 'Error') throw error;
            codes[code] = (codes[code] ?? 0) + 1;
            if (code === 'ERR_UNAVAILABLE') unavailableBy.set(node.address, (unavailableBy.get(node.address) ?? 0) + 1);
          }
        }
      }
    }
    console.log(`cluster fault (two of three killed): answers ${JSON.stringify(codes)}`);
    // Every failure was the typed answer, from both nodes: no hang (ERR_TIMEOUT), no other error.
    expect(Object.keys(codes).filter((code) => code !== 'ERR_UNAVAILABLE' && code !== 'empty')).toEqual([]);
    for (const node of nodes) expect(unavailableBy.get(node.address) ?? 0).toBeGreaterThanOrEqual(4);

    await Promise.all([second!.restart(), third!.restart()]);
    await cluster!.healthy();
    // The nodes were not restarted: each reconnects and serves again by itself.
    const probes = nodes.map((_, index) => `probe-${index}`);
    for (const [index, node] of nodes.entries()) {
      await waitFor(async () => node.client.put(probes[index]!, { key: probes[index]!, queue }).then(() => true, () => false), {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: `a put through ${node.address} after the quorum came back`,
      });
    }
    // Everything put before, every outage put (retried now: DUP if it was stored after all) and the probes: each delivered once.
    const report = await runExactlyOnceLoad({
      clients: nodes.map((node) => node.client),
      queue,
      messages: [before, ...tried, ...probes],
      deadlineMs: 60_000,
    });
    console.log(`cluster fault (after the quorum came back): ${JSON.stringify({ ...report, lost: report.lost.length, duplicated: report.duplicated.length })}`);
    expect(report.timedOut).toBe(false);
    expect(report.lost).toEqual([]);
    expect(report.duplicated).toEqual([]);
    expect(report.resurrected).toEqual([]);
    expect(report.foreign).toBe(0);
  });
});
