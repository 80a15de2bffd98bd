import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeText } from '@streampy/codec';
import { seededRandom } from '@streampy/runtime';
import { collectAsyncResult, collectResult, routeChoice } from '../src/results.js';
import { keyFraction, outputKey } from '../src/keys.js';
import { BUILTIN_FUNCTIONS, WorkerError } from '../src/index.js';

const texts = (items: { choice: number | undefined; body: Uint8Array }[]): [number | undefined, string][] =>
  items.map((item) => [item.choice, decodeText(item.body)]);

describe('collectResult', () => {
  it('treats a string or bytes as one message, never as an iterable', () => {
    expect(texts(collectResult('pong'))).toEqual([[undefined, 'pong']]);
    expect(texts(collectResult(new Uint8Array([0x68, 0x69])))).toEqual([[undefined, 'hi']]);
  });

  it('sends nothing for falsy results, as the prototype', () => {
    for (const result of [undefined, null, false, '', new Uint8Array(0)] as const) expect(collectResult(result)).toEqual([]);
  });

  it('routes a number-first pair and keeps arrays of messages as lists', () => {
    expect(texts(collectResult([3, 'x']))).toEqual([[3, 'x']]);
    expect(texts(collectResult(['a', 'b']))).toEqual([[undefined, 'a'], [undefined, 'b']]);
    expect(texts(collectResult([[0, 'a'], 'b', [1, 'c'], null, '']))).toEqual([[0, 'a'], [undefined, 'b'], [1, 'c']]);
  });

  it('iterates generators and other iterables', () => {
    function* gen(): Generator<string | [number, string]> {
      yield 'one';
      yield [2, 'two'];
    }
    expect(texts(collectResult(gen()))).toEqual([[undefined, 'one'], [2, 'two']]);
    expect(texts(collectResult(new Set(['s'])))).toEqual([[undefined, 's']]);
  });

  it('iterates async generators', async () => {
    async function* gen(): AsyncGenerator<string> {
      yield 'a';
      await Promise.resolve();
      yield 'b';
    }
    expect(texts(await collectAsyncResult(gen()))).toEqual([[undefined, 'a'], [undefined, 'b']]);
  });

  it('rejects results that are not messages with ERR_BAD_RESULT', () => {
    for (const bad of [42, { a: 1 }, [1.5, 'x'], [['nested', 'list']]] as unknown[]) {
      expect(() => collectResult(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_BAD_RESULT' }) as Error);
    }
  });
});

describe('routing helpers', () => {
  it('routeChoice is choice mod outputs, in range also for negative choices', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 50 }), (choice, outputs) => {
        const index = routeChoice(choice, outputs);
        expect(index).toBeGreaterThanOrEqual(0);
        expect(index).toBeLessThan(outputs);
        expect((index - choice) % outputs === 0).toBe(true);
      }),
    );
    expect(routeChoice(5, 3)).toBe(2);
    expect(routeChoice(-1, 3)).toBe(2);
  });

  it('seededRandom repeats with the same seed and differs with another', () => {
    const draw = (seed: number): number[] => {
      const random = seededRandom(seed);
      return Array.from({ length: 20 }, () => random());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    for (const value of draw(123)) expect(value >= 0 && value < 1).toBe(true);
  });
});

describe('exactly-once keys', () => {
  it('outputKey is deterministic, protocol-safe and differs on every component', () => {
    const base = outputKey('127.0.0.1:9000', '', '42', 0, 0);
    expect(outputKey('127.0.0.1:9000', '', '42', 0, 0)).toBe(base);
    expect(base).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const variants = [
      outputKey('127.0.0.1:9001', '', '42', 0, 0),
      outputKey('127.0.0.1:9000', 'jobs', '42', 0, 0),
      outputKey('127.0.0.1:9000', '', '43', 0, 0),
      outputKey('127.0.0.1:9000', '', '42', 1, 0),
      outputKey('127.0.0.1:9000', '', '42', 0, 1),
    ];
    expect(new Set([base, ...variants]).size).toBe(6);
    const fraction = keyFraction(base);
    expect(fraction >= 0 && fraction < 1).toBe(true);
  });
});

describe('built-in functions', () => {
  const context = { input: 0 };
  it('pong plays ping and pong and rejects anything else with a typed error', () => {
    expect(BUILTIN_FUNCTIONS.pong?.('ping', context)).toBe('pong');
    expect(BUILTIN_FUNCTIONS.pong?.('pong', context)).toBe('ping');
    expect(() => BUILTIN_FUNCTIONS.pong?.('hello', context)).toThrow(WorkerError);
    expect(() => BUILTIN_FUNCTIONS.pong?.('hello', context)).toThrow(expect.objectContaining({ code: 'ERR_REJECTED_INPUT' }) as Error);
  });

  it('passthrough, upper, double and words', () => {
    expect(BUILTIN_FUNCTIONS.passthrough?.('x y', context)).toBe('x y');
    expect(BUILTIN_FUNCTIONS.upper?.('abc', context)).toBe('ABC');
    expect(BUILTIN_FUNCTIONS.double?.('ab', context)).toBe('abab');
    expect([...(BUILTIN_FUNCTIONS.words?.(' a  b c ', context) as Iterable<string>)]).toEqual(['a', 'b', 'c']);
  });
});
