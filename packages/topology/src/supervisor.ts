import { Child, describeExit, type ChildSignal, type ExitInfo } from './child.js';
import type { ProcessStatus } from './snapshot.js';

export type ProcessKind = 'queue' | 'worker' | 'proxy';

/** How to run one process: called again for each restart (a queue's address is fixed after its first start). */
export interface ProcessPlan {
  readonly kind: ProcessKind;
  /** Topology name: the queue's, the worker's, or the proxy's edge id. */
  readonly name: string;
  /** Replica number of a worker, 0 otherwise. */
  readonly replica: number;
  /** For messages: `queue source`, `worker split#1`, `proxy split->sink`. */
  readonly label: string;
  readonly script: string;
  args(): readonly string[];
  /** Reads a stdout line; returns what it says once the process is ready. */
  ready(line: string): string | undefined;
  /** Called with what `ready` returned, at every start. */
  onReady(value: string, restart: boolean): void;
  /** Every stdout line (a worker's and a proxy's last line is their JSON summary). */
  onLine(line: string): void;
  onStderr(line: string): void;
  /** How long the stop request (the IPC stop message, then SIGTERM) may take before the next step. */
  readonly stopGraceMs: number;
}

export interface SupervisorHooks {
  readonly readyTimeoutMs: number;
  /** Every child spawned, so the caller can kill it whatever happens. */
  readonly track: (child: Child) => void;
  /** Restarts, exits, failures: for the log and the snapshot's events. */
  readonly event: (level: 'info' | 'warn' | 'error', text: string) => void;
  /** False: an unasked exit is not restarted, the process is left `failed` at once. Default true. */
  readonly restart?: boolean;
  /** Called once when the process is given up on (left `failed`). */
  readonly failed?: (process: Supervised, why: string, exit: ExitInfo | undefined) => void;
  /** Injected for tests; default setTimeout. */
  readonly setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

/** First restart delay, doubled per failed start up to MAX_BACKOFF_MS. */
export const FIRST_BACKOFF_MS = 100;
export const MAX_BACKOFF_MS = 5_000;
/** A process that ran this long before it died starts again from the first delay. */
export const STABLE_MS = 10_000;
/** Consecutive starts that fail (exit before ready, or die within STABLE_MS) before giving up. */
export const MAX_FAILED_STARTS = 10;

/** The delay before restart `failures` (1 = the first restart after a stable run). */
export function backoffMs(failures: number): number {
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
}

const defaultTimer = (fn: () => void, ms: number): { cancel(): void } => {
  const timer = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(timer) };
};

/**
 * One process of a topology, kept running: when it exits without being asked, it is started
 * again after a backoff (logged and counted); after MAX_FAILED_STARTS failures in a row it is
 * left `failed`.
 */
export class Supervised {
  readonly plan: ProcessPlan;
  #hooks: SupervisorHooks;
  #status: ProcessStatus = 'starting';
  #child: Child | undefined;
  #restarts = 0;
  #failures = 0;
  #startedAt = 0;
  #timer: { cancel(): void } | undefined;
  #stopping = false;
  /** Pids of every start, oldest first. */
  readonly pids: number[] = [];

  constructor(plan: ProcessPlan, hooks: SupervisorHooks) {
    this.plan = plan;
    this.#hooks = hooks;
  }

  get status(): ProcessStatus {
    return this.#status;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** How its last run ended, once it did. */
  get exit(): ExitInfo | undefined {
    return this.#child?.exit;
  }

  get pid(): number | null {
    return this.#child?.alive === true ? this.#child.pid : null;
  }

  /** First start: throws (TopologyError) when the process does not become ready. */
  async start(): Promise<void> {
    await this.#spawn(false);
  }

  async #spawn(restart: boolean): Promise<void> {
    const plan = this.plan;
    this.#status = restart ? 'restarting' : 'starting';
    const { child, ready } = await Child.start(
      {
        name: plan.label,
        script: plan.script,
        args: plan.args(),
        ready: (line) => plan.ready(line),
        readyTimeoutMs: this.#hooks.readyTimeoutMs,
        onLine: (line) => plan.onLine(line),
        onStderr: (line) => plan.onStderr(line),
      },
      (spawned) => {
        this.#child = spawned;
        this.pids.push(spawned.pid);
        this.#hooks.track(spawned);
      },
    );
    if (this.#stopping) return;
    this.#startedAt = performance.now();
    this.#status = 'running';
    plan.onReady(ready, restart);
    void child.exited.then((exit) => this.#exited(child, exit));
  }

  #exited(child: Child, exit: ExitInfo): void {
    if (this.#stopping || child !== this.#child) return;
    const ranMs = performance.now() - this.#startedAt;
    this.#failures = ranMs >= STABLE_MS ? 1 : this.#failures + 1;
    const why = `${this.plan.label} (pid ${child.pid}) exited unasked (${describeExit(exit)})${child.stderrHint()}`;
    if (this.#hooks.restart === false) {
      this.#fail(why, exit);
      return;
    }
    this.#scheduleRestart(why);
  }

  #fail(why: string, exit: ExitInfo | undefined): void {
    this.#status = 'failed';
    this.#hooks.event('error', why);
    this.#hooks.failed?.(this, why, exit);
  }

  #scheduleRestart(why: string): void {
    if (this.#failures > MAX_FAILED_STARTS) {
      this.#fail(`${why}; ${MAX_FAILED_STARTS} restarts in a row failed: giving up on ${this.plan.label}`, undefined);
      return;
    }
    const delay = backoffMs(this.#failures);
    this.#status = 'restarting';
    this.#hooks.event('warn', `${why}; restarting in ${delay} ms`);
    const setTimer = this.#hooks.setTimer ?? defaultTimer;
    this.#timer = setTimer(() => {
      this.#timer = undefined;
      if (this.#stopping) return;
      this.#restarts++;
      this.#spawn(true).then(
        () => this.#hooks.event('info', `${this.plan.label} restarted (pid ${this.pid ?? '?'}, restart ${this.#restarts})`),
        (error: unknown) => {
          if (this.#stopping) return;
          this.#failures++;
          this.#scheduleRestart(error instanceof Error ? error.message : String(error));
        },
      );
    }, delay);
  }

  /** Stops it for good: no more restarts; the IPC stop message, then SIGTERM and SIGKILL each after the grace time. */
  async stop(): Promise<ExitInfo | undefined> {
    this.#stopping = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    const child = this.#child;
    if (child === undefined || !child.alive) {
      if (this.#status !== 'failed') this.#status = 'stopped';
      return child?.exit;
    }
    this.#status = 'stopping';
    const exit = await child.stop(this.plan.stopGraceMs);
    this.#status = 'stopped';
    return exit;
  }

  /** Sends a signal to the running process (tests: kill -9). */
  signal(signal: ChildSignal): void {
    this.#child?.signal(signal);
  }
}
