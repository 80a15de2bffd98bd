import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startWebView } from '../src/web/server.js';
import type { TopologySnapshot } from '../src/snapshot.js';
import { ScriptedSource, fanOut, haveChromium, launchChromium, pong, wordCount } from './web-fixtures.js';

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

const overlap = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const inside = (a: Box, outer: Box) => a.x >= outer.x && a.y >= outer.y && a.x + a.width <= outer.x + outer.width && a.y + a.height <= outer.y + outer.height;

/**
 * The picture in the README, checked: at 1280x800 every box and edge label of the word-count pipeline
 * is on screen inside the graph panel, and nothing sits on anything else. With STREAMPY_WEB_SCREENSHOT=FILE
 * the test also saves the screenshot there (`docs/web-view.png` is made this way).
 */
describe.skipIf(!haveChromium)('the web view layout at 1280x800', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  const cases: [string, TopologySnapshot, string | undefined][] = [
    ['the word-count pipeline', wordCount(), process.env['STREAMPY_WEB_SCREENSHOT']],
    ['the pong self-loop', pong(), undefined],
    ['a wide fan-out', fanOut(), undefined],
  ];

  it.each(cases)('shows %s whole, with no box or label on another', async (_, snapshot, file) => {
    const view = await startWebView({ address: '127.0.0.1:0', source: new ScriptedSource(snapshot) });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await page.goto(view.url);
      await page.locator('body[data-updates]').waitFor({ timeout: 10_000 });
      if (file) await page.screenshot({ path: file });
      const panel = await page.locator('#graph').boundingBox();
      if (!panel) throw new Error('no graph panel');
      const boxes: { what: string; box: Box }[] = [];
      for (const what of ['.node', '.edge-label']) {
        for (const item of await page.locator(what).all()) {
          const box = await item.boundingBox();
          if (!box) throw new Error(`${what} has no box`);
          boxes.push({ what: `${what}[${(await item.getAttribute('data-node')) ?? (await item.getAttribute('data-edge')) ?? '?'}]`, box });
        }
      }
      expect(boxes).toHaveLength(snapshot.queues.length + snapshot.workers.length + snapshot.edges.length);
      for (const { what, box } of boxes) expect(inside(box, panel), `${what} inside the panel`).toBe(true);
      for (const [i, a] of boxes.entries()) {
        for (const b of boxes.slice(i + 1)) expect(overlap(a.box, b.box), `${a.what} on ${b.what}`).toBe(false);
      }
      // Readable: the graph is not shrunk below 80% (a node's name stays at least 11 px high).
      const name = await page.locator('.node .name').first().boundingBox();
      expect(name?.height ?? 0).toBeGreaterThanOrEqual(11);
    } finally {
      await page.close();
      await view.close();
    }
  });
});
