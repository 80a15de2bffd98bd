/*
 * Graceful stop on every OS. Signals are the way on POSIX, but on Windows `kill()` ends a
 * process at once, so a node could never finish the message in hand there. A parent that
 * starts a node with an IPC channel (`fork`, or `spawn` with an `'ipc'` stdio entry) asks it
 * to stop with a message instead, which works the same everywhere; and a node whose channel
 * closes (its parent died) stops too, so it is never left running as an orphan.
 */

/** The message a parent sends over the IPC channel to ask a streampy process to stop gracefully. */
export const STOP_MESSAGE: { readonly type: 'streampy:stop' } = Object.freeze({ type: 'streampy:stop' });

/** The signals a node stops on where the OS has them. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** Why a node was asked to stop: a signal, the IPC stop message, or its parent's IPC channel closing. */
export type StopReason = StopSignal | 'message' | 'disconnect';

const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM'];

/** Whether an IPC message is `STOP_MESSAGE` (anything else a parent sends is ignored). */
export function isStopMessage(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === STOP_MESSAGE.type;
}

/**
 * Calls `stop` once, on the first stop request: SIGINT or SIGTERM, the IPC `STOP_MESSAGE`, or
 * the IPC channel to the parent closing. A signal while already stopping exits at once (130), as
 * a second Ctrl-C should; a second message or a late disconnect changes nothing, so a parent's
 * message racing a terminal's Ctrl-C cannot cut a graceful stop short. Returns a function that
 * removes the handlers.
 *
 * The IPC channel is unref'd: it never keeps the process alive by itself, so a command that
 * finishes its work exits as it would without a parent.
 */
export function onStopRequest(stop: (reason: StopReason) => void): () => void {
  let stopping = false;
  let removed = false;
  const request = (reason: StopReason): void => {
    if (removed) return;
    if (stopping) {
      if (reason === 'SIGINT' || reason === 'SIGTERM') process.exit(130);
      return;
    }
    stopping = true;
    stop(reason);
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
