// NATS JetStream, spoken over the NATS text protocol on TCP (no nats npm dependency): a
// work-queue stream on a file store, publish with an awaited PubAck, and a durable pull
// consumer read with $JS.API.CONSUMER.MSG.NEXT and explicit +ACKs.
import { randomBytes } from 'node:crypto';
import { closedLoop, fillBacklog, inFlight } from '../load.mjs';
import { ensureTool, makeTempDir, removeTempDir, startProcess } from '../procs.mjs';
import { TcpConnection, lineEnd } from '../tcp.mjs';

const STREAM = 'BENCH';
const SUBJECT = 'bench.q';
const CONSUMER = 'bench';
const NEXT = `$JS.API.CONSUMER.MSG.NEXT.${STREAM}.${CONSUMER}`;
/** Pull requests reply to their own inbox subscription, so pulled messages can be told apart. */
const PULL_TOKEN = 'pull';
const PULL_SID = '2';

class NatsClient {
  static async open(port) {
    const client = new NatsClient(await TcpConnection.open(port));
    const pong = new Promise((resolve, reject) => {
      client.onPong = resolve;
      client.connection.onFailure = reject;
    });
    client.connection.write('CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"lang":"streampy-bench","version":"0"}\r\n');
    client.connection.write(`SUB ${client.inbox}.r.* 1\r\nSUB ${client.inbox}.${PULL_TOKEN} ${PULL_SID}\r\nPING\r\n`);
    await pong;
    client.connection.onFailure = (error) => {
      for (const waiter of client.pending.values()) waiter.reject(error);
      client.pending.clear();
    };
    return client;
  }

  constructor(connection) {
    this.connection = connection;
    this.inbox = `_INBOX.${randomBytes(6).toString('hex')}`;
    this.nextToken = 0;
    this.pending = new Map();
    this.onPong = () => {};
    connection.setParser((buffer) => this.parse(buffer));
  }

  parse(buffer) {
    let offset = 0;
    for (;;) {
      const end = lineEnd(buffer, offset);
      if (end < 0) return offset;
      const line = buffer.toString('latin1', offset, end);
      if (line.startsWith('MSG ') || line.startsWith('HMSG ')) {
        // MSG <subject> <sid> [reply] <bytes>; HMSG adds <header bytes> before <total bytes>.
        const parts = line.split(' ').filter((part) => part.length > 0);
        const headered = parts[0] === 'HMSG';
        const total = Number(parts[parts.length - 1]);
        const headerBytes = headered ? Number(parts[parts.length - 2]) : 0;
        const hasReply = parts.length === (headered ? 6 : 5);
        const start = end + 2;
        if (buffer.length < start + total + 2) return offset;
        const headers = headered ? buffer.toString('latin1', start, start + headerBytes) : '';
        const payload = buffer.subarray(start + headerBytes, start + total);
        this.deliver(parts[1], parts[2], hasReply ? parts[3] : undefined, headers, payload);
        offset = start + total + 2;
        continue;
      }
      offset = end + 2;
      if (line === 'PING') this.connection.write('PONG\r\n');
      else if (line === 'PONG') this.onPong();
      else if (line.startsWith('-ERR')) this.connection.fail(new Error(`nats: ${line}`));
    }
  }

  deliver(subject, sid, reply, headers, payload) {
    // Pulled messages keep their stream subject: only the subscription tells where they belong.
    const pull = sid === PULL_SID;
    const token = pull ? PULL_TOKEN : subject.slice(this.inbox.length + 3);
    const waiter = this.pending.get(token);
    if (!waiter) return;
    // A status message (404 no messages, 408 request expired...) ends a pull request.
    const status = /^NATS\/1\.0 (\d{3})/.exec(headers);
    if (status && payload.length === 0) {
      this.pending.delete(token);
      waiter.resolve(waiter.messages);
      return;
    }
    waiter.messages.push({ reply, payload });
    if (waiter.messages.length >= waiter.expected) {
      this.pending.delete(token);
      waiter.resolve(waiter.messages);
    }
  }

  publish(subject, payload, reply) {
    this.connection.write(`PUB ${subject}${reply === undefined ? '' : ` ${reply}`} ${payload.length}\r\n`);
    this.connection.write(payload);
    this.connection.write('\r\n');
  }

  /** Publishes with a reply inbox and resolves with the first `expected` messages sent to it. */
  request(subject, payload, expected = 1, token = (this.nextToken++).toString(36)) {
    return new Promise((resolve, reject) => {
      if (this.connection.failure) return reject(this.connection.failure);
      this.pending.set(token, { expected, messages: [], resolve, reject });
      this.publish(subject, payload, token === PULL_TOKEN ? `${this.inbox}.${PULL_TOKEN}` : `${this.inbox}.r.${token}`);
    });
  }

