import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKeyFile } from '@streampy/runtime';
import { ManualClock } from '@streampy/testing';
import { createWorker, type WorkerClientOptions } from '../src/index.js';
import { FakeClient } from './fake-client.js';

const KEY = 'c3'.repeat(32);
const dir = mkdtempSync(join(tmpdir(), 'streampy-worker-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
