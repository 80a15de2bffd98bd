import { describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from '../src/index.js';
import { SAME_SIGNAL_MS, stopRequestRule } from '../src/process-control.js';

/** Only `now()` matters to the rule; the timers are never used. */
function clockAt(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    setTimeout: () => ({}) as TimerHandle,
    clearTimeout: () => {},
  };
}

describe('the stop request rule', () => {
  it('stops on the first request and takes one Ctrl-C delivered twice (pnpm relays it) as one', () => {
    const clock = clockAt(1_000);
    const decide = stopRequestRule(clock);
    expect(decide('SIGINT')).toBe('stop');
    clock.advance(3);
    expect(decide('SIGINT')).toBe('ignore');
  });

  it('exits at once on the same signal after the window: a second Ctrl-C', () => {
    const clock = clockAt(0);
    const decide = stopRequestRule(clock);
    expect(decide('SIGINT')).toBe('stop');
    clock.advance(SAME_SIGNAL_MS);
    expect(decide('SIGINT')).toBe('exit');
  });

  it('exits at once on another signal, or on a signal after a message, at any time', () => {
    const afterSignal = stopRequestRule(clockAt(0));
    expect(afterSignal('SIGINT')).toBe('stop');
    expect(afterSignal('SIGTERM')).toBe('exit');
    const afterMessage = stopRequestRule(clockAt(0));
    expect(afterMessage('message')).toBe('stop');
    expect(afterMessage('SIGINT')).toBe('exit');
  });

  it('ignores a second message or a disconnect while stopping', () => {
    const decide = stopRequestRule(clockAt(0));
    expect(decide('SIGTERM')).toBe('stop');
    expect(decide('message')).toBe('ignore');
    expect(decide('disconnect')).toBe('ignore');
  });
});
