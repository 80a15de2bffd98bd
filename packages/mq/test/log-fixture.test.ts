import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogEngine } from '../src/storage/log.js';
import { scanSegment } from '../src/storage/log/format.js';
import { captureLogger } from './fixtures/log-helpers.js';

/** A data dir written by the 0.1 release's engine (format 1), by scripts/write-log-fixture.mjs. */
const FIXTURE = fileURLToPath(new URL('./fixtures/log-v0.1/', import.meta.url));

interface ExpectedQueue {
  readonly segments: string[];
  readonly messages: { seq: number; enqueuedAt: number; key?: string; body: string }[];
  readonly keys: Record<string, number>;
  readonly maxSeqWritten: number;
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function copyOfFixture(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'streampy-fixture-'));
  dirs.push(dir);
  await cp(FIXTURE, dir, { recursive: true });
  return dir;
}

async function expected(): Promise<Record<string, ExpectedQueue>> {
  return JSON.parse(await readFile(join(FIXTURE, 'expected.json'), 'utf8')) as Record<string, ExpectedQueue>;
}

function asStored(message: ExpectedQueue['messages'][number]): object {
  const base = { seq: message.seq, enqueuedAt: message.enqueuedAt, body: new Uint8Array(Buffer.from(message.body, 'base64')) };
  return message.key === undefined ? base : { ...base, key: message.key };
}

describe('a data dir written by the 0.1 release', () => {
  it('holds what the fixture says it does', async () => {
    const queues = await expected();
    expect(Object.keys(queues).sort()).toEqual(['dead', 'default', 'jobs']);
    for (const [name, queue] of Object.entries(queues)) {
      const files = (await readdir(join(FIXTURE, name))).sort();
      expect(files).toEqual(queue.segments);
    }
    expect(queues.jobs?.segments.length).toBeGreaterThan(2);
    expect(queues.default?.messages.some((m) => m.key !== undefined)).toBe(true);
  });

  it('recovers to exactly the messages, keys and ids it held, and keeps working', async () => {
    const dir = await copyOfFixture();
    for (const [name, queue] of Object.entries(await expected())) {
      const engine = createLogEngine({ dir: join(dir, name), fsync: 'always', segmentBytes: 512 });
      const state = await engine.open();
      expect(state.messages).toEqual(queue.messages.map(asStored));
      expect(Object.fromEntries(state.keys)).toEqual(queue.keys);
      expect(state.nextSeq).toBeGreaterThan(queue.maxSeqWritten);
      // New records go on from there, and the old and new records recover together.
      const added = { seq: state.nextSeq, enqueuedAt: 1_800_000_000_000, key: `new-${name}`, body: new Uint8Array([1, 2, 3]) };
      engine.append(added);
      const first = state.messages[0];
      if (first !== undefined) engine.remove(first.seq);
      await engine.close();
      const again = createLogEngine({ dir: join(dir, name), fsync: 'always', segmentBytes: 512 });
      const after = await again.open();
      expect(after.messages).toEqual([...queue.messages.slice(1).map(asStored), added]);
      expect(after.keys.get(`new-${name}`)).toBe(added.enqueuedAt);
      await again.close();
    }
  });

  it('damage in a 0.1 segment is contained to that segment and reported', async () => {
    const dir = await copyOfFixture();
    const queue = (await expected()).jobs!;
    const victim = join(dir, 'jobs', queue.segments[1]!);
    const bytes = await readFile(victim);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x55;
    await writeFile(victim, bytes);
    const { lines, logger } = captureLogger();
    const engine = createLogEngine({ dir: join(dir, 'jobs'), fsync: 'never', logger });
    const state = await engine.open();
    // Format 1 has no record boundaries to find again: the rest of that segment is lost, no more.
    // Every message appended in another segment is still served.
    const inVictim = new Set<number>();
    scanSegment(await readFile(join(FIXTURE, 'jobs', queue.segments[1]!)), 3, (record) => {
      if (record.type === 'append') inVictim.add(record.message.seq);
    });
    const elsewhere = queue.messages.filter((m) => !inVictim.has(m.seq)).map(asStored);
    expect(elsewhere.length).toBeGreaterThan(5);
    expect(state.messages).toEqual(expect.arrayContaining(elsewhere));
    expect(state.messages.length).toBeLessThan(queue.messages.length);
    expect(lines.filter((line) => line.level === 'error').map((line) => line.fields.file)).toEqual([victim]);
    expect(engine.stats().damagedSegments).toBe(1);
    await engine.close();
  });
});
