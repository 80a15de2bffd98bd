import { describe, expect, it } from 'vitest';
import type { NodeStats, QueueStats } from '@streampy/codec';
import type { Snapshot, Summary } from '../src/game.js';
import { readQueueCounts, ballsHeld, ballsInPlay } from '../src/queue-stats.js';
import { ballVerdict, renderLine, renderScreen, renderSummary } from '../src/view.js';

const counts = { ready: 2, leased: 1, delayed: 0, puts: 1003, acks: 1000, recent: ['ping', 'pong', 'ping'] };

const directionStats = { received: 10, forwarded: 9, dropped: 1, duplicated: 2, reordered: 3, delayed: 0, corrupted: 0, pending: 0, discarded: 0 };

function snapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    elapsedSeconds: 2.5,
    rounds: 1000,
    roundsPerSecond: 8123.4,
    counts,
    ballsSeeded: 3,
    guarantee: 'at-least-once',
    faults: undefined,
    proxy: undefined,
    ...overrides,
  };
}

const QUEUE: QueueStats = { size: 0, leased: 0, delayed: 0, bytes: 0, puts: 0, gets: 0, reserves: 0, acks: 0, nacks: 0, redeliveries: 0, deadLettered: 0, duplicates: 0, rejectedFull: 0 };

/** A node's STATS with every counter 0 but those given. */
function nodeStats(queues: Record<string, Partial<QueueStats>>, recent?: string[]): NodeStats {
  const base = { address: '127.0.0.1:1', engine: 'memory', uptimeMs: 0, datagramsIn: 0, datagramsOut: 0, framesIn: 0, badFrames: 0, unknownVerbs: 0, badRequests: 0, errors: 0, sendErrors: 0, deadLettersForwarded: 0, deadLettersPending: 0 };
  const filled = Object.fromEntries(Object.entries(queues).map(([name, counters]) => [name, { ...QUEUE, ...counters }]));
  return recent === undefined ? { ...base, queues: filled } : { ...base, queues: filled, recent };
}

describe('readQueueCounts', () => {
  it('reads the default queue and the recent bodies', () => {
    const read = readQueueCounts(nodeStats({ default: { size: 2, leased: 1, delayed: 4, puts: 9, gets: 3, acks: 5 }, other: { size: 50 } }, ['ping', 'pong']));
    expect(read).toEqual({ ready: 2, leased: 1, delayed: 4, puts: 9, acks: 5, recent: ['ping', 'pong'] });
    expect(read && ballsHeld(read)).toBe(7);
  });

  it('shows no recent bodies when the node sends none, and nothing before the default queue exists', () => {
    expect(readQueueCounts(nodeStats({ default: { size: 1 } }))).toEqual({ ready: 1, leased: 0, delayed: 0, puts: 0, acks: 0, recent: [] });
    expect(readQueueCounts(nodeStats({}))).toBeUndefined();
  });
});

describe('ballsInPlay', () => {
  // One ball under a lease, caught between the worker's put of the return and its ack: the node
  // holds the return (ready) and the ball (leased). That is one ball, not a duplicate.
  const between = { ready: 1, leased: 1, delayed: 0, puts: 101, acks: 99, recent: [] };

  it('does not count a leased ball whose return is already put', () => {
    expect(ballsHeld(between)).toBe(2);
    expect(ballsInPlay(between, 1, 'at-least-once')).toBe(1);
    expect(ballsInPlay(between, 1, 'exactly-once')).toBe(1);
    expect(renderLine(snapshot({ counts: between, ballsSeeded: 1 }))).toContain(' balls=1/1 ');
  });

  it('still shows a real duplicate, and a ball leased but not yet returned', () => {
    // A redelivered ball played twice: two returns for one ack, nothing leased.
    expect(ballsInPlay({ ready: 2, leased: 0, delayed: 0, puts: 102, acks: 100, recent: [] }, 1, 'at-least-once')).toBe(2);
    // In the worker's hand, its return not put yet: still one ball.
    expect(ballsInPlay({ ready: 0, leased: 1, delayed: 0, puts: 100, acks: 99, recent: [] }, 1, 'at-least-once')).toBe(1);
    // Under at-most-once a ball taken by GET is in no queue.
    expect(ballsInPlay({ ready: 0, leased: 0, delayed: 0, puts: 100, acks: 0, recent: [] }, 1, 'at-most-once')).toBe(0);
  });
});

describe('live view', () => {
  it('shows rate, rounds, queue, balls, recent and the guarantee on the screen', () => {
    const text = renderScreen(snapshot()).join('\n');
    expect(text).toContain('rounds/s   8,123');
    expect(text).toContain('rounds     1,000');
    expect(text).toContain('3 (2 ready, 1 leased, 0 delayed)');
    expect(text).toContain('3 seeded, 3 in play: all here');
    expect(text).toContain('ping  pong  ping');
    expect(text).toContain('at-least-once, faults: none');
    expect(text).not.toContain('proxy');
  });

  it('shows the fault proxy and its counts when there is one', () => {
    const proxied = snapshot({
      faults: { drop: 0.1, duplicate: 0.2, reorder: 0, delayMs: 5 },
      proxy: { toTarget: directionStats, toClient: directionStats, sessions: 1, sessionsOpened: 1, sessionsClosed: 0, foreign: 0, socketErrors: 0 },
    });
    const text = renderScreen(proxied).join('\n');
    expect(text).toContain('[ fault proxy ]');
    expect(text).toContain('faults: drop=0.1 dup=0.2 delay=5');
    expect(text).toContain('to queue:  9 passed, 1 dropped, 2 duplicated, 3 reordered');
    expect(renderLine(proxied)).toContain('proxy dropped=2 duplicated=4 reordered=6');
  });

  it('says when balls are missing or extra', () => {
    expect(ballVerdict(3, 3)).toBe('all here');
    expect(ballVerdict(3, 1)).toMatch(/^2 not in the queue/);
    expect(ballVerdict(1, 4)).toMatch(/^3 over/);
  });

  it('prints one plain progress line without escape codes', () => {
    const line = renderLine(snapshot());
    expect(line).toBe('t=2.5s rounds/s=8123 rounds=1000 queue=3 (ready 2, leased 1, delayed 0) balls=3/3 recent=ping,pong,ping guarantee=at-least-once faults=none');
    expect(line).not.toContain('\u001b');
  });

  it('sums up a run that lost balls honestly', () => {
    const summary: Summary = { rounds: 50, seconds: 2, roundsPerSecond: 25, ballsSeeded: 3, ballsAtEnd: 1, guarantee: 'at-most-once', faults: null, pids: [1, 2] };
    expect(renderSummary(summary).join('\n')).toContain('3 seeded, 1 at the end: 2 lost');
    expect(renderSummary({ ...summary, ballsAtEnd: 3 }).join('\n')).toContain('conserved');
  });
});
