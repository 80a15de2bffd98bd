import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createQueueNode, type QueueNode } from '@streampy/mq';
import { createLogger, formatHostPort } from '@streampy/runtime';
import { waitFor } from '@streampy/testing';
import { createWorker } from '@streampy/worker';
import { createFaultProxy, judge, runCheck } from '../src/index.js';

/*
 * The fault proxy in front of nodes that want signatures (issue 8, point 3): it forwards
 * datagrams as they are and needs no key. Its duplicates are refused by the node as replays,
 * its corruptions fail their MAC, and the checker's verdicts still hold.
 */

const dir = mkdtempSync(join(tmpdir(), 'streampy-chaos-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KEYS = join(dir, 'keys');
writeFileSync(KEYS, `c1 ${'e7'.repeat(32)}\n`, { mode: 0o600 });

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const quiet = createLogger({ name: 'test', level: 'error' });

async function signedNode(): Promise<QueueNode> {
  const node = await createQueueNode({ address: '127.0.0.1:0', logger: quiet, maxDeliveries: 1000, auth: KEYS });
  cleanups.push(() => node.close());
  return node;
}

const faults = { drop: 0.15, duplicate: 0.2, reorder: 0.1, corrupt: 0.05, delayMs: [0, 2] as [number, number] };

describe('the fault proxy in front of a node with a key', () => {
  it('needs no key: exactly-once holds through drops, duplicates, reordering and corruption, and the node refuses the duplicates', async () => {
    const queue = await signedNode();
    const proxy = await createFaultProxy({ target: queue.address, seed: 8, toTarget: faults, toClient: faults });
    cleanups.push(() => proxy.close());
    const report = await runCheck({ source: proxy.address, sink: proxy.address, messages: 400, auth: KEYS, timeoutMs: 100, leaseMs: 1000, settleMs: 2500, tailMs: 300 });
    expect(report).toMatchObject({ sent: 400, unique: 400, lost: 0, duplicated: 0, corrupted: 0, timedOut: false });
    expect(judge('exactly-once', report).held).toBe(true);
    const { toTarget } = proxy.stats();
    expect(toTarget.duplicated).toBeGreaterThan(0);
    expect(toTarget.corrupted).toBeGreaterThan(0);
    const { authFailures } = queue.stats();
    // Every duplicate that reached the node was refused as a replay; every corruption failed (mostly its MAC).
    expect(authFailures.replayed).toBeGreaterThan(0);
    expect(authFailures.badMac + authFailures.unsigned + authFailures.unknownKey + authFailures.stale).toBeGreaterThan(0);
  });

  it('carries a worker between two signed nodes: exactly-once end to end', async () => {
    const source = await signedNode();
    const sink = await signedNode();
    const proxyIn = await createFaultProxy({ target: source.address, seed: 9, toTarget: faults, toClient: faults });
    const proxyOut = await createFaultProxy({ target: sink.address, seed: 10, toTarget: faults, toClient: faults });
    cleanups.push(() => proxyIn.close(), () => proxyOut.close());
    const worker = createWorker({
      inputs: [formatHostPort(proxyIn.address)],
      outputs: [formatHostPort(proxyOut.address)],
      fn: (message: string) => message,
      guarantee: 'exactly-once',
      leaseMs: 1000,
      timeoutMs: 100,
      auth: KEYS,
    });
    await worker.start();
    cleanups.push(() => worker.stop());
    const report = await runCheck({ source: source.address, sink: sink.address, messages: 300, auth: KEYS, settleMs: 3000, tailMs: 500 });
    expect(judge('exactly-once', report)).toMatchObject({ held: true });
    expect(report).toMatchObject({ sent: 300, unique: 300, lost: 0, duplicated: 0 });
    expect(source.stats().authFailures.replayed + sink.stats().authFailures.replayed).toBeGreaterThan(0);
  });
});

describe('streampy-proxy and streampy-check --auth-key-file as processes', () => {
  it('check through the proxy process judges exactly-once HELD', async () => {
    const queue = await signedNode();
    const cli = (file: string): string => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));
    const proxy = spawn(process.execPath, [cli('proxy-cli.js'), '--target', formatHostPort(queue.address), '--drop', '0.1', '--dup', '0.2', '--seed', '4', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(async () => {
      if (proxy.exitCode === null && proxy.signalCode === null) proxy.kill('SIGKILL');
      await new Promise((resolve) => (proxy.exitCode !== null || proxy.signalCode !== null ? resolve(undefined) : proxy.once('close', resolve)));
    });
    const lines: string[] = [];
    createInterface({ input: proxy.stdout }).on('line', (line) => lines.push(line));
    const listening = await waitFor(() => /^streampy-proxy listening on (\S+) -> /.exec(lines[0] ?? '')?.[1], { what: 'the proxy' });
    const check = spawn(process.execPath, [cli('check-cli.js'), '--source', listening, '--sink', listening, '--messages', '200', '--timeout-ms', '100', '--tail-ms', '300', '--auth-key-file', KEYS, '--expect', 'exactly-once', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    check.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    check.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => check.once('close', resolve));
    expect(code, err).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ sent: 200, unique: 200, lost: 0, duplicated: 0, verdict: { held: true } });
    expect(queue.stats().authFailures.replayed).toBeGreaterThan(0);
  });
});
