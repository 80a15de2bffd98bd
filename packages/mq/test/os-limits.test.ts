import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FRAME_BYTES } from '@streampy/codec';
import { defaultMaxDatagramBytes } from '../src/os-limits.js';

describe("the node's default datagram size", () => {
  it('is the protocol limit where the OS sends any datagram that large', () => {
    expect(defaultMaxDatagramBytes('linux', () => {
      throw new Error('not asked');
    })).toBe(DEFAULT_MAX_FRAME_BYTES);
    expect(defaultMaxDatagramBytes('win32')).toBe(DEFAULT_MAX_FRAME_BYTES);
  });

  it("is macOS' net.inet.udp.maxdgram, so no reply is packed larger than the OS sends", () => {
    const asked: string[] = [];
    expect(defaultMaxDatagramBytes('darwin', (name) => (asked.push(name), '9216\n'))).toBe(9216);
    expect(asked).toEqual(['net.inet.udp.maxdgram']);
    expect(defaultMaxDatagramBytes('darwin', () => '65535')).toBe(DEFAULT_MAX_FRAME_BYTES);
  });

  it("assumes macOS' default when sysctl cannot be asked or answers nonsense", () => {
    expect(defaultMaxDatagramBytes('darwin', () => {
      throw new Error('ENOENT');
    })).toBe(9216);
    expect(defaultMaxDatagramBytes('darwin', () => 'n/a')).toBe(9216);
  });
});
