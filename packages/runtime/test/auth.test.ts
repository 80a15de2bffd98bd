import { createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeAuthFrame, encodeFrames, parseAuthHeader } from '@streampy/codec';
import { KeyFileError, createAuthenticator, loadKeyFile, parseKeyFile, type Clock, type Keyring, type TimerHandle } from '../src/index.js';
import { ReplayCache } from '../src/replay-cache.js';

const KEY_A = 'a'.repeat(64);
const KEY_B = '0123456789abcdef'.repeat(4);
const START = 1_764_600_000_000;

/** A clock that only moves when told: the window and replay rules are tested without waiting. */
function fixedClock(start: number): Clock & { set(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    setTimeout: () => ({}) as TimerHandle,
    clearTimeout: () => undefined,
    set: (ms) => void (now = ms),
  };
}

function frames(...payloads: string[]): Uint8Array {
  return encodeFrames(payloads);
}

/** The datagram `signFrame` makes: the AUTH frame, then the frames. */
function signed(frame: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length + body.length);
  out.set(frame);
  out.set(body, frame.length);
  return out;
}

const reasonOf = (verdict: { ok: boolean; reason?: string }): string => (verdict.ok ? 'ok' : (verdict.reason ?? '?'));

describe('key files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streampy-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the first key to sign and every key to verify', () => {
    const ring = parseKeyFile(`# keys\n\nnew ${KEY_B}\n\told\t${KEY_A.toUpperCase()}  \n`);
    expect(ring.signing.id).toBe('new');
    expect([...ring.keys.keys()]).toEqual(['new', 'old']);
    expect(ring.signing.secret.length).toBe(32);
    expect(Buffer.from(ring.keys.get('old')?.secret ?? []).toString('hex')).toBe(KEY_A);
  });

  it.each([
    ['empty', '', /keys\.txt: no key/],
    ['only comments', '# nothing\n\n', /no key/],
    ['one field', 'k1\n', /keys\.txt:1: expected "<key id> <64 hex digits>", got 1 field$/],
    ['three fields', `k1 ${KEY_A} extra\n`, /got 3 fields/],
    ['a short key', '\nk1 abcd\n', /keys\.txt:2: key "k1" must be 64 hex digits \(32 bytes\), got 4 characters/],
    ['a key that is not hex', `k1 ${'g'.repeat(64)}\n`, /64 hex digits/],
    ['a bad id', `k:1 ${KEY_A}\n`, /key id must be 1-32 characters/],
    ['an id given twice', `k1 ${KEY_A}\nk1 ${KEY_B}\n`, /keys\.txt:2: key id "k1" appears twice/],
  ])('refuses %s, naming the file and line', (_name, text, message) => {
    expect(() => parseKeyFile(text, 'keys.txt')).toThrow(KeyFileError);
    expect(() => parseKeyFile(text, 'keys.txt')).toThrow(message);
    expect(() => parseKeyFile(text, 'keys.txt')).toThrow(expect.objectContaining({ code: 'ERR_KEY_FILE', name: 'KeyFileError' }));
  });

  it('never echoes a secret in an error', () => {
    const secretish = 'f'.repeat(63);
    expect(() => parseKeyFile(`k1 ${secretish}\n`)).toThrow(expect.objectContaining({ message: expect.not.stringContaining(secretish.slice(0, 8)) as unknown }));
  });

  it('loads a file only its owner (and group) can read', () => {
    const path = join(dir, 'keys');
    writeFileSync(path, `k1 ${KEY_A}\n`, { mode: 0o600 });
    expect(loadKeyFile(path).signing.id).toBe('k1');
    chmodSync(path, 0o640);
    expect(loadKeyFile(path).signing.id).toBe('k1');
    if (process.platform !== 'win32') {
      chmodSync(path, 0o644);
      expect(() => loadKeyFile(path)).toThrow(/is open to other users \(mode 0644\): chmod o-rwx/);
    }
    expect(() => loadKeyFile(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'ERR_KEY_FILE', message: expect.stringMatching(/^cannot read key file .*missing/) as unknown }));
  });
});

