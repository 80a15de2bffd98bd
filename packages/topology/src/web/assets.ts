import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file the web view serves, read once at start. */
export interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Where the page loads the layout library from (web/index.html names this path). */
export const DAGRE_PATH = '/vendor/dagre.min.js';

/**
 * The page's files by URL path: everything in the package's `web/` folder, `/` for its index.html, and
 * dagre's own browser build (an IIFE that defines `window.dagre`, graphlib included) from node_modules,
 * so the page needs no network beyond this server.
 */
export async function loadAssets(): Promise<ReadonlyMap<string, Asset>> {
  // web/ sits beside src/ and dist/, so the same relative path works from the sources and the build.
  const webDir = fileURLToPath(new URL('../../web/', import.meta.url));
  const assets = new Map<string, Asset>();
  for (const name of await readdir(webDir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type !== undefined) assets.set(`/${name}`, { type, body: await readFile(join(webDir, name)) });
  }
  const index = assets.get('/index.html');
  if (index === undefined) throw new Error(`the web view's page is missing: no index.html in ${webDir}`);
  assets.set('/', index);
  // The package's main entry is dist/dagre.cjs; the browser build sits beside it.
  const dagreDir = dirname(createRequire(import.meta.url).resolve('@dagrejs/dagre'));
  assets.set(DAGRE_PATH, { type: CONTENT_TYPES['.js'] ?? 'text/javascript', body: await readFile(join(dagreDir, 'dagre.min.js')) });
  return assets;
}
