import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LEASE_TOKEN_MAX_LENGTH, PROTOCOL_LIMITS, formatLeaseToken, isName, parseLeaseToken, type LeaseToken } from '../src/index.js';

const token: fc.Arbitrary<LeaseToken> = fc.record({
  messageId: fc.stringMatching(/^[0-9a-z]{1,16}$/),
  delivery: fc.integer({ min: 1, max: 65_535 }),
  nonce: fc.stringMatching(/^[A-Za-z0-9_-]{1,22}$/),
});

describe('lease tokens', () => {
  it('round trip, and every token is a protocol name', () => {
    fc.assert(
      fc.property(token, (parts) => {
        const text = formatLeaseToken(parts);
        expect(text).toBe(`${parts.messageId}.${parts.delivery}.${parts.nonce}`);
        expect(text.length).toBeLessThanOrEqual(LEASE_TOKEN_MAX_LENGTH);
        expect(isName(text)).toBe(true);
        expect(parseLeaseToken(text)).toEqual(parts);
      }),
      { numRuns: 500 },
    );
  });

  it('fits a protocol name at its longest', () => {
    const longest = formatLeaseToken({ messageId: 'z'.repeat(16), delivery: 65_535, nonce: 'N'.repeat(22) });
    expect(longest.length).toBe(LEASE_TOKEN_MAX_LENGTH);
    expect(LEASE_TOKEN_MAX_LENGTH).toBeLessThanOrEqual(PROTOCOL_LIMITS.maxNameLength);
    expect(parseLeaseToken(longest)).toEqual({ messageId: 'z'.repeat(16), delivery: 65_535, nonce: 'N'.repeat(22) });
  });

  it('parses the smallest', () => {
    expect(parseLeaseToken('0.1.a')).toEqual({ messageId: '0', delivery: 1, nonce: 'a' });
  });

  it('rejects anything else', () => {
    const bad = [
      '', 'abc', 'a.1', 'a.1.', '.1.n', 'a..n', 'a.1.n.x', 'a.1.n.', // missing parts, extra dots
      'A.1.n', 'a-b.1.n', 'a_b.1.n', 'é.1.n', 'a.1.n!', 'a.1.n n', 'a.1.nø', 'a.1.n.', // wrong charset
      'a.01.n', 'a.0.n', 'a.00001.n', 'a.-1.n', 'a.+1.n', 'a.1e3.n', 'a. 1.n', 'a.65536.n', 'a.100000.n', // delivery
      `${'a'.repeat(17)}.1.n`, `a.1.${'n'.repeat(23)}`, 'a.123456.n', // too long
    ];
    for (const text of bad) expect(parseLeaseToken(text), text).toBeUndefined();
  });

  it('refuses to format parts outside the format', () => {
    const good = { messageId: 'a1', delivery: 1, nonce: 'n' };
    for (const parts of [
      { ...good, messageId: '' },
      { ...good, messageId: 'A' },
      { ...good, messageId: 'a'.repeat(17) },
      { ...good, delivery: 0 },
      { ...good, delivery: 65_536 },
      { ...good, delivery: 1.5 },
      { ...good, nonce: '' },
      { ...good, nonce: 'a.b' },
      { ...good, nonce: 'n'.repeat(23) },
    ]) {
      expect(() => formatLeaseToken(parts), JSON.stringify(parts)).toThrow(RangeError);
    }
  });
});
