import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueClient } from '@streampy/client';
import type { QueueNode } from '@streampy/mq';
import { waitFor } from '@streampy/testing';
import { addressOf, connect, drain, runWorkerCli, spawnWorker, startListener, startNode, type SpawnedWorker } from './helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ mq: QueueNode; queue: QueueClient }> {
  const mq = await startNode({ maxDeliveries: 10 });
  cleanups.push(() => mq.close());
  const queue = await connect(mq);
  cleanups.push(() => queue.close());
  return { mq, queue };
}

function spawned(args: string[]): SpawnedWorker {
  const worker = spawnWorker(args);
  cleanups.push(async () => {
    worker.kill('SIGKILL');
    await worker.exited;
  });
  return worker;
}

/** EXTENDs the node accepted on queue `in` (a counter newer nodes report beside the codec's QueueStats). */
function extendsOf(mq: QueueNode): number {
  const queue: object | undefined = mq.stats().queues.in;
  return queue !== undefined && 'extends' in queue && typeof queue.extends === 'number' ? queue.extends : 0;
}

function running(worker: SpawnedWorker): Promise<string> {
  return waitFor(() => {
    if (worker.child.exitCode !== null) throw new Error(`worker exited early: ${worker.stderr()}`);
    return /^.*running: .*\n/m.exec(worker.stdout())?.[0];
  }, { what: 'the running line' });
}

describe('streampy-worker CLI', () => {
  it('--help and --version exit 0; usage errors exit 2 with one line on stderr', async () => {
    const help = await runWorkerCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: streampy-worker/);
    const version = await runWorkerCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    for (const args of [['--bogus'], ['127.0.0.1:1'], ['nowhere', '127.0.0.1:1'], ['127.0.0.1:1', '127.0.0.1:2', '--function', 'nope'], ['127.0.0.1:1', '127.0.0.1:2', '--guarantee', 'twice'], ['127.0.0.1:1', '127.0.0.1:2', '--input-id', 'a', '--input-id', 'b']]) {
      const result = await runWorkerCli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.split('\n')[0]).toMatch(/^streampy-worker: /);
    }
  });

  // Stopped two ways: the IPC stop message (every OS), and SIGTERM (where signals exist).
  it('plays pong in the prototype form; the IPC stop message mid-game exits 0 with a summary and the ball is not lost', () => pongThenStop('message'));
  it.skipIf(process.platform === 'win32')('plays pong in the prototype form; SIGTERM mid-game exits 0 with a summary and the ball is not lost', () => pongThenStop('SIGTERM'));

  async function pongThenStop(how: 'message' | 'SIGTERM'): Promise<void> {
    const { mq, queue } = await setup();
    const logDir = mkdtempSync(join(tmpdir(), 'streampy-worker-logs-'));
    cleanups.push(() => Promise.resolve(rmSync(logDir, { recursive: true, force: true })));
    await queue.put('ping');
    const address = addressOf(mq);
    const worker = spawned([address, address, '--log-dir', logDir, '--log-level', 'info', '--log-format', 'json']);
    expect(await running(worker)).toBe(`streampy-worker pong running: ${address} -> ${address} (at-least-once)\n`);
    await waitFor(() => (mq.stats().queues.default?.acks ?? 0) >= 200, { what: 'the game to run' });
    if (how === 'message') worker.stop();
    else worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.stdout()).toMatch(/streampy-worker pong stopped: processed=\d+ rejected=0 /);
    expect(await queue.size()).toBe(1);
    expect(mq.stats().queues.default?.leased).toBe(0);
    const [host, port] = [mq.address.host, mq.address.port];
    expect(readdirSync(logDir).some((file) => file.startsWith(`pong.${host}-${port}.${host}-${port}.`))).toBe(true);
    expect(worker.stderr()).toContain(`"event":"stopping","reason":"${how}"`);
  }

  it('a stop that cannot finish (its queue node is gone) ends at --stop-timeout-ms with exit 1', async () => {
    const mq = await startNode();
    let closed = false;
    cleanups.push(() => (closed ? Promise.resolve() : mq.close()));
    const queue = await connect(mq);
    cleanups.push(() => queue.close());
    await queue.put('ping');
    const address = addressOf(mq);
    const worker = spawned([address, address, '--stop-timeout-ms', '1000', '--timeout-ms', '100', '--log-level', 'warn']);
    await running(worker);
    await waitFor(async () => {
      const { queues } = await queue.stats();
      return (queues.default?.puts ?? 0) > 10;
    }, { what: 'pong rounds' });
    await mq.close();
    closed = true;
    worker.stop();
    expect(await worker.exited).toBe(1);
    expect(worker.stderr()).toMatch(/stop deadline passed/);
  });

  it('at-least-once: a worker killed (SIGKILL) mid-message loses nothing, the message is redelivered after its lease', async () => {
    const { mq, queue } = await setup();
    await queue.put('block', { queue: 'in' });
    const worker = spawned([
      '--input-address', addressOf(mq, 'in'),
      '--output-address', addressOf(mq, 'out'),
      '--function', './test/fixtures/blocker.mjs',
      '--guarantee', 'at-least-once',
      '--lease-ms', '300',
    ]);
    await running(worker);
    await waitFor(() => worker.stderr().includes('BLOCKING on block'), { what: 'the function to block' });
    // The live worker keeps extending its lease: three accepted EXTENDs outlast the 300 ms lease
    // (it extends once half of it has passed), and it is still held, never redelivered.
    await waitFor(() => extendsOf(mq) >= 3, { what: 'three lease extensions' });
    expect(mq.stats().queues.in).toMatchObject({ size: 0, leased: 1, redeliveries: 0 });
    worker.kill('SIGKILL');
    expect(await worker.exited).toBe('SIGKILL');
    await waitFor(() => mq.stats().queues.in?.size === 1, { what: 'the lease to expire' });
    const [delivery] = await queue.reserve({ queue: 'in' });
    expect(Buffer.from(delivery?.body ?? []).toString()).toBe('block');
    expect(delivery?.deliveries).toBe(2);
    expect(await queue.size({ queue: 'out' })).toBe(0);
  });

  it('runs a user module function (--function ./module.mjs --export NAME) routing pairs to several outputs', async () => {
    const { mq, queue } = await setup();
    await queue.put('a,b,c', { queue: 'in' });
    const worker = spawned([
      '--input-address', addressOf(mq, 'in'),
      '--output-address', addressOf(mq, 'x'),
      '--output-address', addressOf(mq, 'y'),
      '--function', './test/fixtures/functions.mjs',
      '--export', 'split',
    ]);
    expect(await running(worker)).toMatch(/^streampy-worker split running: /);
    await waitFor(async () => (await queue.size({ queue: 'x' })) === 2 && (await queue.size({ queue: 'y' })) === 1, { what: 'three results' });
    expect(await drain(queue, 'x')).toEqual(['a', 'c']);
    expect(await drain(queue, 'y')).toEqual(['b']);
  });

  it('sends raw payloads to a plain UDP listener with --output-type socket', async () => {
    const { mq, queue } = await setup();
    const listener = await startListener();
    cleanups.push(() => listener.close());
    await queue.put('stressed');
    const worker = spawned([addressOf(mq), listener.address, '--function', './test/fixtures/default-fn.mjs', '--output-type', 'socket', '--json']);
    await waitFor(() => worker.stdout().includes('"event":"running"'), { what: 'the ready line' });
    await waitFor(() => listener.received.length === 1, { what: 'the payload' });
    expect(listener.received).toEqual(['desserts']);
  });
});
