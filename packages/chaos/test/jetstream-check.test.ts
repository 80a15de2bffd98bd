import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatHostPort } from '@streampy/runtime';
import { launch, natsServerMissing, startNats, waitFor, type NatsHandle, type Running } from '@streampy/testing';
import { createWorker } from '@streampy/worker';
import { createFaultProxy, judge, runCheck, type FaultProxy } from '../src/index.js';

/*
 * The checker's exactly-once verdict through queue nodes whose queues live in NATS JetStream
 * (`streampy-mq --nats`, issue 11): real nats-server, real streampy-mq processes, fault proxies
 * that drop, duplicate and reorder both ways. Needs the mq and chaos builds.
 */

const missing = natsServerMissing();
if (missing) console.warn(`JetStream chaos tests skipped: ${missing}`);

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MQ_CLI = `${REPO}packages/mq/dist/cli.js`;
const chaosCli = (file: string): string => `${REPO}packages/chaos/dist/${file}`;
const LISTENING = /streampy-mq listening on (\S+)\n/;
const faults = { drop: 0.2, duplicate: 0.1, reorder: 0.1, delayMs: [0, 2] as [number, number] };

let nats: NatsHandle | undefined;
const running: Running[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  if (!missing) nats = await startNats();
}, 60_000);
afterAll(async () => nats?.stop());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  // What the test did not stop itself, by PID.
  for (const child of running.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
});

function start(command: string, args: readonly string[]): Running {
  const child = launch(process.execPath, [command, ...args], { cwd: REPO, deadlineMs: 240_000 });
  running.push(child);
  // A failure is reported by the test's own waits and expectations; this only keeps it from going unhandled.
  child.finished.catch(() => {});
  return child;
}

async function stop(child: Running): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  await child.finished.catch(() => {});
}

/** A streampy-mq on JetStream; nodes with the same prefix serve the same queues. */
async function natsNode(prefix: string): Promise<string> {
  const node = start(MQ_CLI, ['--address', '127.0.0.1:0', '--nats', nats!.url, '--nats-prefix', prefix, '--max-deliveries', '65535', '--log-level', 'warn']);
  cleanups.push(() => stop(node));
  const match = await waitFor(
    () => {
      if (node.process.exitCode !== null) throw new Error(`streampy-mq --nats exited (${node.process.exitCode}): ${node.stderr()}`);
      return LISTENING.exec(node.stdout());
    },
    { timeoutMs: 60_000, what: 'streampy-mq --nats to listen' },
  );
  return match[1]!;
}

const proxies: FaultProxy[] = [];
async function proxy(target: string, seed: number): Promise<string> {
  const created = await createFaultProxy({ target, seed, toTarget: faults, toClient: faults });
  proxies.push(created);
  cleanups.push(async () => {
    proxies.splice(proxies.indexOf(created), 1);
    await created.close();
  });
  return formatHostPort(created.address);
}

/** The faults happened on this test's links: otherwise 0 lost and 0 duplicated would prove nothing. */
function expectFaults(): void {
  const total = (count: 'dropped' | 'duplicated' | 'reordered'): number => proxies.reduce((sum, p) => sum + p.stats().toTarget[count] + p.stats().toClient[count], 0);
  expect(total('dropped')).toBeGreaterThan(0);
  expect(total('duplicated')).toBeGreaterThan(0);
  expect(total('reordered')).toBeGreaterThan(0);
}

// A lease must outlast a request's whole retry budget (timeout x 4 attempts + backoff, ~0.75 s here):
// else a RESERVE answered late, after its lease ended, hands out a second copy of a message
// (the node refuses its ACK, but the copy was read). Lost acks come back when the lease ends;
// settling waits for the nodes' STATS to show nothing held.
const lossy = { timeoutMs: 150, leaseMs: 2000, settleMs: 4000, tailMs: 500, deadlineMs: 150_000 } as const;

describe.skipIf(missing !== undefined)('streampy-check through JetStream-backed nodes', { timeout: 200_000 }, () => {
  it('exactly-once holds putting through one node and draining through another, both behind lossy proxies', async () => {
    const [a, b] = [await natsNode('CHAOSAB'), await natsNode('CHAOSAB')];
    const report = await runCheck({ source: await proxy(a, 21), sink: await proxy(b, 22), messages: 400, ...lossy });
    console.log(`chaos on JetStream, put via one node, drained via the other: ${JSON.stringify(report)}`);
    expect(report).toMatchObject({ sent: 400, unique: 400, lost: 0, duplicated: 0, corrupted: 0, foreign: 0, timedOut: false });
    expect(judge('exactly-once', report).held).toBe(true);
    expectFaults();
  });

  it('exactly-once holds through a passthrough worker between two JetStream-backed nodes, every link lossy', async () => {
    const source = await natsNode('CHAOSSRC');
    const sink = await natsNode('CHAOSSNK');
    const worker = createWorker({
      inputs: [await proxy(source, 31)],
      outputs: [await proxy(sink, 32)],
      fn: (message: string) => message,
      guarantee: 'exactly-once',
      leaseMs: lossy.leaseMs,
      timeoutMs: lossy.timeoutMs,
    });
    await worker.start();
    cleanups.push(() => worker.stop());
    const report = await runCheck({ source: await proxy(source, 33), sink: await proxy(sink, 34), messages: 300, ...lossy });
    console.log(`chaos on JetStream through a worker: ${JSON.stringify(report)}`);
    expect(report).toMatchObject({ sent: 300, unique: 300, lost: 0, duplicated: 0, corrupted: 0, timedOut: false });
    expect(judge('exactly-once', report).held).toBe(true);
    expectFaults();
  });

  it('streampy-proxy and streampy-check as processes: --expect exactly-once exits 0 with the verdict HELD', async () => {
    const node = await natsNode('CHAOSCLI');
    const proxyProcess = start(chaosCli('proxy-cli.js'), ['--target', node, '--drop', '0.2', '--dup', '0.1', '--reorder', '0.1', '--seed', '41', '--log-level', 'warn']);
    cleanups.push(() => stop(proxyProcess));
    const listen = await waitFor(() => /^streampy-proxy listening on (\S+) -> /m.exec(proxyProcess.stdout()), { what: 'the proxy to listen' });
    const address = listen[1]!;
    const check = start(chaosCli('check-cli.js'), [
      '--source', address, '--sink', address, '--messages', '200', '--timeout-ms', String(lossy.timeoutMs), '--lease-ms', String(lossy.leaseMs), '--tail-ms', '500', '--expect', 'exactly-once', '--json',
    ]);
    const finished = await check.finished;
    const report = JSON.parse(finished.stdout.trim().split('\n')[0] ?? '{}') as Record<string, unknown>;
    expect(report).toMatchObject({ sent: 200, unique: 200, lost: 0, duplicated: 0, verdict: { held: true } });
    expect(finished.code).toBe(0);
  });
});
