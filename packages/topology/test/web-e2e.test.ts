import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createClient, type QueueClient } from '@streampy/client';
import { isAlive, waitFor } from '@streampy/testing';
import type { TopologySnapshot } from '../src/snapshot.js';
import { haveChromium, launchChromium, type PageGlobals } from './web-fixtures.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const SHOWN = { timeout: 20_000 };

const TOPOLOGY = `# source -> split (2 replicas) -> sink
queues:
  source: {}
  sink: {}
workers:
  split:
    function: words
    inputs: [source]
    outputs: [sink]
    guarantee: at-least-once
    replicas: 2
`;

interface Ready {
  readonly web: string;
  readonly queues: Record<string, { readonly address: string; readonly pid: number }>;
  readonly workers: Record<string, readonly { readonly pid: number }[]>;
}

/** `streampy-run FILE --web 127.0.0.1:0 --json` as a real process, and its `ready` line. */
async function run(file: string, cwd: string): Promise<{ runner: ChildProcess; ready: Ready; output: () => string }> {
  const runner = spawn(process.execPath, [CLI, file, '--web', '127.0.0.1:0', '--json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  runner.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  runner.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr.slice(-4000)}`;
  const line = await waitFor(
    () => {
      if (runner.exitCode !== null) throw new Error(`streampy-run exited with ${runner.exitCode}\n${output()}`);
      return stdout.split('\n').find((l) => l.startsWith('{"event":"ready"'));
    },
    { timeoutMs: 30_000, intervalMs: 50, what: 'the ready line' },
  );
  return { runner, ready: JSON.parse(line) as Ready, output };
}

/**
 * Every status the page showed for one replica, in order, recorded in the page itself (a
 * MutationObserver), so a state that lasts a single snapshot is not missed between two polls.
 */
async function recordStatuses(page: Page, worker: string, replica: number): Promise<void> {
  await page.evaluate(
    ([name, index]) => {
      const page = globalThis as unknown as PageGlobals;
      const read = () => page.document.querySelector(`[data-node="${name}"] .replica[data-replica="${index}"]`)?.getAttribute('data-status') ?? null;
      const seen = [read()];
      page.__statuses = seen;
      const graph = page.document.getElementById('graph');
      if (!graph) throw new Error('no graph');
      new page.MutationObserver(() => {
        const now = read();
        if (now !== seen[seen.length - 1]) seen.push(now);
      }).observe(graph, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
    },
    [worker, replica] as const,
  );
}

/** Waits until the rate label of every edge in `ids` passes `test`. */
async function waitForRates(page: Page, ids: readonly string[], want: 'flowing' | 'idle'): Promise<void> {
  await page.waitForFunction(
    ([edges, state]) =>
      edges.every((id) => {
        const text = (globalThis as unknown as PageGlobals).document.querySelector(`.edge-label[data-edge="${id}"] .edge-rate`)?.textContent;
        return state === 'idle' ? text === '0 msg/s' : text !== undefined && text !== null && text !== '0 msg/s';
      }),
    [ids, want] as const,
    SHOWN,
  );
}

describe.skipIf(!haveChromium)('streampy-run --web in Chromium (a real topology)', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    browser = await launchChromium();
    dir = await mkdtemp(join(tmpdir(), 'streampy-web-e2e-'));
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows every node, rates that change while messages flow, and a killed worker restarting then running', async () => {
    const file = join(dir, 'word-count.yaml');
    await writeFile(file, TOPOLOGY);
    const { runner, ready, output } = await run(file, dir);
    const pids = new Set<number>([...Object.values(ready.queues).map((q) => q.pid), ...Object.values(ready.workers).flatMap((w) => w.map((r) => r.pid))]);
    let client: QueueClient | undefined;
    let feeding = false;
    let feeder: Promise<void> | undefined;
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      expect(ready.web).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      await page.goto(ready.web);
      for (const name of ['source', 'sink']) await page.locator(`[data-kind="queue"][data-node="${name}"]`).waitFor(SHOWN);
      await page.locator('[data-kind="worker"][data-node="split"] .replica[data-replica="1"]').waitFor(SHOWN);
      const rate = page.locator('.edge-label[data-edge="split->sink"] .edge-rate');
      expect(await rate.textContent()).toBe('0 msg/s');

      // Messages flow: the rates on both edges leave 0.
      client = await createClient({ address: ready.queues['source']?.address ?? '' });
      const feed = client;
      feeding = true;
      feeder = (async () => {
        for (let round = 0; feeding && round < 10_000; round++) {
          await feed.putMany(Array.from({ length: 10 }, (_, i) => `round ${round} line ${i} of the quick brown fox`));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      await waitForRates(page, ['source->split', 'split->sink'], 'flowing');
      const flowing = Number.parseFloat((await rate.textContent()) ?? '');
      expect(flowing).toBeGreaterThan(0);

      // kill -9 one replica: the page shows it restarting, then running with a new pid.
      const victim = ready.workers['split']?.[0]?.pid;
      if (victim === undefined) throw new Error('no split replica in the ready line');
      await recordStatuses(page, 'split', 0);
      process.kill(victim, 'SIGKILL');
      await page.waitForFunction(
        () => {
          const seen = (globalThis as unknown as PageGlobals).__statuses ?? [];
          const restarting = seen.indexOf('restarting');
          return restarting >= 0 && seen.lastIndexOf('running') > restarting;
        },
        undefined,
        SHOWN,
      );
      const replica = page.locator('[data-node="split"] .replica[data-replica="0"]');
      expect(await replica.getAttribute('data-status')).toBe('running');
      expect(await replica.locator('.replica-pid').textContent()).not.toBe(`pid ${victim}`);
      expect(await replica.locator('.replica-restarts').textContent()).toBe('↻ 1');
      await page.locator('#events .event .text', { hasText: 'split' }).first().waitFor(SHOWN);

      // The feed stops: the rates go back to 0.
      feeding = false;
      await feeder;
      await waitForRates(page, ['source->split', 'split->sink'], 'idle');

      const snapshot = (await (await fetch(new URL('snapshot', ready.web))).json()) as TopologySnapshot;
      for (const r of snapshot.workers.flatMap((w) => w.replicas)) if (r.pid !== null) pids.add(r.pid);
      expect(snapshot.workers[0]?.replicas[0]?.restarts).toBe(1);
    } catch (error) {
      // What the page saw and what the runner says, so a failure here explains itself.
      const seen = await page.evaluate(() => (globalThis as unknown as PageGlobals).__statuses ?? null).catch(() => null);
      const now = await fetch(new URL('snapshot', ready.web)).then((r) => r.text()).catch((e: unknown) => String(e));
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nstatuses seen: ${JSON.stringify(seen)}\nsnapshot: ${now}\n${output()}`, { cause: error });
    } finally {
      feeding = false;
      await feeder?.catch(() => undefined);
      await client?.close();
      await page.close();
      // Stop the runner as a user would; it stops its children. Then make sure nothing is left.
      const exited = () => runner.exitCode !== null || runner.signalCode !== null;
      if (!exited()) {
        runner.kill('SIGTERM');
        await waitFor(exited, { timeoutMs: 30_000, intervalMs: 50, what: 'streampy-run to stop' }).catch(() => runner.kill('SIGKILL'));
      }
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
