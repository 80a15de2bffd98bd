import { spawn, type ChildProcess, type ChildProcessByStdio, type StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { basename } from 'node:path';

/** Whether process `pid` still runs (signal 0 probes without touching it); other errors than "no such process" are thrown. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** How a process started with `launch` ended, with everything it printed. */
export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A process started with `launch`: its output so far, and how it ends. */
export interface Running {
  readonly process: ChildProcess;
  readonly finished: Promise<Finished>;
  stdout(): string;
  stderr(): string;
}

/**
 * Starts `command args` in `cwd`, collecting its output; `track` learns its pid (so a test can
 * kill what is left by PID). Killed, and `finished` rejected, when it outlives `deadlineMs`:
 * a run that takes that long is broken, not slow. With `ipc`, it gets an IPC channel, so a test
 * can stop it gracefully on every OS (runtime's `requestStop(running.process)`).
 */
export function launch(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly deadlineMs: number; readonly track?: (pid: number) => void; readonly ipc?: boolean },
): Running {
  // A fourth stdio entry is the IPC channel, or nothing; node's types only know 3-entry tuples.
  const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', options.ipc === true ? 'ipc' : 'ignore'];
  const child = spawn(command, args, { cwd: options.cwd, stdio }) as ChildProcessByStdio<null, Readable, Readable>;
  if (child.pid !== undefined) options.track?.(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const finished = new Promise<Finished>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${basename(command)} ${args.join(' ')} still running after ${options.deadlineMs} ms; stderr: ${stderr.slice(-2000)}`));
    }, options.deadlineMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { process: child, finished, stdout: () => stdout, stderr: () => stderr };
}
