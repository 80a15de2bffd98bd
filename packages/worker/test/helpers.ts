import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient, type QueueClient } from '@streampy/client';
import { createQueueNode, type QueueNode, type QueueNodeOptions } from '@streampy/mq';
import { formatHostPort, requestStop } from '@streampy/runtime';
import { TestPeer, silentLogger } from '@streampy/testing';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));
export const cliPath = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export async function startNode(options: QueueNodeOptions = {}): Promise<QueueNode> {
  return createQueueNode({ address: '127.0.0.1:0', logger: silentLogger('mq'), ...options });
}

export function addressOf(node: QueueNode, queue?: string): string {
  return formatHostPort(node.address) + (queue === undefined ? '' : `/${queue}`);
}

export function connect(node: QueueNode | string): Promise<QueueClient> {
  return createClient({ address: typeof node === 'string' ? node : node.address, timeoutMs: 500, retries: 4 });
}

/** Every message of a queue, taken with GET until it answers empty (bounded). */
export async function drain(client: QueueClient, queue?: string): Promise<string[]> {
  const out: string[] = [];
  for (let round = 0; round < 1000; round++) {
    const batch = await client.getBatch(100, queue === undefined ? {} : { queue });
    if (batch.length === 0) return out;
    for (const body of batch) out.push(Buffer.from(body).toString('utf8'));
  }
  throw new Error('queue did not drain');
}

/** A plain UDP listener, as the prototype's socket sink: the shared test peer, collecting raw payloads. */
export async function startListener(): Promise<{ address: string; received: string[]; close(): Promise<void> }> {
  const received: string[] = [];
  const peer = await TestPeer.open({
    reply: (data) => {
      received.push(data.toString('utf8'));
      return undefined;
    },
  });
  return { address: formatHostPort(peer.address), received, close: () => peer.close() };
}

export interface SpawnedWorker {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Kills the process by its pid if it still runs. */
  readonly kill: (signal?: NodeJS.Signals) => void;
  /** Asks it to stop with the IPC stop message: graceful on every OS (a signal is, where signals exist). */
  readonly stop: () => void;
}

export function spawnWorker(args: string[], cwd = packageDir): SpawnedWorker {
  // An IPC channel beside the pipes, for `stop` (node's types know only 3-entry stdio tuples).
  const child = spawn(process.execPath, [cliPath, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe', 'ipc'] }) as ChildProcessWithoutNullStreams;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stop: () => {
      if (!requestStop(child)) throw new Error('streampy-worker has no IPC channel');
    },
  };
}

/** Runs the CLI to completion (for --help and usage errors). */
export async function runWorkerCli(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const worker = spawnWorker(args);
  const timer = setTimeout(() => worker.kill(), 15_000);
  const code = await worker.exited;
  clearTimeout(timer);
  return { code, stdout: worker.stdout(), stderr: worker.stderr() };
}
