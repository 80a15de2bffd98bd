import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrames, parseAuthHeader, scanFrames } from '@streampy/codec';
import { createAuthenticator, parseKeyFile, type Authenticator, type Clock, type HostPort, type Keyring } from '@streampy/runtime';
import { ManualClock, TestPeer, waitFor } from '@streampy/testing';
import { TimeoutError, createClient, type ClientOptions, type QueueClient } from '../src/index.js';
import { fakeQueue, text, type Responder } from './fake-node.js';

const RING: Keyring = parseKeyFile(`k1 ${'a1'.repeat(32)}\n`);
const START = 1_764_600_000_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const signed = (signer: Authenticator, role: 'request' | 'reply', body: Uint8Array): Uint8Array => Uint8Array.from(Buffer.concat([signer.signFrame(role, body), body]));

interface AuthNodeOptions {
  /** Called before the good reply, with the client's address and the reply's frames: send bad copies first. */
  readonly before?: (to: HostPort, body: Uint8Array, node: AuthNode) => void;
  /** False: datagram number `n` (from 1) is verified but not answered. */
  readonly answer?: (n: number) => boolean;
}

interface AuthNode {
  readonly peer: TestPeer;
  readonly signer: Authenticator;
  /** Every datagram's verdict, in arrival order: 'ok' or the reason it was refused. */
  readonly verdicts: string[];
  readonly nonces: string[];
  readonly sizes: number[];
  /** The client's address, once it has sent something. */
  client: HostPort | undefined;
  /** The last signed reply sent, to replay. */
  lastReply: Uint8Array | undefined;
}

/** A fake node that authenticates as the real one does: verifies every datagram, answers only good ones, signs its replies. */
async function authNode(clock: Clock, respond: Responder, options: AuthNodeOptions = {}): Promise<AuthNode> {
  const verifier = createAuthenticator(RING, { clock });
  const node: { -readonly [K in keyof AuthNode]: AuthNode[K] } = {
    peer: undefined as unknown as TestPeer,
    signer: createAuthenticator(RING, { clock }),
    verdicts: [],
    nonces: [],
    sizes: [],
    client: undefined,
    lastReply: undefined,
  };
  node.peer = await TestPeer.open({
    reply: (datagram, from) => {
      const bytes = new Uint8Array(datagram);
      node.client = from;
      node.sizes.push(bytes.length);
      node.nonces.push(parseAuthHeader(bytes)?.nonce ?? '');
      const verdict = verifier.verify('request', bytes);
      node.verdicts.push(verdict.ok ? 'ok' : verdict.reason);
      if (!verdict.ok || options.answer?.(node.verdicts.length) === false) return undefined;
      const replies = respond(scanFrames(verdict.rest).frames, from, undefined as never);
      if (replies === undefined) return undefined;
      const body = encodeFrames(replies);
      options.before?.(from, body, node);
      node.lastReply = signed(node.signer, 'reply', body);
      return node.lastReply;
    },
  });
  cleanups.push(() => node.peer.close());
  return node;
}

async function client(node: AuthNode, options: Partial<ClientOptions>): Promise<QueueClient> {
  const queue = await createClient({ address: node.peer.address, auth: RING, ...options });
  cleanups.push(() => queue.close());
  return queue;
}

const NONE = { unsigned: 0, unknownKey: 0, badMac: 0, stale: 0, replayed: 0, replayCacheFull: 0 };

