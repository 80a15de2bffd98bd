import { decodeText, type Delivery } from '@streampy/codec';
import { errorCode } from './errors.js';
import type { WorkerFunction, WorkerResult } from './functions.js';
import type { Input } from './inputs.js';
import type { Report } from './report.js';
import { collectAsyncResult, collectResult, isAsyncIterable, type Emitted } from './results.js';

function isThenable(value: unknown): value is PromiseLike<WorkerResult> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * The function layer: calls `fn` on one message and collects what it asks to send. The body is
 * decoded here, once, because the function takes text; everything before and after moves bytes.
 */
export class Apply {
  readonly #fn: WorkerFunction;
  readonly #report: Report;

  constructor(fn: WorkerFunction, report: Report) {
    this.#fn = fn;
    this.#report = report;
  }

  /**
   * The messages the function asks to send, or undefined when it rejected the input; a promise
   * only when the function returned one (or an async iterable). Never throws, never rejects.
   * With histograms, the time from the call to the result collected (an async one's settling).
   */
  run(input: Input, body: Uint8Array, leased: Delivery | undefined): Emitted[] | undefined | Promise<Emitted[] | undefined> {
    const timing = this.#report.histograms?.functionTime;
    if (timing === undefined) return this.#call(input, body, leased);
    const started = performance.now();
    const emitted = this.#call(input, body, leased);
    if (!(emitted instanceof Promise)) {
      if (emitted !== undefined) timing.observeSince(started);
      return emitted;
    }
    return emitted.then((settled) => {
      if (settled !== undefined) timing.observeSince(started);
      return settled;
    });
  }

  #call(input: Input, body: Uint8Array, leased: Delivery | undefined): Emitted[] | undefined | Promise<Emitted[] | undefined> {
    try {
      const context = leased === undefined ? input.context : { input: input.index, deliveries: leased.deliveries };
      const result = this.#fn(decodeText(body), context);
      if (isThenable(result)) {
        return Promise.resolve(result)
          .then((settled) => (isAsyncIterable(settled) ? collectAsyncResult(settled) : collectResult(settled)))
          .catch((error: unknown) => this.#rejected(input, leased, error));
      }
      if (isAsyncIterable(result)) return collectAsyncResult(result).catch((error: unknown) => this.#rejected(input, leased, error));
      return collectResult(result);
    } catch (error) {
      return this.#rejected(input, leased, error);
    }
  }

  #rejected(input: Input, leased: Delivery | undefined, error: unknown): undefined {
    this.#report.stats.rejected++;
    this.#report.log.warn('input rejected', {
      input: input.label,
      code: errorCode(error),
      error: error instanceof Error ? error.message : String(error),
      deliveries: leased?.deliveries,
    });
    return undefined;
  }
}
