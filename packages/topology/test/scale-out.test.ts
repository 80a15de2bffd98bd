import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsServerMissing, startNats, type NatsHandle } from '@streampy/testing';
import { isAlive, jsonLines, killLeftovers, run, topologyFile } from './processes.js';

/*
 * examples/scale-out.yaml against a real nats-server: two queue nodes in front of one JetStream
 * stream, a worker on each. The example names nats://127.0.0.1:4222 (what its comment tells people
 * to start); the test runs the same file pointed at a server on a free port.
 */

const missing = natsServerMissing();
if (missing) console.warn(`scale-out example tests skipped: ${missing}`);

const EXAMPLE = readFileSync(new URL('../../../examples/scale-out.yaml', import.meta.url), 'utf8');
const EXAMPLE_URL = 'nats://127.0.0.1:4222';

let nats: NatsHandle | undefined;
beforeAll(async () => {
  if (!missing) nats = await startNats();
}, 60_000);
afterAll(async () => nats?.stop());
afterEach(() => killLeftovers());

interface Summary {
  check: { source: string; sink: string; promised: string; held: boolean; messages: number; sent: number; lost: number; duplicated: number; corrupted: number };
  queues: Record<string, { puts: number; ready: number; leased: number }>;
  workers: Record<string, readonly { processed: number }[]>;
  pids: number[];
}

describe.skipIf(missing !== undefined)('examples/scale-out.yaml on a real nats-server', { timeout: 150_000 }, () => {
  it('names the url its comment says to start, and both queues share it', () => {
    expect(EXAMPLE.split(EXAMPLE_URL).length - 1).toBe(2);
  });

  it('--check 2000 through front-a: 0 lost, 0 duplicated, and the workers on both nodes took messages', async () => {
    const file = topologyFile(EXAMPLE.replaceAll(EXAMPLE_URL, nats!.url), 'scale-out.yaml');
    const finished = await run([file, '--check', '2000', '--check-source', 'front-a', '--json'], 140_000).finished;
    expect(finished.code, finished.stderr.slice(-2000)).toBe(0);
    const summary = jsonLines(finished.stdout).get('summary') as unknown as Summary;
    expect(summary.check).toMatchObject({ source: 'front-a', sink: 'done', promised: 'exactly-once', held: true, messages: 2000, sent: 2000, lost: 0, duplicated: 0, corrupted: 0 });
    // Every message went in through front-a; work-b reads front-b only, so what it processed came through the shared stream.
    const processed = (worker: string): number => (summary.workers[worker] ?? []).reduce((sum, replica) => sum + replica.processed, 0);
    console.log(`scale-out --check 2000: work-a processed ${processed('work-a')}, work-b ${processed('work-b')}; front-a puts ${summary.queues['front-a']?.puts}, front-b puts ${summary.queues['front-b']?.puts}`);
    expect(processed('work-a')).toBeGreaterThan(0);
    expect(processed('work-b')).toBeGreaterThan(0);
    expect(summary.queues['front-b']?.puts).toBe(0);
    // Nothing left in the shared stream, as either node reads it.
    for (const front of ['front-a', 'front-b']) expect(summary.queues[front]).toMatchObject({ ready: 0, leased: 0 });
    expect(summary.pids.filter(isAlive)).toEqual([]);
  });
});
