import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createClient } from '@streampy/client';
import type { QueueNode } from '@streampy/mq';
import { parseKeyFile } from '@streampy/runtime';
import { ManualClock, waitFor } from '@streampy/testing';
import { createWorker, type WorkerClientOptions } from '../src/index.js';
import { FakeClient } from './fake-client.js';
import { addressOf, spawnWorker, startNode } from './helpers.js';

const KEY = 'c3'.repeat(32);
const dir = mkdtempSync(join(tmpdir(), 'streampy-worker-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KEYS = join(dir, 'node-keys');
writeFileSync(KEYS, `w1 ${KEY}\n`, { mode: 0o600 });

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function signedNode(): Promise<QueueNode> {
  const node = await startNode({ auth: KEYS });
  cleanups.push(() => node.close());
  return node;
}

/** Authentication failures a node counted (mq's STATS field). */
const failuresOf = (node: QueueNode): number => Object.values(node.stats().authFailures).reduce((sum, n) => sum + n, 0);

describe('a worker with a key', () => {
  it('hands the keys to the client of every node it talks to', async () => {
    const path = join(dir, 'keys');
    writeFileSync(path, `w1 ${KEY}\n`, { mode: 0o600 });
    const clock = new ManualClock(1_764_600_000_000);
    const seen: WorkerClientOptions[] = [];
    const worker = createWorker({
      inputs: ['127.0.0.1:7001'],
      outputs: ['127.0.0.1:7002', '127.0.0.1:7003/out'],
      fn: (m) => m,
      auth: path,
      clock,
      connect: (options) => {
        seen.push(options);
        return Promise.resolve(new FakeClient(clock));
      },
    });
    await worker.start();
    await worker.stop();
    expect(seen.map((options) => options.address.port).sort()).toEqual([7001, 7002, 7003]);
    for (const options of seen) {
      expect(options.auth?.signing.id).toBe('w1');
      expect(Buffer.from(options.auth?.signing.secret ?? []).toString('hex')).toBe(KEY);
    }
    // One keyring, read once, shared by every client.
    expect(new Set(seen.map((options) => options.auth)).size).toBe(1);
  });

  it('refuses a key with the seed protocol, and a key file it cannot use', () => {
    const base = { inputs: ['127.0.0.1:7001'], outputs: ['127.0.0.1:7002'], fn: (m: string) => m };
    expect(() => createWorker({ ...base, protocol: 'seed', auth: parseKeyFile(`w1 ${KEY}\n`) })).toThrow(expect.objectContaining({ code: 'ERR_BAD_OPTION', message: expect.stringMatching(/seed protocol has no authentication/) as unknown }));
    expect(() => createWorker({ ...base, auth: join(dir, 'missing') })).toThrow(expect.objectContaining({ code: 'ERR_KEY_FILE' }));
  });
});

describe('a worker against a node that wants signatures', () => {
  it('plays pong with the key (library), and the node refuses nothing', async () => {
    const node = await signedNode();
    const seeder = await createClient({ address: node.address, auth: KEYS });
    cleanups.push(() => seeder.close());
    await seeder.put('ping');
    const worker = createWorker({ inputs: [addressOf(node)], outputs: [addressOf(node)], fn: (m: string) => (m === 'ping' ? 'pong' : 'ping'), auth: KEYS });
    await worker.start();
    cleanups.push(() => worker.stop());
    await waitFor(() => (node.stats().queues.default?.acks ?? 0) >= 50, { what: '50 rounds' });
    expect(failuresOf(node)).toBe(0);
  });

  it('streampy-worker --auth-key-file plays pong as a process; without the key it gets nowhere and the node counts why', async () => {
    const node = await signedNode();
    const seeder = await createClient({ address: node.address, auth: KEYS });
    cleanups.push(() => seeder.close());
    await seeder.put('ping');
    const address = addressOf(node);
    const worker = spawnWorker([address, address, '--function', 'pong', '--auth-key-file', KEYS, '--log-level', 'warn']);
    cleanups.push(async () => {
      worker.kill('SIGKILL');
      await worker.exited;
    });
    await waitFor(() => (node.stats().queues.default?.acks ?? 0) >= 50, { what: 'the signed game to run' });
    worker.stop();
    expect(await worker.exited).toBe(0);
    expect(failuresOf(node)).toBe(0);
    expect(await seeder.size()).toBe(1);

    const reservesBefore = node.stats().queues.default?.reserves;
    const unsigned = spawnWorker([address, address, '--function', 'pong', '--timeout-ms', '50', '--log-level', 'warn']);
    cleanups.push(async () => {
      unsigned.kill('SIGKILL');
      await unsigned.exited;
    });
    await waitFor(() => node.stats().authFailures.unsigned >= 3, { what: 'the unsigned worker to be refused' });
    expect(node.stats().queues.default?.reserves).toBe(reservesBefore);
    expect(await seeder.size()).toBe(1);
  });
});