describe('a client with a key', () => {
  it('signs every datagram and takes signed replies', async () => {
    const clock = new ManualClock(START);
    const node = await authNode(clock, fakeQueue());
    const queue = await client(node, { clock });
    expect(await queue.put('ping')).toEqual({ bytes: 4, duplicate: false });
    const results = await queue.putMany(['a', 'b', { message: 'c', key: 'k-3' }]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(await queue.size()).toBe(4);
    expect(text(await queue.get())).toBe('ping');
    expect(node.verdicts).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(new Set(node.nonces).size).toBe(4);
    expect(queue.authFailures).toEqual(NONE);
  });

  it('reads a key file given as a path, and refuses a missing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streampy-client-keys-'));
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const path = join(dir, 'keys');
    writeFileSync(path, `k1 ${'a1'.repeat(32)}\n`, { mode: 0o600 });
    const clock = new ManualClock(START);
    const node = await authNode(clock, fakeQueue());
    const queue = await client(node, { clock, auth: path });
    expect(await queue.size()).toBe(0);
    await expect(createClient({ address: node.peer.address, auth: join(dir, 'missing') })).rejects.toMatchObject({ code: 'ERR_KEY_FILE' });
  });

  it('drops unsigned, unknown-key, forged, wrong-role, stale and replayed replies, counting each, and takes the good one after them', async () => {
    const clock = new ManualClock(START);
    const stranger = createAuthenticator(parseKeyFile(`k1 ${'b2'.repeat(32)}\n`), { clock });
    const unknown = createAuthenticator(parseKeyFile(`k9 ${'a1'.repeat(32)}\n`), { clock });
    const late = createAuthenticator(RING, { clock: new ManualClock(START - 60_000) });
    const node = await authNode(clock, fakeQueue(), {
      before: (to, body, self) => {
        // Sent before the good reply, on the same loopback path: they arrive first, in this order.
        self.peer.send(to, body);
        self.peer.send(to, signed(unknown, 'reply', body));
        self.peer.send(to, signed(stranger, 'reply', body));
        self.peer.send(to, signed(self.signer, 'request', body));
        self.peer.send(to, signed(late, 'reply', body));
      },
    });
    const queue = await client(node, { clock });
    expect(await queue.put('x')).toEqual({ bytes: 1, duplicate: false });
    expect(queue.authFailures).toEqual({ ...NONE, unsigned: 1, unknownKey: 1, badMac: 2, stale: 1 });
    node.peer.send(node.client as HostPort, node.lastReply as Uint8Array);
    await waitFor(() => queue.authFailures?.replayed === 1, { what: 'the replayed reply to be counted' });
    expect(queue.authFailures).toEqual({ ...NONE, unsigned: 1, unknownKey: 1, badMac: 2, stale: 1, replayed: 1 });
  });

  it('signs a retry afresh, so the node takes it (it would refuse the same datagram twice)', async () => {
    const clock = new ManualClock(START);
    const node = await authNode(clock, fakeQueue(), { answer: (n) => n > 1 });
    const queue = await client(node, { clock, timeoutMs: 100, retries: 1, retryBackoffMs: 0 });
    const size = queue.size();
    await waitFor(() => node.verdicts.length === 1, { what: 'the first attempt' });
    clock.advance(100);
    expect(await size).toBe(0);
    expect(node.verdicts).toEqual(['ok', 'ok']);
    expect(node.nonces[0]).not.toBe(node.nonces[1]);
  });

  it('says in a timeout that replies were dropped, and why', async () => {
    const clock = new ManualClock(START);
    // A node without the key answers unsigned: the client sees only silence, and says so.
    const unsigned = await TestPeer.open({ reply: () => encodeFrames(['#x SIZE 0']) });
    cleanups.push(() => unsigned.close());
    const queue = await createClient({ address: unsigned.address, auth: RING, clock, timeoutMs: 100, retries: 0 });
    cleanups.push(() => queue.close());
    const outcome = queue.size().catch((error: unknown) => error);
    await waitFor(() => queue.authFailures?.unsigned === 1, { what: 'the unsigned reply' });
    clock.advance(100);
    const error = await outcome;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toMatch(/after 1 attempt \(100 ms each\); replies dropped by authentication since the client started: 1 unsigned \(does the node use the same key file\?\)$/);
  });

  it('keeps every signed datagram within maxDatagramBytes, the AUTH frame included', async () => {
    const clock = new ManualClock(START);
    const node = await authNode(clock, fakeQueue());
    const queue = await client(node, { clock, maxDatagramBytes: 2_000 });
    const results = await queue.putMany(Array.from({ length: 12 }, (_, i) => `${i}`.padEnd(500, 'x')));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(node.sizes.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...node.sizes)).toBeLessThanOrEqual(2_000);
    await expect(queue.put('y'.repeat(1_900))).rejects.toMatchObject({ code: 'ERR_REQUEST_TOO_LARGE' });
  });

  it('refuses a key with the seed protocol, which has no authentication', async () => {
    await expect(createClient({ address: '127.0.0.1:9', auth: RING, protocol: 'seed' })).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
  });
});
