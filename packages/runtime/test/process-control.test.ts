import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { STOP_MESSAGE, isStopMessage, requestStop } from '../src/index.js';

// Real processes: the fixture listens with onStopRequest (built dist: build first).
const FIXTURE = fileURLToPath(new URL('./fixtures/stoppable.mjs', import.meta.url));
const POSIX = process.platform !== 'win32';

interface Started {
  readonly child: ChildProcess;
  /** Resolves when a stdout line matching `pattern` has been printed (at once if it already was). */
  line(pattern: RegExp): Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>;
}

const started: ChildProcess[] = [];
const pids: number[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of pids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function start(args: readonly string[], ipc: boolean): Started {
  return watch(spawn(process.execPath, [FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'inherit', ipc ? 'ipc' : 'ignore'] }));
}

/** Reads a child's stdout lines, and how it ends (its stdout read to the end). */
function watch(child: ChildProcess): Started {
  started.push(child);
  let stdout = '';
  const waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const check = (): void => {
    for (const waiter of [...waiting]) {
      const found = stdout.split('\n').find((line) => waiter.pattern.test(line));
      if (found !== undefined) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve(found);
      }
    }
  };
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
    check();
  });
  // 'exit' and the end of stdout, not 'close': after the parent's disconnect() node never emits 'close'.
  const ended = new Promise<void>((resolve) => child.stdout?.once('end', resolve));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const finished = Promise.all([exited, ended]).then(([exit]) => ({ ...exit, stdout }));
  return {
    child,
    exited: finished,
    line: (pattern) =>
      new Promise((resolve) => {
        waiting.push({ pattern, resolve });
        check();
      }),
  };
}

describe('the stop message', () => {
  it('is recognised by its type, whatever else it holds', () => {
    expect(STOP_MESSAGE).toEqual({ type: 'streampy:stop' });
    expect(isStopMessage(STOP_MESSAGE)).toBe(true);
    expect(isStopMessage({ type: 'streampy:stop', why: 'test' })).toBe(true);
    for (const other of [null, undefined, 'streampy:stop', { type: 'stop' }, {}, 7]) expect(isStopMessage(other)).toBe(false);
  });

  it('is not sent to a child without an IPC channel: the caller falls back to a signal', async () => {
    const run = start([], false);
    await run.line(/^ready/);
    expect(requestStop(run.child)).toBe(false);
    run.child.kill('SIGKILL');
    await run.exited;
  });
});

describe('onStopRequest, in a real process', () => {
  it('stops gracefully on the IPC stop message: the work in hand is finished, exit 0', async () => {
    const run = start([], true);
    await run.line(/^ready/);
    expect(requestStop(run.child)).toBe(true);
    const exit = await run.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.stdout).toMatch(/\nstopping: message\nstopped\n$/);
  });

  it('takes one request only: a second message, or a message after a signal, changes nothing', async () => {
    const run = start(['--hold'], true);
    await run.line(/^ready/);
    if (POSIX) run.child.kill('SIGTERM');
    else requestStop(run.child);
    await run.line(/^stopping/);
    // IPC messages arrive in order: the repeated request before the one that ends the work.
    expect(requestStop(run.child)).toBe(true);
    run.child.send({ type: 'test:finish' });
    const exit = await run.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.stdout.match(/stopping/g)).toHaveLength(1);
    expect(exit.stdout).toMatch(/\nstopping: (SIGTERM|message)\nstopped\n$/);
  });

  it('stops when its parent closes the IPC channel', async () => {
    const run = start([], true);
    await run.line(/^ready/);
    run.child.disconnect();
    const exit = await run.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.stdout).toMatch(/\nstopping: disconnect\nstopped\n$/);
  });

  it('stops when its parent dies, so it is never left an orphan', async () => {
    // The parent starts the fixture with an IPC channel and its own stdout (this test's pipe, which
    // the fixture keeps open after the parent is gone), and waits.
    const parentScript = `
      const { spawn } = require('node:child_process');
      spawn(process.execPath, [${JSON.stringify(FIXTURE)}], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      setInterval(() => {}, 60000);`;
    const parent = watch(spawn(process.execPath, ['-e', parentScript], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const pid = Number(/^ready (\d+)/.exec(await parent.line(/^ready/))?.[1]);
    pids.push(pid);
    parent.child.kill('SIGKILL');
    // Its stdout ends once the pipe is closed by both: the fixture too has exited.
    const exit = await parent.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(exit.stdout).toMatch(/\nstopping: disconnect\nstopped\n$/);
  });

  it('never keeps a process alive by itself: with nothing left to do it exits, channel open', async () => {
    const run = start(['--no-work'], true);
    const exit = await run.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.stdout).toMatch(/^ready \d+\n$/);
  });

  it.skipIf(!POSIX)('stops gracefully on SIGTERM and SIGINT, with or without a channel', async () => {
    for (const [signal, ipc] of [
      ['SIGTERM', false],
      ['SIGINT', false],
      ['SIGTERM', true],
    ] as const) {
      const run = start([], ipc);
      await run.line(/^ready/);
      run.child.kill(signal);
      const exit = await run.exited;
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.stdout).toMatch(new RegExp(`\\nstopping: ${signal}\\nstopped\\n$`));
    }
  });

  it.skipIf(!POSIX)('exits at once (130) on a signal while stopping, as a second Ctrl-C should', async () => {
    const run = start(['--hold'], true);
    await run.line(/^ready/);
    requestStop(run.child);
    await run.line(/^stopping: message/);
    run.child.kill('SIGINT');
    const exit = await run.exited;
    expect(exit.code).toBe(130);
    expect(exit.stdout).not.toMatch(/stopped/);
  });
});
