import { encodeFrame } from '@streampy/codec';
import { describe, expect, it } from 'vitest';
import { ManualClock, TestPeer, recordingLogger, silentLogger, text, waitFor } from '../src/index.js';

describe('ManualClock', () => {
  it('runs due timers in deadline order, ties in the order set, with now() at each deadline', () => {
    const clock = new ManualClock(1_000);
    const ran: string[] = [];
    clock.setTimeout(() => ran.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => ran.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => ran.push(`b@${clock.now()}`), 10);
    clock.setTimeout(() => ran.push(`late@${clock.now()}`), 31);
    clock.advance(30);
    expect(ran).toEqual(['a@1010', 'b@1010', 'c@1030']);
    expect(clock.now()).toBe(1_030);
    expect(clock.pending).toBe(1);
    clock.advance(1);
    expect(ran.at(-1)).toBe('late@1031');
  });

  it('runs timers set by timers when they fall inside the advance, and not those beyond it', () => {
    const clock = new ManualClock();
    const ran: number[] = [];
    const tick = (): void => {
      ran.push(clock.now());
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    clock.advance(350);
    expect(ran).toEqual([100, 200, 300]);
    expect(clock.nextDeadline()).toBe(400);
    expect(clock.runNext()).toBe(true);
    expect(ran).toEqual([100, 200, 300, 400]);
  });

  it('clears timers, treats negative delays as zero, and refuses a negative advance', () => {
    const clock = new ManualClock();
    let count = 0;
    const handle = clock.setTimeout(() => count++, 5);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    clock.setTimeout(() => count++, -20);
    clock.advance(0);
    expect(count).toBe(1);
    clock.advance(10);
    expect(count).toBe(1);
    expect(clock.runNext()).toBe(false);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });

  it('stops a timer that keeps setting itself at 0 ms instead of looping forever', () => {
    const clock = new ManualClock();
    const again = (): void => void clock.setTimeout(again, 0);
    clock.setTimeout(again, 0);
    expect(() => clock.advance(1)).toThrow(/keeps setting itself/);
  });
});

describe('waitFor', () => {
  it('resolves with the first value that is not false, undefined or null', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it('rejects after its deadline, naming what it waited for', async () => {
    await expect(waitFor(() => false, { timeoutMs: 20, intervalMs: 5, what: 'the impossible' })).rejects.toThrow(/the impossible/);
  });
});

describe('loggers', () => {
  it('records lines at or above its level; the silent one drops everything', () => {
    const logger = recordingLogger('info');
    logger.debug('hidden');
    logger.info('opened', { queue: 'q' });
    logger.error('failed');
    expect(logger.enabled('debug')).toBe(false);
    expect(logger.records.map((r) => r.event)).toEqual(['opened', 'failed']);
    expect(logger.find({ level: 'error' })).toEqual([{ level: 'error', event: 'failed', fields: {} }]);
    expect(silentLogger().enabled('error')).toBe(false);
  });
});

describe('TestPeer', () => {
  it('exchanges frames with a server peer over real sockets, with a bounded wait', async () => {
    const server = await TestPeer.open({ reply: (datagram) => encodeFrame(`echo ${datagram.length}`) });
    const client = await TestPeer.open();
    try {
      expect(text(await client.exchange(server.address, 'PING'))).toBe('echo 6');
      expect(client.lastSender).toEqual(server.address);
      expect(server.received).toBe(1);
      // Nothing was sent to the client: the wait ends with an error instead of hanging.
      await expect(client.next(30)).rejects.toThrow(/no datagram within 30 ms/);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