describe('signed datagrams', () => {
  const ring: Keyring = parseKeyFile(`k1 ${KEY_A}\n`);

  it('verifies what it signs and hands back the frames, also signed from gathered parts', () => {
    const clock = fixedClock(START);
    const client = createAuthenticator(ring, { clock });
    const node = createAuthenticator(ring, { clock });
    const body = frames('PUT:hello', '#1 SIZE');
    const verdict = node.verify('request', signed(client.signFrame('request', body), body));
    expect(verdict.ok).toBe(true);
    if (verdict.ok) expect([...verdict.rest]).toEqual([...body]);
    const parts = [frames('PUT:a'), frames('#2 GET')];
    const gathered = node.verify('request', signed(client.signFrame('request', parts), frames('PUT:a', '#2 GET')));
    expect(gathered.ok).toBe(true);
  });

  it('signs with the current time, the signing key and a fresh nonce each time', () => {
    const clock = fixedClock(START);
    const client = createAuthenticator(parseKeyFile(`new ${KEY_B}\nold ${KEY_A}\n`), { clock });
    const nonces = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const header = parseAuthHeader(client.signFrame('request', frames('GET')));
      expect(header?.keyId).toBe('new');
      expect(header?.timestampMs).toBe(START);
      nonces.add(header?.nonce ?? '');
    }
    expect(nonces.size).toBe(2000);
  });

  it('verifies with any key of the ring: keys rotate', () => {
    const clock = fixedClock(START);
    const oldSender = createAuthenticator(parseKeyFile(`old ${KEY_A}\n`), { clock });
    const newSender = createAuthenticator(parseKeyFile(`new ${KEY_B}\n`), { clock });
    const node = createAuthenticator(parseKeyFile(`new ${KEY_B}\nold ${KEY_A}\n`), { clock });
    const body = frames('SIZE');
    expect(node.verify('request', signed(oldSender.signFrame('request', body), body)).ok).toBe(true);
    expect(node.verify('request', signed(newSender.signFrame('request', body), body)).ok).toBe(true);
  });

  it('refuses unsigned, unknown-key, forged, wrong-role, tampered, stale and replayed datagrams', () => {
    const clock = fixedClock(START);
    const client = createAuthenticator(ring, { clock });
    const node = createAuthenticator(ring, { clock, windowMs: 1_000 });
    const other = createAuthenticator(parseKeyFile(`k2 ${KEY_B}\n`), { clock });
    const stranger = createAuthenticator(parseKeyFile(`k1 ${KEY_B}\n`), { clock });
    const body = frames('GET');
    expect(node.verify('request', body)).toEqual({ ok: false, reason: 'unsigned' });
    expect(node.verify('request', signed(other.signFrame('request', body), body))).toEqual({ ok: false, reason: 'unknownKey' });
    expect(node.verify('request', signed(stranger.signFrame('request', body), body))).toEqual({ ok: false, reason: 'badMac' });
    expect(node.verify('request', signed(client.signFrame('reply', body), body))).toEqual({ ok: false, reason: 'badMac' });
    const good = signed(client.signFrame('request', body), body);
    const tampered = Uint8Array.from(good);
    tampered[tampered.length - 1] = 0x50; // GET -> GEP
    expect(node.verify('request', tampered)).toEqual({ ok: false, reason: 'badMac' });
    const extended = signed(good, frames('GET')); // a frame added after the signed ones
    expect(node.verify('request', extended)).toEqual({ ok: false, reason: 'badMac' });
    expect(node.verify('request', good).ok).toBe(true);
    expect(node.verify('request', good)).toEqual({ ok: false, reason: 'replayed' });
    const late = signed(client.signFrame('request', body), body);
    clock.set(START + 1_001);
    expect(node.verify('request', late)).toEqual({ ok: false, reason: 'stale' });
    clock.set(START - 1_001);
    expect(node.verify('request', late)).toEqual({ ok: false, reason: 'stale' });
  });

  it('lets a forgery touch nothing: a forged copy of a nonce does not block the real datagram', () => {
    const clock = fixedClock(START);
    const client = createAuthenticator(ring, { clock });
    const node = createAuthenticator(ring, { clock });
    const body = frames('PUT:x');
    const frame = client.signFrame('request', body);
    const forged = Uint8Array.from(signed(frame, body));
    forged[frame.length - 1] = forged[frame.length - 1] === 0x30 ? 0x31 : 0x30; // the MAC's last digit
    expect(reasonOf(node.verify('request', forged))).toBe('badMac');
    expect(reasonOf(node.verify('request', signed(frame, body)))).toBe('ok');
  });

  it('refuses what was signed before notBefore (a restarted node cannot remember its old nonces)', () => {
    const clock = fixedClock(START);
    const client = createAuthenticator(ring, { clock });
    const body = frames('SIZE');
    const before = signed(client.signFrame('request', body), body);
    clock.set(START + 1);
    const node = createAuthenticator(ring, { clock, notBefore: clock.now() });
    expect(reasonOf(node.verify('request', before))).toBe('stale');
    expect(reasonOf(node.verify('request', signed(client.signFrame('request', body), body)))).toBe('ok');
  });

  it('remembers a nonce for as long as its datagram passes the window', () => {
    const clock = fixedClock(START);
    const client = createAuthenticator(ring, { clock });
    const node = createAuthenticator(ring, { clock, windowMs: 1_000 });
    // Signed 1 s ahead of the node's clock, accepted at once, replayed until it is stale.
    clock.set(START + 1_000);
    const ahead = signed(client.signFrame('request', frames('SIZE')), frames('SIZE'));
    clock.set(START);
    expect(node.verify('request', ahead).ok).toBe(true);
    for (let t = START; t <= START + 2_000; t += 50) {
      clock.set(t);
      // Fresh traffic all along, so the cache expires generations as it goes.
      expect(node.verify('request', signed(client.signFrame('request', frames('GET')), frames('GET'))).ok).toBe(true);
      expect(reasonOf(node.verify('request', ahead))).toBe('replayed');
    }
    clock.set(START + 2_001);
    expect(reasonOf(node.verify('request', ahead))).toBe('stale');
  });

  it('refuses new datagrams instead of forgetting nonces when its cache is full, and takes them again once entries expire', () => {
    const clock = fixedClock(START);
    const client = createAuthenticator(ring, { clock });
    const node = createAuthenticator(ring, { clock, windowMs: 1_000, maxReplayEntries: 3 });
    const send = (): string => reasonOf(node.verify('request', signed(client.signFrame('request', frames('SIZE')), frames('SIZE'))));
    expect(Array.from({ length: 5 }, send)).toEqual(['ok', 'ok', 'ok', 'replayCacheFull', 'replayCacheFull']);
    clock.set(START + 1_000 + 500 + 1); // past the window of the generation those three were stamped in
    expect(send()).toBe('ok');
  });
});

