import { existsSync, rmSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { isAlive, launch, natsServerMissing, startNats, startNatsCluster, type NatsClusterHandle, type NatsHandle, waitFor } from '../src/index.js';

const missing = natsServerMissing();
if (missing) console.warn(`nats-server harness tests skipped: ${missing}`);

/** The first line a NATS server sends a client: INFO {...}, which names the server. */
function serverInfo(port: number): Promise<{ server_name: string; jetstream?: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\r\n');
      if (end < 0) return;
      socket.destroy();
      const line = text.slice(0, end);
      if (!line.startsWith('INFO ')) return reject(new Error(`not an INFO line: ${line}`));
      resolve(JSON.parse(line.slice(5)) as { server_name: string; jetstream?: boolean });
    });
    socket.once('error', reject);
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function jsz(server: NatsHandle): Promise<{ meta_cluster?: { leader?: string; cluster_size?: number } }> {
  const response = await fetch(`http://127.0.0.1:${server.monitorPort}/jsz`);
  return (await response.json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
}

describe.skipIf(missing !== undefined)('startNats: one real nats-server', { timeout: 60_000 }, () => {
  let server: NatsHandle | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('listens on loopback with JetStream on, survives kill -9 by restarting on the same port and store, and stop() removes its store', async () => {
    server = await startNats();
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect((await serverInfo(server.port)).jetstream).toBe(true);
    const firstPid = server.pid;
    expect(isAlive(firstPid)).toBe(true);
    expect(existsSync(server.dir)).toBe(true);

    await server.kill();
    expect(isAlive(firstPid)).toBe(false);
    expect(server.running).toBe(false);
    expect(await refused(server.port)).toBe(true);

    await server.restart();
    expect(server.pid).not.toBe(firstPid);
    expect((await serverInfo(server.port)).jetstream).toBe(true);
    await server.healthy();

    const { dir, pid } = server;
    await server.stop();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    await expect(server.restart()).rejects.toThrow(/stopped/);
  });

  it('takes its server down when the test process dies without stopping it (SIGKILL)', async () => {
    const script = "const t = await import('@streampy/testing'); const s = await t.startNats(); console.log('pid ' + s.pid + ' dir ' + s.dir); setInterval(() => {}, 1000);";
    const owner = launch(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('..', import.meta.url)), deadlineMs: 60_000 });
    const [, pidText, dir] = await waitFor(() => /pid (\d+) dir (\S+)/.exec(owner.stdout()), { timeoutMs: 30_000, what: 'the owner to start a server' });
    const pid = Number(pidText);
    // Its owner cannot remove the store any more: the test does.
    onTestFinished(() => rmSync(dir!, { recursive: true, force: true }));
    expect(isAlive(pid)).toBe(true);
    owner.process.kill('SIGKILL');
    await owner.finished;
    await waitFor(() => !isAlive(pid), { timeoutMs: 10_000, what: `nats-server ${pid} to go with its owner` });
  });

  it('two servers started at once get different ports', async () => {
    const [a, b] = await Promise.all([startNats(), startNats()]);
    try {
      expect(a.port).not.toBe(b.port);
      expect(a.dir).not.toBe(b.dir);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe.skipIf(missing !== undefined)('startNatsCluster: three servers routed on loopback', { timeout: 120_000 }, () => {
  let cluster: NatsClusterHandle | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('elects a JetStream meta leader, keeps one after a kill -9, and takes the killed server back', async () => {
    cluster = await startNatsCluster(3);
    expect(cluster.urls).toHaveLength(3);
    expect(cluster.url).toBe(cluster.urls.join(','));
    const names = await Promise.all(cluster.servers.map(async (server) => (await serverInfo(server.port)).server_name));
    expect(new Set(names).size).toBe(3);
    const meta = (await jsz(cluster.servers[0]!)).meta_cluster;
    expect(meta?.cluster_size).toBe(3);
    expect(names).toContain(meta?.leader);

    const victim = cluster.servers[1]!;
    await victim.kill();
    await cluster.healthy();
    await victim.restart();
    await cluster.healthy();
    expect((await jsz(victim)).meta_cluster?.leader).toBeTruthy();
  });

  it('keeps an R3 stream through a kill -9 of its leader: every acknowledged publish is still there, and the server catches up on restart', async () => {
    cluster = await startNatsCluster(3);
    const nc = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'R3', subjects: ['r3'], num_replicas: 3, storage: StorageType.File });
      const js = jetstream(nc, { timeout: 5_000 });
      for (let i = 0; i < 20; i++) await js.publish('r3', `before-${i}`);
      const leader = await cluster.streamLeader('R3');
      expect(leader).toBeDefined();
      await leader!.kill();
      // The two left elect a new leader; until then a publish may time out, so retry, bounded.
      await waitFor(async () => (await js.publish('r3', 'during', { msgID: 'during' }).catch(() => undefined)) !== undefined, { timeoutMs: 30_000, what: 'a publish with one server down' });
      const successor = await waitFor(() => cluster!.streamLeader('R3'), { timeoutMs: 30_000, what: 'a new stream leader' });
      expect(successor.name).not.toBe(leader!.name);
      expect((await jsm.streams.info('R3')).state.messages).toBe(21);
      await leader!.restart();
      // A stream with traffic catches up: wait for the assets too.
      await cluster.healthy({ assets: true });
      // Ask the restarted server itself: its copy holds all 21.
      const direct = await connect({ servers: leader!.url });
      try {
        const info = await (await jetstreamManager(direct)).streams.info('R3');
        expect(info.state.messages).toBe(21);
        expect(info.cluster?.replicas?.every((replica) => replica.current)).toBe(true);
      } finally {
        await direct.close();
      }
    } finally {
      await nc.close();
    }
  });
});
