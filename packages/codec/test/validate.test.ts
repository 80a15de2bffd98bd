import { describe, expect, it } from 'vitest';
import { PROTOCOL_LIMITS, checkInteger, checkName, isName, isQueueName, isStreampyError, type StreampyError } from '../src/index.js';

function thrown(fn: () => unknown): StreampyError {
  try {
    fn();
  } catch (error) {
    if (isStreampyError(error)) return error;
    throw error;
  }
  throw new Error('did not throw');
}

describe('isName', () => {
  it('accepts 1-64 characters of the name rule', () => {
    for (const good of ['a', 'Z', '0', '_', '.', '-', 'jobs.in-1_A', 'x'.repeat(PROTOCOL_LIMITS.maxNameLength)]) expect(isName(good), good).toBe(true);
  });

  it('refuses empty, too long and any other character', () => {
    for (const bad of ['', 'x'.repeat(65), 'a b', 'a/b', 'a:b', 'é', 'a\u0000', '#a', 'a=b', '😀']) expect(isName(bad), bad).toBe(false);
  });

  it('takes another maximum', () => {
    expect(isName('x'.repeat(32), 32)).toBe(true);
    expect(isName('x'.repeat(33), 32)).toBe(false);
  });
});

describe('checkName', () => {
  it('returns a valid name', () => {
    expect(checkName('queue name', 'jobs')).toBe('jobs');
  });

  it('throws ERR_INVALID_ARGUMENT, or the code given, with the rule in the message', () => {
    const error = thrown(() => checkName('queue name', 'a/b'));
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(error.message).toBe('queue name must be 1-64 characters of A-Z a-z 0-9 _ . -, got "a/b"');
    expect(thrown(() => checkName('runId', 'x'.repeat(33), 'ERR_BAD_OPTION', 32)).code).toBe('ERR_BAD_OPTION');
    expect(thrown(() => checkName('key', 'y'.repeat(200))).message).toContain(`got "${'y'.repeat(80)}"`);
  });
});

describe('checkInteger', () => {
  it('returns an integer in range', () => {
    expect(checkInteger('max', 1, 1, 1000)).toBe(1);
    expect(checkInteger('max', 1000, 1, 1000)).toBe(1000);
  });

  it('throws for fractions, NaN, infinities and values out of range', () => {
    for (const bad of [0, 1001, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -1]) {
      const error = thrown(() => checkInteger('max', bad, 1, 1000));
      expect(error.code).toBe('ERR_INVALID_ARGUMENT');
      expect(error.message).toBe(`max must be an integer from 1 to 1000, got ${String(bad)}`);
    }
    expect(thrown(() => checkInteger('port', 70_000, 0, 65_535, 'ERR_BAD_OPTION')).code).toBe('ERR_BAD_OPTION');
  });
});

describe('isQueueName', () => {
  it('is a name that does not start with a dot', () => {
    expect(isQueueName('jobs')).toBe(true);
    expect(isQueueName('a.b')).toBe(true);
    expect(isQueueName('-x')).toBe(true);
    expect(isQueueName('.hidden')).toBe(false);
    expect(isQueueName('..')).toBe(false);
    expect(isQueueName('')).toBe(false);
    expect(isQueueName('a/b')).toBe(false);
  });
});
