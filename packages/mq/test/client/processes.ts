import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
export const CLIENT_CLI = `${REPO}packages/client/dist/cli.js`;
export const MQ_CLI = `${REPO}packages/mq/dist/cli.js`;
export const SEED_DIR = `${REPO}compat/seed/`;

/** The Python 3 interpreter: `python3` on Linux and macOS, `python` on Windows runners. */
export const PYTHON = process.platform === 'win32' ? 'python' : 'python3';

export interface Spawned {
  readonly child: ChildProcess;
  /** The match of the ready pattern on stdout. */
  readonly ready: RegExpMatchArray;
  /** The last few kilobytes of stderr, for failure messages. */
  stderr(): string;
  /** SIGTERM by PID, SIGKILL if it has not exited within 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

const TAIL = 4096;

/** Spawns a long-running process and waits (at most `timeoutMs`) for `ready` on its stdout. */
export function spawnReady(command: string, args: string[], ready: RegExp, timeoutMs = 15_000): Promise<Spawned> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-TAIL);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  };
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${command} ${args.join(' ')}: ${why}; stderr: ${stderr}`)));
    };
    const timer = setTimeout(() => fail(`no ready line within ${timeoutMs} ms`), timeoutMs);
    const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited (${code ?? signal ?? '?'}) before it was ready`);
    child.once('exit', onEarlyExit);
    child.once('error', (error) => fail(error.message));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = ready.exec(stdout);
      if (match === null) return;
      clearTimeout(timer);
      child.off('exit', onEarlyExit);
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve({ child, ready: match, stderr: () => stderr, stop });
    });
  });
}

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`) and returns its exit code and output. */
export function run(command: string, args: string[], timeoutMs = 20_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A node CLI: `process.execPath file ...args`. */
export const runNode = (file: string, args: string[], timeoutMs?: number): Promise<Ran> => run(process.execPath, [file, ...args], timeoutMs);

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A body as text, or undefined for none. */
export const text = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));
