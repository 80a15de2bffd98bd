import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { createQueueNode, type QueueNode } from '@streampy/mq';
import { formatHostPort, silentLogger } from '@streampy/runtime';
import { launch } from '@streampy/testing';
import { afterEach, describe, expect, it } from 'vitest';

const CHECK = fileURLToPath(new URL('../dist/check-cli.js', import.meta.url));
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function check(...args: string[]) {
  return launch(process.execPath, [CHECK, ...args], { cwd: process.cwd(), deadlineMs: 60_000 }).finished;
}

function bind(): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

const closeSocket = (socket: Socket): Promise<void> => new Promise((resolve) => socket.close(() => resolve()));

async function node(): Promise<string> {
  const queue: QueueNode = await createQueueNode({ logger: silentLogger('test') });
  cleanups.push(async () => {
    await queue.close();
  });
  return formatHostPort(queue.address);
}

describe('streampy-check that could not check anything exits 1 with one line', () => {
  it('a node the OS reports unreachable: at the start, long before the run deadline', async () => {
    const socket = await bind();
    const address = `127.0.0.1:${socket.address().port}`;
    await closeSocket(socket);
    // A ten-minute deadline: the run ends at all only because the unreachable stopped it.
    const result = await check('--source', address, '--sink', address, '--messages', '10', '--deadline-ms', '600000');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`streampy-check: ${address} is unreachable: the operating system reported ECONNREFUSED for SIZE after 5 attempts (is a queue node running there?)\n`);
  });

  it('a source that acknowledges nothing (bound, silent): sent 0 is a failure, not a pass', async () => {
    const deaf = await bind();
    cleanups.push(() => closeSocket(deaf));
    const address = `127.0.0.1:${deaf.address().port}`;
    const result = await check('--source', address, '--sink', address, '--messages', '5', '--timeout-ms', '50', '--deadline-ms', '1500', '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ messages: 5, sent: 0, delivered: 0 });
    expect(result.stderr).toMatch(new RegExp(`^streampy-check: the source ${address} acknowledged none of the 5 messages in [\\d.]+ s: is a queue node running there, and reachable\\?\\n$`));
  });

  it('a sink nothing reaches (no worker between two nodes)', async () => {
    const source = await node();
    const sink = await node();
    const result = await check('--source', source, '--sink', sink, '--messages', '5', '--settle-ms', '200', '--tail-ms', '0');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^sent\s+5$/m);
    expect(result.stderr).toMatch(new RegExp(`^streampy-check: nothing arrived at the sink ${sink} in [\\d.]+ s \\(5 messages sent\\): does anything move messages from the source to it\\?\\n$`));
  });

  it('a run that checked something still exits 0', async () => {
    const address = await node();
    const result = await check('--source', address, '--sink', address, '--messages', '5', '--tail-ms', '0');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^unique\s+5$/m);
  });
});