  async api(subject, config) {
    const [reply] = await this.request(subject, Buffer.from(JSON.stringify(config)));
    const answer = JSON.parse(reply.payload.toString('utf8'));
    if (answer.error) throw new Error(`${subject}: ${answer.error.description ?? JSON.stringify(answer.error)}`);
    return answer;
  }

  async publishAcked(body) {
    const [reply] = await this.request(SUBJECT, body);
    if (reply.payload.includes('"error"')) throw new Error(`jetstream publish: ${reply.payload.toString('utf8')}`);
  }

  /** Pulls up to `batch` messages, fewer when the stream runs dry; one pull at a time. */
  next(batch) {
    return this.request(NEXT, Buffer.from(JSON.stringify({ batch, no_wait: true })), batch, PULL_TOKEN);
  }

  ack(message) {
    this.publish(message.reply, ACK_BODY);
  }

  close() {
    this.connection.close();
  }
}

const ACK_BODY = Buffer.from('+ACK');

/**
 * A JetStream nats-server on loopback, on a port it picks, with a temp store: `{ port, stop() }`,
 * or `{ skipped }` saying why there is none. The JetStream-backed node's cases use it too.
 */
export async function startNatsServer(log, label = 'jetstream') {
  const tool = ensureTool('nats-server', 'nats-server', log);
  if (!tool.path) return { skipped: tool.reason };
  const storeDir = makeTempDir(label);
  try {
    const server = await startProcess('nats-server', tool.path, ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', storeDir], {
      ready: /Listening for client connections on [^:\s]+:(\d+)/,
    });
    const port = Number(server.match[1]);
    return { port, url: `nats://127.0.0.1:${port}`, stop: async () => {
      await server.stop();
      removeTempDir(storeDir);
    } };
  } catch (error) {
    removeTempDir(storeDir);
    throw error;
  }
}

/** Runs the JetStream cases and returns their rows, or `{ skipped }` saying why not. */
export async function benchJetStream({ budget, body, log, measure }) {
  const server = await startNatsServer(log);
  if (server.skipped) return server;
  const rows = [];
  let client;
  try {
    client = await NatsClient.open(server.port);
    await client.api(`$JS.API.STREAM.CREATE.${STREAM}`, { name: STREAM, subjects: [SUBJECT], retention: 'workqueue', storage: 'file' });
    await client.api(`$JS.API.CONSUMER.DURABLE.CREATE.${STREAM}.${CONSUMER}`, {
      stream_name: STREAM,
      config: { durable_name: CONSUMER, ack_policy: 'explicit', ack_wait: 60e9, max_ack_pending: 20_000 },
    });
    const backlog = { count: 0 };
    for (const concurrency of [1, 16]) {
      const label = `JetStream publish, awaited ack, ${inFlight(concurrency)}`;
      rows.push(await measure(`jetstream.publish.c${concurrency}`, label, () => closedLoop({ ...budget, concurrency }, async () => {
        await client.publishAcked(body);
        backlog.count++;
        return 1;
      })));
    }
    // The peer of putMany(100): 100 publishes in one write, all PubAcks awaited, 4 batches in flight.
    const publishBatch = 100;
    rows.push(await measure(`jetstream.publish.b${publishBatch}`, `JetStream ${publishBatch} publishes per write, awaited acks, 4 batches in flight`, () => closedLoop({ ...budget, concurrency: 4 }, async () => {
      await Promise.all(Array.from({ length: publishBatch }, () => client.publishAcked(body)));
      backlog.count += publishBatch;
      return publishBatch;
    })));
    for (const batch of [1, 100]) {
      await fillBacklog(backlog, budget.prefill, () => client.publishAcked(body));
      let unacked = [];
      const consume = () => closedLoop(budget, async () => {
        // The acks of the previous pull leave in the same write as the next pull request.
        for (const message of unacked) client.ack(message);
        unacked = backlog.count >= batch ? await client.next(batch) : [];
        backlog.count -= unacked.length;
        return unacked.length;
      });
      const label = batch === 1 ? 'JetStream next + ack, one at a time' : `JetStream fetch ${batch} + fire-and-forget acks`;
      rows.push(await measure(`jetstream.consume.b${batch}`, label, consume));
      for (const message of unacked) client.ack(message);
    }
  } finally {
    client?.close();
    await server.stop();
  }
  return { rows };
}
