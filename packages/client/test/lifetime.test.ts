import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeQueue, startFakeNode, type FakeNode } from './fake-node.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

const nodes: FakeNode[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.close();
});

/**
 * Runs a script using the built client without closing it, and resolves with its output and
 * exit code once it exits (SIGKILL after `deadlineMs`, which the assertions then catch).
 */
function run(script: string, deadlineMs = 15_000): Promise<{ stdout: string; code: number | null }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ stdout, code });
    }),
  );
}

describe('process lifetime', () => {
  it('holds the process open while requests are outstanding, and not once idle', async () => {
    const node = await startFakeNode(fakeQueue());
    nodes.push(node);
    const client = `${REPO}packages/client/dist/index.js`;
    // Sequential requests (the socket stays referenced across them), then nothing: the unclosed
    // client must let the process exit by itself.
    const { stdout, code } = await run(`
      const { createClient } = await import(${JSON.stringify(client)});
      const c = await createClient({ address: '127.0.0.1:${node.address.port}' });
      for (let i = 0; i < 50; i++) await c.put('m' + i);
      setTimeout(() => c.size().then((n) => console.log('size', n)), 50);
    `);
    expect(stdout.trim()).toBe('size 50');
    expect(code).toBe(0);
  });
});
