import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createQueueNode } from '@streampy/mq';
import { createLogger, formatHostPort, parseHostPort, requestStop } from '@streampy/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@streampy/testing';
import { openEcho } from './udp.js';

const dist = (file: string): string => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));

type Child = ChildProcessByStdio<null, Readable, Readable>;
const running = new Set<Child>();
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Run {
  readonly child: Child;
  readonly lines: string[];
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

function run(cli: string, args: string[]): Run {
  // With an IPC channel, so a test can stop it gracefully on every OS (node's types know only 3-entry stdio tuples).
  const child = spawn(process.execPath, [dist(cli), ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }) as Child;
  running.add(child);
  const lines: string[] = [];
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, lines, stderr: () => stderr, exit };
}

describe('streampy-proxy', () => {
  // Stopped two ways: the IPC stop message (every OS), and SIGTERM (where signals exist).
  it('prints where it listens, forwards with faults, and prints its counts on the IPC stop message', () => forwardThenStop('message'));
  it.skipIf(process.platform === 'win32')('prints where it listens, forwards with faults, and prints its counts on SIGTERM', () => forwardThenStop('SIGTERM'));

  async function forwardThenStop(how: 'message' | 'SIGTERM'): Promise<void> {
    const echo = await openEcho();
    cleanups.push(() => echo.close());
    const proxy = run('proxy-cli.js', ['--target', formatHostPort(echo.address), '--dup-to-target', '1', '--seed', '3', '--json', '--log-level', 'warn']);
    await waitFor(() => proxy.lines.length > 0, { what: 'the ready line' });
    const match = /^streampy-proxy listening on (\S+) -> (\S+)$/.exec(proxy.lines[0] ?? '');
    expect(match?.[2]).toBe(formatHostPort(echo.address));
    const { openPeer } = await import('./udp.js');
    const client = await openPeer();
    cleanups.push(() => client.close());
    for (let i = 0; i < 5; i++) client.send(`m${i}`, parseHostPort(match?.[1] ?? ''));
    // Every datagram is duplicated on the way in; the replies come back undisturbed.
    await waitFor(() => client.received.length === 10, { what: '10 echoes' });
    if (how === 'message') expect(requestStop(proxy.child)).toBe(true);
    else proxy.child.kill('SIGTERM');
    expect(await proxy.exit).toBe(0);
    const counts = JSON.parse(proxy.lines.at(-1) ?? '{}') as { seed: number; toTarget: Record<string, number>; toClient: Record<string, number> };
    expect(counts.seed).toBe(3);
    expect(counts.toTarget).toMatchObject({ received: 5, duplicated: 5, forwarded: 10, dropped: 0 });
    expect(counts.toClient).toMatchObject({ received: 10, forwarded: 10 });
  }

  it('exits 2 with one line on a bad flag, 0 on --help', async () => {
    const bad = run('proxy-cli.js', ['--target', '127.0.0.1:9', '--drop', '1.5']);
    expect(await bad.exit).toBe(2);
    expect(bad.stderr()).toMatch(/^streampy-proxy: --drop must be a probability/);
    const missing = run('proxy-cli.js', []);
    expect(await missing.exit).toBe(2);
    const help = run('proxy-cli.js', ['--help']);
    expect(await help.exit).toBe(0);
    expect(help.lines.join('\n')).toContain('--<fault>-to-target');
  });
});

describe('streampy-check', () => {
  it('checks a queue node and judges the expected guarantee', async () => {
    const node = await createQueueNode({ logger: createLogger({ name: 'test', level: 'error' }) });
    cleanups.push(async () => {
      await node.close();
    });
    const address = formatHostPort(node.address);
    const check = run('check-cli.js', ['--', '--source', address, '--sink', address, '--messages', '200', '--tail-ms', '200', '--expect', 'exactly-once', '--json']);
    expect(await check.exit).toBe(0);
    const report = JSON.parse(check.lines[0] ?? '{}') as Record<string, unknown>;
    expect(report).toMatchObject({ sent: 200, unique: 200, lost: 0, duplicated: 0, verdict: { held: true } });
  });

  it('exits 2 without the required flags', async () => {
    const check = run('check-cli.js', ['--source', '127.0.0.1:9']);
    expect(await check.exit).toBe(2);
    expect(check.stderr()).toContain('--sink');
  });
});
