import { parseLeaseToken, parseNodeStats, type Delivery } from '@streampy/codec';
import { describe, expect, it } from 'vitest';
import { TestPeer, nodeFixtures, text } from './udp.js';

const setup = nodeFixtures();

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Nonces near `nonce`: each character changed to its neighbours, and the whole nonce shifted. */
function nearbyNonces(nonce: string): string[] {
  const out = new Set<string>([nonce, nonce.split('').reverse().join(''), nonce.slice(1) + nonce[0], 'A'.repeat(nonce.length)]);
  for (let i = 0; i < nonce.length; i++) {
    const at = ALPHABET.indexOf(nonce[i] as string);
    for (const step of [1, -1, 2]) out.add(nonce.slice(0, i) + (ALPHABET[(at + step + ALPHABET.length) % ALPHABET.length] as string) + nonce.slice(i + 1));
  }
  return [...out];
}

async function reserveAll(peer: TestPeer, address: TestPeer['address'], queue: string, max: number): Promise<Delivery[]> {
  const reply = await peer.call(address, { id: 'r', verb: 'RESERVE', queue, max, leaseMs: 600_000 });
  if (reply.kind !== 'leased') throw new Error(`expected LEASED, got ${reply.kind}`);
  return reply.deliveries;
}

describe('lease tokens', () => {
  it('cannot be guessed: thousands of ACKs derived from a held token and STATS take no one else’s lease', async () => {
    const { node, peer: victim } = await setup();
    const attacker = await TestPeer.open();
    try {
      for (let i = 0; i < 100; i++) await victim.exchange(node.address, `PUT q=jobs:victim-${i}`);
      await attacker.exchange(node.address, 'PUT q=jobs:attacker');
      const theirs = await reserveAll(victim, node.address, 'jobs', 100);
      const [mine] = await reserveAll(attacker, node.address, 'jobs', 1);
      expect(theirs).toHaveLength(100);
      expect(text(mine?.body ?? new Uint8Array(0))).toBe('attacker');

      // What the attacker knows: its own token and everything STATS tells.
      const own = parseLeaseToken(mine?.token ?? '');
      if (own === undefined) throw new Error('unreadable token');
      const stats = parseNodeStats(JSON.parse(text(await attacker.exchange(node.address, 'STATS')).slice('STATS:'.length)));
      expect(stats.queues.jobs).toMatchObject({ leased: 101 });
      const seq = parseInt(own.messageId, 36);
      const messageIds = new Set<string>();
      // Message ids are no secret: they are sequential and come from the clock.
      for (let k = 1; k <= 120; k++) messageIds.add((seq - k).toString(36));
      const clockSeq = (Date.now() - stats.uptimeMs) * 1000;
      for (let k = 0; k < 40; k++) messageIds.add((clockSeq + k).toString(36));
      const guesses: string[] = [];
      for (const messageId of messageIds) {
        for (const nonce of nearbyNonces(own.nonce)) guesses.push(`${messageId}.1.${nonce}`);
        guesses.push(`${messageId}.1`, `${messageId}.2.${own.nonce}`);
      }
      expect(guesses.length).toBeGreaterThan(5_000);

      let refused = 0;
      for (let start = 0; start < guesses.length; start += 200) {
        const batch = guesses.slice(start, start + 200).map((token, i) => `#g${start + i} ACK ${token} q=jobs`);
        const { frames } = await attacker.exchangeBatch(node.address, batch);
        for (const [i, frame] of frames.entries()) {
          const reply = text(frame);
          if (reply.startsWith(`#g${start + i} ERR UNKNOWN_LEASE `)) refused++;
          else expect.fail(`guess ${batch[i] ?? ''} got ${reply}`);
        }
      }
      expect(refused).toBe(guesses.length);
      expect(node.stats().queues.jobs).toMatchObject({ leased: 101, acks: 0 });

      // The victim's leases are all still its own.
      const acks = await victim.exchangeBatch(node.address, theirs.map((d, i) => `#a${i} ACK ${d.token} q=jobs`));
      expect(acks.frames.map(text)).toEqual(theirs.map((_, i) => `#a${i} OK`));
      expect(text(await attacker.exchange(node.address, `ACK ${mine?.token ?? ''} q=jobs`))).toBe('OK');
      expect(node.stats().queues.jobs).toMatchObject({ leased: 0, acks: 101 });
    } finally {
      await attacker.close();
    }
  });

  it('changes with every delivery of a message, keeping its message id', async () => {
    const { node, peer } = await setup();
    await peer.exchange(node.address, 'PUT:again');
    const tokens: string[] = [];
    for (let i = 0; i < 5; i++) {
      const [delivery] = await reserveAll(peer, node.address, 'default', 1);
      tokens.push(delivery?.token ?? '');
      expect(text(await peer.exchange(node.address, `NACK ${delivery?.token ?? ''}`))).toBe('OK');
    }
    const parts = tokens.map((token) => parseLeaseToken(token));
    expect(new Set(parts.map((p) => p?.messageId)).size).toBe(1);
    expect(parts.map((p) => p?.delivery)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(parts.map((p) => p?.nonce)).size).toBe(5);
  });
});
