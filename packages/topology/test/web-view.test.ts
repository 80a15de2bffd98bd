import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { TopologySnapshot } from '../src/snapshot.js';
import { startWebView, type WebView } from '../src/web/server.js';
import { ScriptedSource, haveChromium, launchChromium, wordCount, type PageGlobals } from './web-fixtures.js';

/** The one browser global these tests read (the package type-checks without the DOM library). */
interface StyleWindow {
  getComputedStyle(element: unknown): { readonly stroke: string };
}

/** Bounded waits for things the page must show: generous, since the machine is shared, never a speed claim. */
const SHOWN = { timeout: 10_000 };

describe.skipIf(!haveChromium)('the web view in Chromium (scripted source)', () => {
  let browser: Browser;
  let view: WebView | undefined;
  let page: Page | undefined;
  const outside: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await page?.close();
    await view?.close();
    page = undefined;
    view = undefined;
  });

  async function open(source: ScriptedSource): Promise<Page> {
    view = await startWebView({ address: '127.0.0.1:0', source });
    const origin = new URL(view.url).origin;
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    outside.length = 0;
    problems.length = 0;
    page.on('request', (r) => {
      if (new URL(r.url()).origin !== origin) outside.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(view.url);
    await page.locator('body[data-updates]').waitFor(SHOWN);
    return page;
  }

  const rateOf = (p: Page, id: string) => p.locator(`.edge-label[data-edge="${id}"] .edge-rate`);

  it('draws every queue and worker, each edge with its rate, and loads nothing from elsewhere', async () => {
    const snapshot = wordCount();
    const p = await open(new ScriptedSource(snapshot));
    for (const q of snapshot.queues) await expect.poll(() => p.locator(`[data-kind="queue"][data-node="${q.name}"]`).count()).toBe(1);
    for (const w of snapshot.workers) await expect.poll(() => p.locator(`[data-kind="worker"][data-node="${w.name}"]`).count()).toBe(1);
    expect(await p.locator('.node').count()).toBe(snapshot.queues.length + snapshot.workers.length);
    for (const e of snapshot.edges) expect(await p.locator(`.edge[data-edge="${e.id}"] path.line`).count()).toBe(1);
    expect(await rateOf(p, 'source->split').textContent()).toBe('398 msg/s');
    expect(await p.locator('.edge-label[data-edge="split->counts"] .edge-fault').textContent()).toBe('⚡ drop 2% · dup 5%');
    expect(await p.locator('[data-node="source"] [data-field="dead"]').textContent()).toBe('7');
    expect(await p.locator('[data-node="source"] [data-field="ready"]').textContent()).toBe('1840');
    expect(await p.locator('#topology-name').textContent()).toBe('word-count');
    expect(await p.locator('#events .event').count()).toBe(snapshot.events.length);
    expect(await p.locator('#connection').textContent()).toBe('live');
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('changes an edge\'s rate text and width when the source\'s rates change', async () => {
    const source = new ScriptedSource(wordCount());
    const p = await open(source);
    const before = await p.locator('.edge[data-edge="source->split"] path.line').getAttribute('stroke-width');
    source.publish(wordCount(0.01));
    await p.waitForFunction(
      () => (globalThis as unknown as PageGlobals).document.querySelector('.edge-label[data-edge="source->split"] .edge-rate')?.textContent === '4.0 msg/s',
      undefined,
      SHOWN,
    );
    const after = await p.locator('.edge[data-edge="source->split"] path.line').getAttribute('stroke-width');
    expect(Number(after)).toBeLessThan(Number(before));
    source.publish(wordCount(0));
    await p.locator('.edge.idle[data-edge="source->split"]').waitFor({ ...SHOWN, state: 'attached' });
    expect(await rateOf(p, 'source->split').textContent()).toBe('0 msg/s');
  });

  it('shows a replica and a queue that are restarting, and running again', async () => {
    const source = new ScriptedSource(wordCount());
    const p = await open(source);
    const base = wordCount();
    const split = base.workers[0];
    const counts = base.queues[1];
    if (!split || !counts) throw new Error('fixture changed');
    const restarting: TopologySnapshot = {
      ...base,
      queues: base.queues.map((q) => (q === counts ? { ...q, status: 'restarting', pid: null, restarts: 1 } : q)),
      workers: base.workers.map((w) =>
        w === split ? { ...w, replicas: w.replicas.map((r, i) => (i === 0 ? { ...r, status: 'restarting', pid: null, restarts: 1 } : r)) } : w,
      ),
    };
    source.publish(restarting);
    const replica = p.locator('[data-node="split"] .replica[data-replica="0"]');
    await p.locator('[data-node="split"] .replica[data-replica="0"][data-status="restarting"]').waitFor(SHOWN);
    expect(await replica.locator('.replica-status').textContent()).toBe('restarting');
    expect(await replica.locator('.replica-pid').textContent()).toBe('pid —');
    expect(await p.locator('[data-node="split"]').getAttribute('class')).toContain('status-restarting');
    expect(await p.locator('[data-node="split"] .pill-text').textContent()).toBe('restarting');
    // The other replica still says running.
    expect(await p.locator('[data-node="split"] .replica[data-replica="1"] .replica-status').textContent()).toBe('running');
    const queueNode = p.locator('[data-kind="queue"][data-node="counts"]');
    expect(await queueNode.getAttribute('data-status')).toBe('restarting');
    expect(await queueNode.locator('.pill-text').textContent()).toBe('restarting');
    // Colour, not only text: the restarting box has the amber border.
    const stroke = await queueNode.locator('.box').evaluate((box) => (globalThis as unknown as StyleWindow).getComputedStyle(box).stroke);
    expect(stroke).toBe('rgb(217, 119, 6)');

    source.publish(wordCount());
    await p.locator('[data-node="split"] .replica[data-replica="0"][data-status="running"]').waitFor(SHOWN);
    expect(await p.locator('[data-node="split"] .pill-text').textContent()).toBe('2/2 running');
    expect(await queueNode.getAttribute('data-status')).toBe('running');
  });

  it('redraws when the topology changes shape (a replica more) and lists new events first', async () => {
    const source = new ScriptedSource(wordCount());
    const p = await open(source);
    const base = wordCount();
    source.publish({
      ...base,
      workers: base.workers.map((w) =>
        w.name === 'split' ? { ...w, replicas: [...w.replicas, { pid: 4999, status: 'starting', restarts: 0, metrics: null }] } : w,
      ),
      events: [...base.events, { at: base.at, level: 'info', text: 'worker split#2 starting' }],
    });
    await p.locator('[data-node="split"] .replica[data-replica="2"][data-status="starting"]').waitFor(SHOWN);
    expect(await p.locator('#events .event .text').first().textContent()).toBe('worker split#2 starting');
    expect(await p.locator('.node').count()).toBe(4);
  });

  it('starts from an empty topology without errors and draws it when it arrives', async () => {
    const empty: TopologySnapshot = { ...wordCount(), queues: [], workers: [], edges: [], events: [] };
    const source = new ScriptedSource(empty);
    const p = await open(source);
    expect(await p.locator('.node').count()).toBe(0);
    expect(await p.locator('#events .event.empty').count()).toBe(1);
    source.publish(wordCount());
    await p.locator('[data-node="split"]').waitFor(SHOWN);
    expect(await p.locator('.node').count()).toBe(4);
    expect(problems).toEqual([]);
  });
});
