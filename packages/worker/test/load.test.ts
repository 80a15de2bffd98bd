import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILTIN_FUNCTIONS, loadWorkerFunction } from '../src/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const context = { input: 0 };

describe('loadWorkerFunction', () => {
  it('finds built-ins by name', async () => {
    const loaded = await loadWorkerFunction('pong');
    expect(loaded.name).toBe('pong');
    expect(loaded.fn).toBe(BUILTIN_FUNCTIONS.pong);
  });

  it('rejects unknown names, listing the built-ins', async () => {
    await expect(loadWorkerFunction('nope')).rejects.toThrow(/unknown function "nope".*passthrough/);
    await expect(loadWorkerFunction('toString')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_FUNCTION' });
  });

  it('uses the default export of a module resolved from cwd', async () => {
    const loaded = await loadWorkerFunction('./default-fn.mjs', { cwd: fixtures });
    expect(loaded.name).toBe('reverse');
    expect(loaded.fn('abc', context)).toBe('cba');
  });

  it('uses the only exported function when there is no default', async () => {
    const loaded = await loadWorkerFunction('./single-fn.mjs', { cwd: fixtures });
    expect(loaded.name).toBe('exclaim');
    expect(loaded.fn('hi', context)).toBe('hi!');
  });

  it('needs exportName to choose among several functions', async () => {
    await expect(loadWorkerFunction('./functions.mjs', { cwd: fixtures })).rejects.toThrow(/several functions \(shout, split\)/);
    const loaded = await loadWorkerFunction('./functions.mjs', { cwd: fixtures, exportName: 'shout' });
    expect(loaded.fn('hey', context)).toBe('HEY!');
    await expect(loadWorkerFunction('./functions.mjs', { cwd: fixtures, exportName: 'missing' })).rejects.toMatchObject({ code: 'ERR_UNKNOWN_FUNCTION' });
  });

  it('reports a module that cannot be loaded', async () => {
    await expect(loadWorkerFunction('./does-not-exist.mjs', { cwd: fixtures })).rejects.toMatchObject({ code: 'ERR_UNKNOWN_FUNCTION' });
  });
});