describe('the replay cache', () => {
  it('holds many nonces exactly, (0, 0) included, and forgets whole generations only once they are out of the window', () => {
    const cache = new ReplayCache(1_000, 1 << 20);
    const values: [number, number][] = [[0, 0]];
    let state = 12345;
    const next = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 20_000; i++) values.push([next(), next()]);
    let wrong = 0;
    for (const [hi, lo] of values) {
      if (cache.seen(START, hi, lo)) wrong++;
      if (!cache.add(START, hi, lo, START)) wrong++;
    }
    for (const [hi, lo] of values) if (!cache.seen(START, hi, lo)) wrong++;
    expect(wrong).toBe(0);
    expect(cache.seen(START, 1, 2)).toBe(false);
    expect(cache.size).toBe(values.length);
    // START's generation ends before START + 500; it passes the window until then + 1000.
    cache.add(START + 1_400, 7, 7, START + 1_400);
    expect(cache.seen(START, 0, 0)).toBe(true);
    cache.add(START + 2_000, 8, 8, START + 2_000);
    expect(cache.seen(START, 0, 0)).toBe(false);
    expect(cache.size).toBe(2);
  });
});

describe('the worked example in PROTOCOL.md', () => {
  const protocol = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'PROTOCOL.md'), 'utf8');
  const key = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
  const timestampMs = 1_764_600_000_000;
  const nonce = '0011223344556677';
  const request = '#a1 PUT key=order-42:paid';
  const body = encodeFrames([request]);
  // An independent oracle: the HMAC as PROTOCOL.md defines it, with node:crypto directly.
  const mac = createHmac('sha256', Buffer.from(key, 'hex'))
    .update(`streampy-auth-1 request k1 ${timestampMs} ${nonce}\n`)
    .update(body)
    .digest('hex');
  const datagram = signed(encodeAuthFrame({ keyId: 'k1', timestampMs, nonce, mac }), body);

  it('is a datagram the authenticator accepts', () => {
    const node = createAuthenticator(parseKeyFile(`k1 ${key}\n`), { clock: fixedClock(timestampMs + 250) });
    const verdict = node.verify('request', datagram);
    expect(verdict.ok).toBe(true);
    if (verdict.ok) expect(Buffer.from(verdict.rest).toString('latin1')).toBe(`219${request}`);
  });

  it('is written in PROTOCOL.md byte for byte, with its MAC', () => {
    expect(protocol).toContain(`k1 ${key}`);
    expect(protocol).toContain(Buffer.from(datagram).toString('latin1'));
    expect(protocol).toContain(mac);
  });
});
