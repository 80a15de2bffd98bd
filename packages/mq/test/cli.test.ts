import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { requestStop } from '@streampy/runtime';
import { TestPeer, text, waitFor } from './udp.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  /** Asks it to stop with the IPC stop message: graceful on every OS (SIGTERM is, where signals exist). */
  stop(): void;
}

async function start(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await waitFor(() => /\n/.test(out) || child.exitCode !== null, { timeoutMs: 15_000, what: 'the listening line' });
  const match = /^streampy-mq listening on (?:127\.0\.0\.1|\[::1\]):(\d+)\n$/.exec(out);
  if (!match) throw new Error(`unexpected stdout ${JSON.stringify(out)}; stderr ${err}`);
  const stop = (): void => {
    if (!requestStop(child)) throw new Error('streampy-mq has no IPC channel');
  };
  return { child, port: Number(match[1]), stdout: () => out, stderr: () => err, exited, stop };
}

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 15_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('streampy-mq CLI', () => {
  it('listens on a positional address with port 0, serves, and reports the queue size when asked to stop (IPC, every OS)', async () => {
    const node = await start(['127.0.0.1:0']);
    expect(node.port).toBeGreaterThan(0);
    const peer = await TestPeer.open();
    try {
      const address = { host: '127.0.0.1', port: node.port };
      expect(text(await peer.exchange(address, 'PUT:ping'))).toBe('PUT 4 bytes');
      expect(text(await peer.exchange(address, 'PUT:pong'))).toBe('PUT 4 bytes');
      expect(text(await peer.exchange(address, 'SIZE'))).toBe('2');
    } finally {
      await peer.close();
    }
    node.stop();
    expect(await node.exited).toBe(0);
    expect(node.stdout()).toMatch(/\nstreampy-mq stopped; queue size 2\n$/);
    expect(node.stderr()).toMatch(/"event":"stopped"/);
  });

  it.skipIf(process.platform === 'win32')('takes --address and stops on SIGINT and on SIGTERM', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const node = await start(['--address', '127.0.0.1:0', '--max-messages', '10', '--lease-ms', '1000']);
      node.child.kill(signal);
      expect(await node.exited).toBe(0);
      expect(node.stdout()).toMatch(/queue size 0\n$/);
    }
  });

  it('writes its log to --log-dir as MQ.<host>-<port>.<uuid>.log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mq-logs-'));
    dirs.push(dir);
    const node = await start(['127.0.0.1:0', '--log-dir', dir, '--log-level', 'debug', '--log-format', 'pretty']);
    const peer = await TestPeer.open();
    try {
      const address = { host: '127.0.0.1', port: node.port };
      await peer.exchange(address, 'PUT:x');
      await peer.exchange(address, 'GET');
    } finally {
      await peer.close();
    }
    node.stop();
    expect(await node.exited).toBe(0);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^MQ\\.127\\.0\\.0\\.1-${node.port}\\.[0-9a-f-]{36}\\.log$`));
    const lines = readFileSync(join(dir, files[0] as string), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { event: string });
    expect(lines.map((line) => line.event)).toEqual(expect.arrayContaining(['listening', 'edge latency', 'stopped']));
    expect(node.stderr()).toMatch(/INFO {2}MQ\.127\.0\.0\.1-\d+ listening/);
  });

  it('names the log file of an IPv6 node without a colon, so it can be written on Windows too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mq-logs-'));
    dirs.push(dir);
    const node = await start(['[::1]:0', '--log-dir', dir]);
    node.stop();
    expect(await node.exited).toBe(0);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^MQ\\.__1-${node.port}\\.[0-9a-f-]{36}\\.log$`));
    // The logger's name in the lines is the node's, unchanged.
    expect(readFileSync(join(dir, files[0] as string), 'utf8')).toContain(`"logger":"MQ.::1-${node.port}"`);
  });

  it('prints help and version, exit 0', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: streampy-mq \[host:port\]/);
    for (const flag of ['--address', '--data-dir', '--fsync', '--max-messages', '--max-bytes', '--lease-ms', '--max-deliveries', '--dead-letter', '--dedup-window', '--log-dir', '--log-level', '--log-format']) {
      expect(help.stdout).toContain(flag);
    }
    const version = run(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout).toBe(`${VERSION}\n`);
  });

  it.each([
    [['--bogus']],
    [['not-an-address']],
    [['127.0.0.1:0', '--address', '127.0.0.1:0']],
    [['--max-messages', 'lots']],
    [['--log-level', 'loud']],
    [['--fsync', 'always']],
    [['--max-deliveries', '100000']],
    [['--dead-letter', '.hidden']],
  ])('exits 2 with one clear line for bad usage: %j', (args) => {
    const result = run(args);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^streampy-mq: .+\nTry 'streampy-mq --help'\.\n$/);
  });

  it('exits 1 when the address is taken', async () => {
    const node = await start(['127.0.0.1:0']);
    const result = run([`127.0.0.1:${node.port}`]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^streampy-mq: .*EADDRINUSE/);
    node.stop();
    expect(await node.exited).toBe(0);
  });

  // Through the CLI, in a child process: the durable engine is exercised end to end, and a
  // storage bug that hung the event loop would fail this test instead of hanging the runner.
  it('recovers every queue directory of --data-dir after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mq-data-'));
    dirs.push(dir);
    const peer = await TestPeer.open();
    try {
      const first = await start(['127.0.0.1:0', '--data-dir', dir, '--fsync', 'always']);
      const one = { host: '127.0.0.1', port: first.port };
      expect(text(await peer.exchange(one, 'PUT:one'))).toBe('PUT 3 bytes');
      expect(text(await peer.exchange(one, 'PUT q=jobs:two'))).toBe('PUT 3 bytes');
      first.stop();
      expect(await first.exited).toBe(0);
      expect(first.stdout()).toMatch(/queue size 2\n$/);

      const second = await start(['127.0.0.1:0', '--data-dir', dir]);
      const two = { host: '127.0.0.1', port: second.port };
      const stats = JSON.parse(text(await peer.exchange(two, 'STATS')).slice('STATS:'.length)) as { engine: string; queues: Record<string, { size: number }> };
      expect(stats.engine).toBe('log');
      expect(Object.keys(stats.queues).sort()).toEqual(['dead', 'default', 'jobs']);
      expect(stats.queues.jobs?.size).toBe(1);
      expect(text(await peer.exchange(two, 'GET'))).toBe('one');
      expect(text(await peer.exchange(two, 'GET q=jobs'))).toBe('MSG:two');
      second.stop();
      expect(await second.exited).toBe(0);
    } finally {
      await peer.close();
    }
  });
});
