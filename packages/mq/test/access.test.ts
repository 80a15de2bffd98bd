import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { encodeFrames, scanFrames } from '@streampy/codec';
import { createClient } from '@streampy/client';
import { createAuthenticator, loadKeyFile, parseHostPort, type HostPort } from '@streampy/runtime';
import { CLIENT_CLI, MQ_CLI, spawnReady, type Spawned } from './client/processes.js';
import { TestPeer, text, waitFor } from './udp.js';

/*
 * Access control with real processes and sockets (issue 8, point 3): the `streampy-mq` CLI with
 * --allow and --auth-key-file, peers on other loopback addresses, raw datagrams and our client.
 * Zero replies are proven by order, never by waiting: refused datagrams are sent first, then a
 * good request on the same socket, and the first reply that arrives must be the good one's.
 */

const dir = mkdtempSync(join(tmpdir(), 'streampy-access-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KEYS = join(dir, 'keys');
writeFileSync(KEYS, `# test key\nk1 ${'3c'.repeat(32)}\n`, { mode: 0o600 });
const OTHER_KEYS = join(dir, 'other-keys');
writeFileSync(OTHER_KEYS, `k1 ${'4d'.repeat(32)}\n`, { mode: 0o600 });

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function mq(...args: string[]): Promise<{ node: Spawned; address: HostPort }> {
  const node = await spawnReady(process.execPath, [MQ_CLI, ...args], /streampy-mq listening on (\S+)\n/);
  cleanups.push(() => node.stop());
  return { node, address: parseHostPort(node.ready[1] ?? '') };
}

async function peer(host: string): Promise<TestPeer> {
  const opened = await TestPeer.open({ host });
  cleanups.push(() => opened.close());
  return opened;
}

const run = promisify(execFile);

describe('streampy-mq --allow', () => {
  it('gives a source outside the list zero reply bytes, counts it, and still answers the allowed one', async () => {
    const { address } = await mq('--address', '127.0.0.1:0', '--allow', '127.0.0.1/32');
    const outsider = await peer('127.0.0.2');
    const insider = await peer('127.0.0.1');
    for (const payloads of [['PUT:x'], ['STATS'], ['SIZE', 'GET'], ['RESERVE lease=1']]) outsider.send(address, encodeFrames(payloads));
    outsider.send(address, 'not even a frame');
    // The node takes datagrams in order: once it counts five denied, it has answered none of them.
    const stats = await waitFor(
      async () => {
        const reply = text(await insider.exchange(address, 'STATS'));
        const parsed = JSON.parse(reply.slice('STATS:'.length)) as { deniedDatagrams: number; queues: { default: { size: number } } };
        return parsed.deniedDatagrams === 5 ? parsed : undefined;
      },
      { what: 'five denied datagrams' },
    );
    expect(stats.queues.default.size).toBe(0);
    expect(text(await insider.exchange(address, 'PUT:ping'))).toBe('PUT 4 bytes');
    expect(outsider.received).toBe(0);
  });
});

describe('streampy-mq --auth-key-file', () => {
  it('gives unsigned, forged and replayed datagrams zero reply bytes and lets them change nothing', async () => {
    const { address } = await mq('--address', '127.0.0.1:0', '--auth-key-file', KEYS);
    const signedClient = await createClient({ address, auth: KEYS, timeoutMs: 2_000 });
    cleanups.push(() => signedClient.close());
    await signedClient.put('kept');
    const before = await signedClient.stats();

    const sender = createAuthenticator(loadKeyFile(KEYS));
    const forger = createAuthenticator(loadKeyFile(OTHER_KEYS));
    const sign = (signer: typeof sender, ...payloads: string[]): Uint8Array => {
      const body = encodeFrames(payloads);
      return Uint8Array.from(Buffer.concat([signer.signFrame('request', body), body]));
    };
    const flipped = sign(sender, 'GET');
    flipped[flipped.length - 1] = 'U'.charCodeAt(0); // GET -> GEU, MAC unchanged
    const once = sign(sender, '#once PUT:once');
    const raw = await peer('127.0.0.1');
    for (const datagram of [encodeFrames(['GET']), encodeFrames(['PUT:unsigned']), sign(forger, 'GET'), sign(forger, 'PUT:forged'), flipped, once, once, once, sign(sender, '#last SIZE')]) {
      raw.send(address, datagram);
    }
    const verifier = createAuthenticator(loadKeyFile(KEYS));
    const replies: string[] = [];
    for (let i = 0; i < 2; i++) {
      const verdict = verifier.verify('reply', new Uint8Array(await raw.next()));
      if (!verdict.ok) throw new Error(`a reply failed verification: ${verdict.reason}`);
      replies.push(...scanFrames(verdict.rest).frames.map((frame) => text(frame)));
    }
    // The first copy of `once` is a good request; its two replays and every bad datagram got nothing.
    expect(replies).toEqual(['#once PUT 4 bytes', '#last SIZE 2']);

    const after = await signedClient.stats();
    const counters = (stats: typeof before): unknown => ({ ...stats.queues.default });
    expect(counters(after)).toEqual({ ...(counters(before) as object), size: 2, puts: 2, bytes: 8 });
    expect((after as unknown as { authFailures: unknown }).authFailures).toEqual({ unsigned: 2, unknownKey: 0, badMac: 3, stale: 0, replayed: 2, replayCacheFull: 0 });
    expect(raw.queued).toBe(0);
  });

  it('works with streampy-client --auth-key-file, and a client without the key gets silence it can explain', async () => {
    const { address } = await mq('127.0.0.1:0', '--auth-key-file', KEYS);
    const target = `${address.host}:${address.port}`;
    const good = await run(process.execPath, [CLIENT_CLI, '--auth-key-file', KEYS, target, 'PUT:ping']);
    expect(good.stdout).toBe('PUT 4 bytes\n');
    const wrong = await run(process.execPath, [CLIENT_CLI, '--auth-key-file', OTHER_KEYS, '--timeout', '200', '--retries', '1', target, 'SIZE']).catch((error: unknown) => error as { code: number; stderr: string });
    expect(wrong).toMatchObject({ code: 1 });
    expect((wrong as { stderr: string }).stderr).toMatch(/no reply from .* to SIZE after 2 attempts \(200 ms each\)/);
    const sized = await run(process.execPath, [CLIENT_CLI, '--auth-key-file', KEYS, target, 'SIZE']);
    expect(sized.stdout).toBe('1\n');
  });
});

describe('streampy-mq on a non-loopback address', () => {
  it('refuses to start without --allow or --auth-key-file: one line, exit 2', () => {
    for (const address of ['0.0.0.0:0', '[::]:0']) {
      const result = spawnSync(process.execPath, [MQ_CLI, '--address', address], { encoding: 'utf8', timeout: 15_000 });
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^streampy-mq: refusing to listen on (0\.0\.0\.0|\[::\]):0 without access control: give --allow CIDR\[,CIDR\.\.\.\] \(option allow: the sources to answer\) or --auth-key-file FILE \(option auth: a shared key\)\n$/);
    }
  });

  it('starts with either, and says what it answers', async () => {
    const signedOnly = await mq('--address', '0.0.0.0:0', '--auth-key-file', KEYS);
    expect(signedOnly.address.host).toBe('0.0.0.0');
    const listed = await mq('--address', '0.0.0.0:0', '--allow', '127.0.0.0/8,::1');
    const raw = await peer('127.0.0.1');
    expect(text(await raw.exchange({ host: '127.0.0.1', port: listed.address.port }, 'SIZE'))).toBe('0');
    const viaKey = await createClient({ address: { host: '127.0.0.1', port: signedOnly.address.port }, auth: KEYS, timeoutMs: 2_000 });
    cleanups.push(() => viaKey.close());
    expect(await viaKey.size()).toBe(0);
  });

  it('refuses a bad --allow or an unusable key file with one line', () => {
    const badAllow = spawnSync(process.execPath, [MQ_CLI, '--address', '127.0.0.1:0', '--allow', '10.0.0.300'], { encoding: 'utf8', timeout: 15_000 });
    expect(badAllow.status).toBe(2);
    expect(badAllow.stderr).toMatch(/^streampy-mq: --allow: "10\.0\.0\.300" is not an IP address or network/);
    const missing = spawnSync(process.execPath, [MQ_CLI, '--address', '127.0.0.1:0', '--auth-key-file', join(dir, 'nope')], { encoding: 'utf8', timeout: 15_000 });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^streampy-mq: cannot read key file .*nope: ENOENT[^\n]*\n$/);
  });
});
