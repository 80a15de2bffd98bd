import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueNode, type QueueNode } from '../../src/index.js';
import { createLogger } from '@streampy/runtime';
import { CLIENT_CLI, REPO, runNode } from './processes.js';

let node: QueueNode;
let address: string;
let deaf: Socket;
let deafAddress: string;

beforeAll(async () => {
  node = await createQueueNode({
    address: '127.0.0.1:0',
    logger: (a) => createLogger({ name: `MQ.${a.host}-${a.port}`, level: 'error' }),
  });
  address = `127.0.0.1:${node.address.port}`;
  // Bound and silent: a port nobody answers that no other test can take meanwhile.
  deaf = createSocket('udp4');
  await new Promise<void>((resolve) => deaf.bind(0, '127.0.0.1', resolve));
  deafAddress = `127.0.0.1:${deaf.address().port}`;
});

afterAll(async () => {
  await node.close();
  await new Promise<void>((resolve) => deaf.close(() => resolve()));
});

const cli = (...args: string[]) => runNode(CLIENT_CLI, args);

describe('streampy-client', () => {
  it('sends seed commands and prints the replies', async () => {
    expect(await cli(address, 'PUT:ping')).toEqual({ code: 0, stdout: 'PUT 4 bytes\n', stderr: '' });
    expect(await cli(address, 'SIZE')).toEqual({ code: 0, stdout: '1\n', stderr: '' });
    expect(await cli(address, 'GET')).toEqual({ code: 0, stdout: 'ping\n', stderr: '' });
    expect(await cli(address, 'GET')).toEqual({ code: 0, stdout: '\n', stderr: '(empty)\n' });
  });

  it('joins words with spaces into one frame', async () => {
    expect((await cli(address, 'PUT:hello', 'big', 'world')).stdout).toBe('PUT 15 bytes\n');
    expect((await cli(address, 'GET')).stdout).toBe('hello big world\n');
  });

  it('sends typed commands as typed', async () => {
    expect((await cli(address, '#c1 PUT key=k-cli:x')).stdout).toBe('#c1 PUT 1 bytes\n');
    expect((await cli(address, '#c2 PUT key=k-cli:x')).stdout).toBe('#c2 PUT 1 bytes DUP\n');
    expect((await cli(address, 'SIZE', 'q=default')).stdout).toBe('SIZE 1\n');
    expect((await cli(address, 'GET')).stdout).toBe('x\n');
  });

  it('exits 1 on an ERR reply, printing the reply and one line on stderr', async () => {
    const result = await cli(address, 'FOO');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ERR UNKNOWN_VERB /);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('answered with an error');
  });

  it('--json prints each reply as a JSON value: numbers, objects, arrays of batches, STATS as an object', async () => {
    const json = async (...words: string[]): Promise<Record<string, unknown>> => {
      const result = await cli(address, '--json', '--', ...words);
      expect(result.stdout.trim().split('\n'), words.join(' ')).toHaveLength(1);
      return JSON.parse(result.stdout) as Record<string, unknown>;
    };
    await cli(address, 'GET', 'max=1000'); // whatever earlier tests left
    const size = await json('SIZE');
    expect(size).toMatchObject({ sent: 'SIZE', kind: 'size', reply: 0 });
    expect(typeof size.ms).toBe('number');
    expect(size.error).toBeUndefined();
    expect(await json('#j1 PUT key=k-json:one')).toMatchObject({ kind: 'put', id: 'j1', reply: { bytes: 3, duplicate: false } });
    expect(await json('#j2 PUT key=k-json:one')).toMatchObject({ kind: 'put', id: 'j2', reply: { bytes: 3, duplicate: true } });
    for (const body of ['two', 'three', 'four']) await cli(address, `PUT:${body}`);
    expect(await json('GET')).toMatchObject({ kind: 'message', reply: 'one' });
    expect(await json('GET max=2')).toMatchObject({ kind: 'messages', reply: ['two', 'three'] });
    const leased = await json('RESERVE max=5 lease=60000');
    expect(leased).toMatchObject({ kind: 'leased', reply: [{ deliveries: 1, body: 'four' }] });
    const [{ token }] = leased.reply as [{ token: string }];
    expect(await json(`ACK ${token}`)).toMatchObject({ kind: 'ok', reply: true });
    expect(await json('GET')).toMatchObject({ kind: 'empty', reply: null });
    expect(await json('GET max=3')).toMatchObject({ kind: 'messages', reply: [] });
    const stats = await json('STATS');
    expect(stats.kind).toBe('stats');
    expect(stats.reply).toMatchObject({ address, queues: { default: { size: 0, acks: 1 } } });
    const bad = await cli(address, '--json', '#e1', 'ACK', 'no-such-token');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ sent: '#e1 ACK no-such-token', kind: 'error', id: 'e1', reply: null, error: { code: 'ERR_UNKNOWN_LEASE' } });
  });

  it('--verbose tells what it sent on stderr', async () => {
    const result = await cli(address, '--verbose', 'SIZE');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`sent to ${address}: SIZE`);
  });

  it('gives up on a port nobody answers and exits 1 with one line', async () => {
    const result = await cli(deafAddress, 'GET', '--timeout', '100', '--retries', '1');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`streampy-client: no reply from ${deafAddress} to GET after 2 attempts (100 ms each)\n`);
    const json = await cli(deafAddress, 'SIZE', '--timeout', '50', '--retries', '0', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ sent: 'SIZE', reply: null, error: { code: 'ERR_TIMEOUT' } });
  });

  it('accepts the -- that pnpm forwards', async () => {
    expect(await cli('--', address, 'SIZE')).toMatchObject({ code: 0, stdout: '0\n' });
  });

  it('exits 2 on usage errors', async () => {
    for (const args of [[], [address], ['nonsense', 'GET'], [address, 'GET', '--timeout', 'soon'], [address, 'GET', '--bogus']]) {
      const result = await cli(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^streampy-client: .+\nTry 'streampy-client --help'\.\n$/);
    }
  });

  it('--help and --version', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: streampy-client');
    const version = await cli('--version');
    const pkg = JSON.parse(readFileSync(`${REPO}packages/client/package.json`, 'utf8')) as { version: string };
    expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });
});
