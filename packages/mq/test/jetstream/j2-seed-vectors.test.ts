import { readFileSync } from 'node:fs';
import { encodeFrame } from '@streampy/codec';
import { parseHostPort } from '@streampy/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsServerMissing, startNats, type NatsHandle } from '@streampy/testing';
import { PYTHON, SEED_DIR, run } from '../client/processes.js';
import { TestPeer } from '../udp.js';
import { startNatsNodes, type NatsNode } from './j2-nodes.js';

/*
 * The seed vectors (/work/shared/vectors/commands.json: the same ones wire.test.ts runs on a local
 * node), the seed prototype's documented scenarios that our node shares (compat/seed/scenarios.json;
 * where the seed stays silent our node answers a typed error, on purpose, so those are left out)
 * and the seed's own client tool, byte for byte, through streampy-mq nodes whose queues live in
 * JetStream: once through one node, and once with the steps alternating between two nodes in front
 * of the same stream, so a PUT through one is what a SIZE or GET through the other answers.
 */

/** A scenario of either file; a step's `reply: null` means no answer (checked by the next reply, which must answer the next step). */
type Scenario = { readonly name: string; readonly steps: readonly { readonly send?: string; readonly send_hex?: string; readonly reply: string | null }[] };

const read = (url: URL | string): Scenario[] => (JSON.parse(readFileSync(url, 'utf8')) as { scenarios: Scenario[] }).scenarios;
const SHARED = read(new URL('../../../../../shared/vectors/commands.json', import.meta.url));
const SEED = read(`${SEED_DIR}scenarios.json`).filter((scenario) => scenario.steps.every((step) => step.reply !== null));

const missing = natsServerMissing();
if (missing) console.warn(`JetStream seed vector tests skipped: ${missing}`);

let nats: NatsHandle | undefined;
let peer: TestPeer | undefined;
let nodes: NatsNode[] = [];
let scenarios = 0;

beforeAll(async () => {
  if (!missing) nats = await startNats();
}, 60_000);

afterAll(async () => nats?.stop());

afterEach(async () => {
  await peer?.close();
  peer = undefined;
  await Promise.all(nodes.map((node) => node.stop()));
  nodes = [];
});

/** Fresh queues for every scenario, as a fresh local node has: each scenario's nodes get their own stream prefix. */
async function freshNodes(count: number): Promise<NatsNode[]> {
  nodes = await startNatsNodes(count, { nats: nats!.url, args: ['--nats-prefix', `SEED${++scenarios}`] });
  // A fresh peer too: a reply that came late to one scenario must not be read by the next.
  peer = await TestPeer.open();
  return nodes;
}

async function play(scenario: Scenario, through: readonly NatsNode[]): Promise<void> {
  for (const [index, step] of scenario.steps.entries()) {
    const node = through[index % through.length]!;
    peer!.send(parseHostPort(node.address), step.send_hex === undefined ? encodeFrame(step.send ?? '') : Buffer.from(step.send_hex, 'hex'));
    if (step.reply === null) continue;
    // Byte for byte: exactly one frame, exactly the seed reply.
    expect((await peer!.next()).toString('utf8'), `${scenario.name}, step ${index}`).toBe(Buffer.from(encodeFrame(step.reply)).toString('utf8'));
  }
}

describe.skipIf(missing !== undefined)('seed vectors through streampy-mq --nats', { timeout: 60_000 }, () => {
  it('has scenarios to run', () => {
    expect(SHARED.length).toBeGreaterThanOrEqual(5);
    expect(SEED.length).toBeGreaterThanOrEqual(5);
  });

  for (const scenario of SHARED) {
    it(`vectors: ${scenario.name} (one node)`, async () => play(scenario, await freshNodes(1)));
    it(`vectors: ${scenario.name} (two nodes, alternating)`, async () => play(scenario, await freshNodes(2)));
  }
  for (const scenario of SEED) {
    it(`seed scenarios: ${scenario.name} (one node)`, async () => play(scenario, await freshNodes(1)));
    it(`seed scenarios: ${scenario.name} (two nodes, alternating)`, async () => play(scenario, await freshNodes(2)));
  }

  it("the seed's udp_client.py puts through one node and gets through the other", async () => {
    const [a, b] = await freshNodes(2);
    const client = (node: NatsNode, ...words: string[]) => run(PYTHON, [`${SEED_DIR}udp_client.py`, node.address, ...words, '--timeout', '5']);
    expect(await client(a!, 'PUT:ping')).toMatchObject({ code: 0, stdout: 'sent: PUT:ping\nreply: PUT 4 bytes\n' });
    expect(await client(b!, 'SIZE')).toMatchObject({ code: 0, stdout: 'sent: SIZE\nreply: 1\n' });
    expect(await client(b!, 'GET')).toMatchObject({ code: 0, stdout: 'sent: GET\nreply: ping\n' });
    expect(await client(a!, 'GET')).toMatchObject({ code: 0, stdout: 'sent: GET\nreply: \n' });
  });
});
