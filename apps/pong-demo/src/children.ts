import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DemoError } from './errors.js';

const require = createRequire(import.meta.url);

/** Keep the tail of a child's stderr so a failure can say why, without growing without bound. */
const STDERR_TAIL_LINES = 20;

/**
 * The path of a workspace package's CLI, from its package.json `bin` (so the demo runs whatever
 * `pnpm install` linked, never a path guessed from the repo layout).
 */
export function resolveBin(packageName: string, binName: string): string {
  const manifestPath = require.resolve(`${packageName}/package.json`);
  const manifest = require(manifestPath) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[binName];
  if (bin === undefined) throw new DemoError('ERR_CHILD_START', `${packageName} has no "${binName}" bin entry`);
  return join(dirname(manifestPath), bin);
}

export interface ChildOptions {
  /** Name used in messages, e.g. `queue node`. */
  readonly name: string;
  readonly script: string;
  readonly args: readonly string[];
  /** The child's one stdout line that says it is ready; its match is returned by `start`. */
  readonly ready: RegExp;
  readonly readyTimeoutMs: number;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A child node process: started, watched and stopped by its PID. */
export class Child {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  #process: ChildProcess;
  #exit: ExitInfo | undefined;
  #stderrTail: string[] = [];

  private constructor(name: string, child: ChildProcess) {
    if (child.pid === undefined) throw new DemoError('ERR_CHILD_START', `${name} did not start`);
    this.name = name;
    this.pid = child.pid;
    this.#process = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    // A full pipe would block the child, so its output is always read.
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.#stderrTail.push(...text.split('\n').filter((line) => line.length > 0));
      this.#stderrTail.splice(0, Math.max(0, this.#stderrTail.length - STDERR_TAIL_LINES));
    });
  }

  /**
   * Spawns `node script ...args` and waits for its ready line. The child gets its own process
   * group, so a Ctrl-C in the terminal reaches only the demo, which then stops the children in
   * the order that keeps the balls (worker before queue).
   */
  static async start(options: ChildOptions, track: (child: Child) => void): Promise<{ child: Child; match: RegExpMatchArray }> {
    const spawned = spawn(process.execPath, [options.script, ...options.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const spawnError = new Promise<never>((_, reject) => {
      spawned.once('error', (cause) => reject(new DemoError('ERR_CHILD_START', `${options.name} failed to start: ${cause.message}`, { cause })));
    });
    if (spawned.pid === undefined) await spawnError;
    const child = new Child(options.name, spawned);
    track(child);
    let timer: NodeJS.Timeout | undefined;
    try {
      const match = await Promise.race([
        child.#waitForLine(options.ready),
        spawnError,
        child.exited.then((exit) => {
          throw new DemoError('ERR_CHILD_EXIT', `${options.name} exited before it was ready (${describeExit(exit)})${child.stderrHint()}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new DemoError('ERR_CHILD_START', `${options.name} was not ready within ${options.readyTimeoutMs} ms${child.stderrHint()}`)), options.readyTimeoutMs);
        }),
      ]);
      return { child, match };
    } finally {
      clearTimeout(timer);
    }
  }

  #waitForLine(pattern: RegExp): Promise<RegExpMatchArray> {
    const stdout = this.#process.stdout;
    if (!stdout) return Promise.reject(new DemoError('ERR_CHILD_START', `${this.name} has no stdout`));
    stdout.setEncoding('utf8');
    return new Promise((resolve) => {
      let buffered = '';
      let found = false;
      stdout.on('data', (text: string) => {
        if (found) return;
        const lines = (buffered + text).split('\n');
        // The last piece is an unfinished line: a port number may still be on its way.
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const match = pattern.exec(line);
          if (match) {
            found = true;
            resolve(match);
            return;
          }
        }
      });
    });
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
   * SIGTERM, then SIGKILL if it has not exited after `graceMs`. Resolves with how it exited
   * (undefined if even SIGKILL did not end it within `graceMs` more).
   */
  async stop(graceMs: number): Promise<ExitInfo | undefined> {
    if (this.#exit) return this.#exit;
    this.signal('SIGTERM');
    const graceful = await withDeadline(this.exited, graceMs);
    if (graceful) return graceful;
    this.signal('SIGKILL');
    return withDeadline(this.exited, graceMs);
  }

  /** Sends a signal by PID, ignoring a child that is already gone. */
  signal(signal: NodeJS.Signals): void {
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
