import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { requestStop, type StopSignal } from '@streampy/runtime';
import { TopologyError } from './errors.js';

const require = createRequire(import.meta.url);

/** Keep the tail of a child's stderr so a failure can say why, without growing without bound. */
const STDERR_TAIL_LINES = 20;

/**
 * The path of a package's CLI, from its package.json `bin` (so the runner starts whatever
 * `pnpm install` linked, never a path guessed from the repo layout).
 */
export function resolveBin(packageName: string, binName: string): string {
  const manifestPath = require.resolve(`${packageName}/package.json`);
  const manifest = require(manifestPath) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[binName];
  if (bin === undefined) throw new TopologyError('ERR_CHILD_START', `${packageName} has no "${binName}" bin entry`);
  return join(dirname(manifestPath), bin);
}

export interface ChildOptions<T> {
  /** Name used in messages, e.g. `queue source`. */
  readonly name: string;
  readonly script: string;
  readonly args: readonly string[];
  /** Reads each stdout line until one says the child is ready: what it returns then is `start`'s `ready`. */
  readonly ready: (line: string) => T | undefined;
  readonly readyTimeoutMs: number;
  /** Every stdout line, ready line included. */
  readonly onLine?: (line: string) => void;
  /** Every stderr line (the child's log). */
  readonly onStderr?: (line: string) => void;
}

/** What a child may be sent: a graceful stop, or SIGKILL. Typed here so the shipped .d.ts needs no Node typings. */
export type ChildSignal = StopSignal | 'SIGKILL';

export interface ExitInfo {
  readonly code: number | null;
  /** The signal that ended the process (`SIGKILL`, ...), as Node reports it. */
  readonly signal: string | null;
}

/** Calls `onLine` with each complete line of `stream`; an unfinished last line waits for the rest. */
function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => {
    const lines = (buffered + text).split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.length > 0) onLine(line);
  });
  stream.on('end', () => {
    if (buffered.length > 0) onLine(buffered);
    buffered = '';
  });
}

/** A child node process: started, watched and stopped by its PID. */
export class Child {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  #process: ChildProcess;
  #exit: ExitInfo | undefined;
  #stderrTail: string[] = [];
  #lineListeners: ((line: string) => void)[] = [];

  private constructor(name: string, child: ChildProcess, onStderr: ((line: string) => void) | undefined) {
    if (child.pid === undefined) throw new TopologyError('ERR_CHILD_START', `${name} did not start`);
    this.name = name;
    this.pid = child.pid;
    this.#process = child;
    // 'close', not 'exit': by then its stdout is read to the end (a last summary line included).
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    // A full pipe would block the child, so its output is always read.
    if (child.stdout) eachLine(child.stdout, (line) => this.#lineListeners.forEach((listener) => listener(line)));
    if (child.stderr) {
      eachLine(child.stderr, (line) => {
        this.#stderrTail.push(line);
        if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.shift();
        onStderr?.(line);
      });
    }
  }

  /**
   * Spawns `node script ...args` and waits for its ready line. The child gets its own process
   * group (on Windows its own hidden console), so a Ctrl-C in the terminal reaches only the
   * runner, which then stops the children in the order that keeps the messages (workers before
   * the queues they feed). The IPC channel is how it is asked to stop on every OS (`stop`), and
   * closes when the runner dies however it dies, which stops the child too.
   */
  static async start<T>(options: ChildOptions<T>, track: (child: Child) => void): Promise<{ child: Child; ready: T }> {
    const spawned = spawn(process.execPath, [options.script, ...options.args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true, windowsHide: true });
    const spawnError = new Promise<never>((_, reject) => {
      spawned.once('error', (cause) => reject(new TopologyError('ERR_CHILD_START', `${options.name} failed to start: ${cause.message}`, { cause })));
    });
    if (spawned.pid === undefined) await spawnError;
    const child = new Child(options.name, spawned, options.onStderr);
    track(child);
    let timer: NodeJS.Timeout | undefined;
    let found: (value: T) => void = () => {};
    const ready = new Promise<T>((resolve) => (found = resolve));
    let done = false;
    child.#lineListeners.push((line) => {
      options.onLine?.(line);
      if (done) return;
      const value = options.ready(line);
      if (value !== undefined) {
        done = true;
        found(value);
      }
    });
    try {
      const value = await Promise.race([
        ready,
        spawnError,
        child.exited.then((exit) => {
          throw new TopologyError('ERR_CHILD_EXIT', `${options.name} exited before it was ready (${describeExit(exit)})${child.stderrHint()}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new TopologyError('ERR_CHILD_START', `${options.name} was not ready within ${options.readyTimeoutMs} ms${child.stderrHint()}`)), options.readyTimeoutMs);
        }),
      ]);
      return { child, ready: value };
    } finally {
      done = true;
      clearTimeout(timer);
    }
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  get exit(): ExitInfo | undefined {
    return this.#exit;
  }

  /** The last lines the child wrote to stderr, for error messages. */
  stderrHint(): string {
    const last = this.#stderrTail.slice(-3).join(' | ');
    return last === '' ? '' : `; its last log lines: ${last}`;
  }

  /**
   * Asks it to stop with the IPC stop message (graceful on every OS, Windows included); if it
   * has not exited after `graceMs`, or has no channel left, SIGTERM (which a node already
   * stopping takes as "exit now"); then SIGKILL after `graceMs` more. Resolves with how it
   * exited (undefined if even SIGKILL did not end it within `graceMs` more).
   */
  async stop(graceMs: number): Promise<ExitInfo | undefined> {
    if (this.#exit) return this.#exit;
    if (requestStop(this.#process)) {
      const graceful = await withDeadline(this.exited, graceMs);
      if (graceful) return graceful;
    }
    this.signal('SIGTERM');
    const graceful = await withDeadline(this.exited, graceMs);
    if (graceful) return graceful;
    this.signal('SIGKILL');
    return withDeadline(this.exited, graceMs);
  }

  /** Sends a signal by PID, ignoring a child that is already gone. */
  signal(signal: ChildSignal): void {
    if (!this.alive) return;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal === null ? `exit code ${exit.code}` : `signal ${exit.signal}`;
}

async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)))]);
  } finally {
    clearTimeout(timer);
  }
}
