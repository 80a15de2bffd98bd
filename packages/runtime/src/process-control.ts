/*
 * Graceful stop on every OS. Signals are the way on POSIX, but on Windows `kill()` ends a
 * process at once, so a node could never finish the message in hand there. A parent that
 * starts a node with an IPC channel (`fork`, or `spawn` with an `'ipc'` stdio entry) asks it
 * to stop with a message instead, which works the same everywhere; and a node whose channel
 * closes (its parent died) stops too, so it is never left running as an orphan.
 */

import { systemClock, type Clock } from './clock.js';

/** The message a parent sends over the IPC channel to ask a streampy process to stop gracefully. */
export const STOP_MESSAGE: { readonly type: 'streampy:stop' } = Object.freeze({ type: 'streampy:stop' });

/** The signals a node stops on where the OS has them. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** Why a node was asked to stop: a signal, the IPC stop message, or its parent's IPC channel closing. */
export type StopReason = StopSignal | 'message' | 'disconnect';

const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM'];

/** How soon after a stop signal the same signal again is taken as the same request, not a second Ctrl-C. */
export const SAME_SIGNAL_MS = 500;

export interface StopRequestOptions {
  /** Where time comes from (tests inject a manual clock). */
  readonly clock?: Clock;
}

/**
 * What `onStopRequest` does with each request, apart from the process: the first one stops;
 * after it a signal exits at once, unless it is the first signal repeated within
 * `SAME_SIGNAL_MS`; anything else is ignored.
 */
export function stopRequestRule(clock: Clock): (reason: StopReason) => 'stop' | 'exit' | 'ignore' {
  let first: { readonly reason: StopReason; readonly at: number } | undefined;
  return (reason) => {
    if (first === undefined) {
      first = { reason, at: clock.now() };
      return 'stop';
    }
    const signal = reason === 'SIGINT' || reason === 'SIGTERM';
    const echo = reason === first.reason && clock.now() - first.at < SAME_SIGNAL_MS;
    return signal && !echo ? 'exit' : 'ignore';
  };
}

/** Whether an IPC message is `STOP_MESSAGE` (anything else a parent sends is ignored). */
export function isStopMessage(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === STOP_MESSAGE.type;
}

/**
 * Calls `stop` once, on the first stop request: SIGINT or SIGTERM, the IPC `STOP_MESSAGE`, or
 * the IPC channel to the parent closing. A signal while already stopping exits at once (130), as
 * a second Ctrl-C should; a second message or a late disconnect changes nothing, so a parent's
 * message racing a terminal's Ctrl-C cannot cut a graceful stop short. The first signal repeated
 * within `SAME_SIGNAL_MS` is the same request: one Ctrl-C under `pnpm run` arrives twice (the
 * terminal sends SIGINT to the whole process group, and pnpm relays it to its script as well).
 * Returns a function that removes the handlers.
 *
 * The IPC channel is unref'd: it never keeps the process alive by itself, so a command that
 * finishes its work exits as it would without a parent.
 */
export function onStopRequest(stop: (reason: StopReason) => void, options: StopRequestOptions = {}): () => void {
  const decide = stopRequestRule(options.clock ?? systemClock);
  let removed = false;
  const request = (reason: StopReason): void => {
    if (removed) return;
    const action = decide(reason);
    if (action === 'stop') stop(reason);
    else if (action === 'exit') process.exit(130);
  };
  const onSignal = (signal: StopSignal): void => request(signal);
  const onMessage = (message: unknown): void => {
    if (isStopMessage(message)) request('message');
  };
  const onDisconnect = (): void => request('disconnect');
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  // `process.send` exists only when a parent gave this process an IPC channel.
  const ipc = typeof process.send === 'function';
  if (ipc) {
    process.on('message', onMessage);
    process.on('disconnect', onDisconnect);
    process.channel?.unref();
    // The parent may have closed the channel before this ran: that is a stop request too
    // (on the next turn, so the caller has finished setting up).
    if (!process.connected) setImmediate(onDisconnect);
  }
  return () => {
    removed = true;
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    if (ipc) {
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
    }
  };
}

/** The part of a `ChildProcess` that `requestStop` uses. */
export interface StoppableChild {
  readonly connected: boolean;
  send(message: typeof STOP_MESSAGE, callback: (error: Error | null) => void): boolean;
}

/**
 * Asks a child started with an IPC channel to stop gracefully (it listens with `onStopRequest`).
 * Returns false when it has no open channel: the caller falls back to a signal. A send that fails
 * because the child is exiting is no error: the caller waits for its exit either way.
 */
export function requestStop(child: StoppableChild): boolean {
  if (!child.connected) return false;
  try {
    child.send(STOP_MESSAGE, () => {});
    return true;
  } catch {
    // The channel closed between the check and the send (ERR_IPC_CHANNEL_CLOSED).
    return false;
  }
}
