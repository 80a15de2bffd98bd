export interface WaitForOptions {
  /** Give up after this long. Default 10000: generous, since the test machine is shared; never an assertion on speed. */
  readonly timeoutMs?: number;
  /** Pause between checks. Default 10. */
  readonly intervalMs?: number;
  /** What is awaited, for the error message. */
  readonly what?: string;
}

/**
 * Polls `predicate` until it returns something other than `false`, `undefined` or `null`,
 * and resolves with that value; rejects after `timeoutMs`, naming `what`. For waiting on
 * something that must happen over real sockets or processes; a test of something that must
 * NOT happen uses a manual clock instead.
 */
export async function waitFor<T>(
  predicate: () => T | false | undefined | null | Promise<T | false | undefined | null>,
  options: WaitForOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 10, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (let checks = 1; ; checks++) {
    const value = await predicate();
    if (value !== false && value !== undefined && value !== null) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms (${checks} checks) waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
