import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Child, resolveBin } from '../src/index.js';
import { killLeftovers, pids, topologyFile } from './processes.js';

afterEach(killLeftovers);

const POSIX = process.platform !== 'win32';
const MQ = resolveBin('@streampy/mq', 'streampy-mq');
const WORKER = resolveBin('@streampy/worker', 'streampy-worker');

interface Started {
  readonly child: Child;
  readonly ready: string;
  readonly stdout: string[];
  readonly stderr: string[];
}

async function start(script: string, args: readonly string[], ready: RegExp): Promise<Started> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { child, ready: line } = await Child.start(
    {
      name: 'test child',
      script,
      args,
      ready: (text) => (ready.test(text) ? text : undefined),
      readyTimeoutMs: 20_000,
      onLine: (text) => stdout.push(text),
      onStderr: (text) => stderr.push(text),
    },
    (spawned) => pids.add(spawned.pid),
  );
  return { child, ready: line, stdout, stderr };
}

/** A script in a fresh folder: for children that misbehave on purpose. */
function script(text: string): string {
  const path = join(dirname(topologyFile('')), 'child.mjs');
  writeFileSync(path, text);
  return path;
}

describe('a child process', () => {
  it('is stopped with the IPC stop message, on every OS: the worker finishes, then the queue reports', async () => {
    const queue = await start(MQ, ['127.0.0.1:0', '--log-level', 'warn'], /listening on/);
    const address = /listening on (\S+)/.exec(queue.ready)?.[1] as string;
    const worker = await start(WORKER, [address, address, '--log-level', 'info', '--log-format', 'json'], /running/);
    expect(await worker.child.stop(10_000)).toEqual({ code: 0, signal: null });
    // The message, not a signal, asked it to stop: its log says why.
    expect(worker.stderr.map((line) => JSON.parse(line) as { event: string; reason?: string }).find((entry) => entry.event === 'stopping')?.reason).toBe('message');
    expect(worker.stdout.at(-1)).toMatch(/^streampy-worker pong stopped: processed=0 /);
    expect(await queue.child.stop(10_000)).toEqual({ code: 0, signal: null });
    expect(queue.stdout.at(-1)).toBe('streampy-mq stopped; queue size 0');
  });

  it.skipIf(!POSIX)('gets SIGTERM when it does not stop on the message within the grace time', async () => {
    const deaf = await start(script("process.on('message', () => {}); process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); }); console.log('ready');\n"), [], /^ready$/);
    expect(await deaf.child.stop(200)).toEqual({ code: 0, signal: null });
    expect(deaf.stdout.at(-1)).toBe('got SIGTERM');
  });

  it.skipIf(!POSIX)('gets SIGKILL when it ignores the message and SIGTERM too', async () => {
    const stuck = await start(script("process.on('message', () => {}); process.on('SIGTERM', () => {}); setInterval(() => {}, 60000); console.log('ready');\n"), [], /^ready$/);
    expect(await stuck.child.stop(200)).toEqual({ code: null, signal: 'SIGKILL' });
  });
});
