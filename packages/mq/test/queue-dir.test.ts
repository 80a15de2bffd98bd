import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isQueueName } from '@streampy/codec';
import { safeFileNamePart } from '@streampy/runtime';
import { TestPeer, silentLogger, text } from './udp.js';
import { createQueueNode } from '../src/index.js';
import { queueDirName, queueNameOfDir } from '../src/local/queue-dir.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Windows' rules, the strictest of the three OSes (the same as runtime's safeFileNamePart keeps). */
const safeOnWindows = (name: string): boolean => safeFileNamePart(name) === name;

const NAME_CHARS = 'abcXYZ019_.-';
/** Every queue name of up to 3 characters from a sample of the alphabet, and the device names around them. */
function sampleNames(): string[] {
  const names: string[] = [];
  const grow = (prefix: string): void => {
    if (prefix.length > 0 && isQueueName(prefix)) names.push(prefix);
    if (prefix.length < 3) for (const char of NAME_CHARS) grow(prefix + char);
  };
  grow('');
  for (const device of ['con', 'CON', 'Nul', 'aux', 'prn', 'com1', 'LPT9']) names.push(device, `${device}.`, `${device}.x`, `${device}.x.`, `${device}x`, `${device}_`, `x${device}`);
  return names;
}

describe('queue directory names', () => {
  it('keep the directory every safe name always had, so existing data dirs read as before', () => {
    for (const name of ['default', 'dead', 'jobs', 'Orders', 'a.b', 'v1.2-rc_3', 'console', 'com10', 'x.con', 'a'.repeat(64)]) expect(queueDirName(name)).toBe(name);
  });

  it('escape a trailing dot and a device name, which Windows would not keep', () => {
    expect(queueDirName('jobs.')).toBe('jobs%2E');
    expect(queueDirName('jobs..')).toBe('jobs%2E%2E');
    expect(queueDirName('con')).toBe('%con');
    expect(queueDirName('NUL.log')).toBe('%NUL.log');
    expect(queueDirName('com1.')).toBe('%com1%2E');
  });

  it('are safe on every OS, distinct, and read back to their queue, for every name of a sample', () => {
    const names = sampleNames();
    expect(names.length).toBeGreaterThan(1500);
    const seen = new Set<string>();
    for (const name of names) {
      const dir = queueDirName(name);
      expect(safeOnWindows(dir), `${name} -> ${dir}`).toBe(true);
      expect(queueNameOfDir(dir), dir).toBe(name);
      seen.add(dir);
    }
    expect(seen.size).toBe(new Set(names).size);
  });

  it('read back nothing for a directory no queue would have', () => {
    for (const dir of ['.hidden', '%jobs', 'a%2Eb', '%2E', 'jobs%2e', '%', 'a b', 'x'.repeat(65), 'con%2E']) expect(queueNameOfDir(dir), dir).toBeUndefined();
  });
});

describe('a durable node', () => {
  const QUEUES = [
    ['con', 'to con'],
    ['jobs.', 'to jobs.'],
    ['jobs', 'to jobs'],
    ['old', 'to old'],
  ] as const;

  it('keeps queues named con, jobs. and jobs apart and recovers each from its own directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'streampy-queue-dirs-'));
    dirs.push(dir);
    // A directory from before (a plain name) and a stray entry that is no queue's.
    await mkdir(join(dir, 'old'));
    await mkdir(join(dir, '%stray'));
    const peer = await TestPeer.open();
    try {
      const first = await createQueueNode({ address: '127.0.0.1:0', logger: silentLogger(), dataDir: dir, fsync: 'always' });
      for (const [queue, body] of QUEUES) {
        expect(text(await peer.exchange(first.address, `PUT q=${queue}:${body}`))).toBe(`PUT ${body.length} bytes`);
      }
      await first.close();
      expect((await readdir(dir)).sort()).toEqual(['%con', '%stray', 'dead', 'default', 'jobs', 'jobs%2E', 'old'].sort());

      const second = await createQueueNode({ address: '127.0.0.1:0', logger: silentLogger(), dataDir: dir });
      try {
        expect(Object.keys(second.stats().queues).sort()).toEqual(['con', 'dead', 'default', 'jobs', 'jobs.', 'old']);
        for (const [queue, body] of QUEUES) {
          expect(text(await peer.exchange(second.address, `GET q=${queue}`))).toBe(`MSG:${body}`);
        }
      } finally {
        await second.close();
      }
    } finally {
      await peer.close();
    }
  });
});
