// beanstalkd, a real work queue, spoken over its text protocol on TCP: put; reserve + delete
// (the delete of one job and the reserve of the next go out in one write, one round trip per
// job, as our ACK + RESERVE share one datagram); both one at a time and with 16 in flight.
import { closedLoop, fillBacklog, inFlight } from '../load.mjs';
import { ensureTool, freeTcpPort, startProcess, waitForTcp } from '../procs.mjs';
import { TcpConnection, lineEnd } from '../tcp.mjs';

class BeanstalkClient {
  static async open(port) {
    return new BeanstalkClient(await TcpConnection.open(port));
  }

  constructor(connection) {
    this.connection = connection;
    this.pending = [];
    connection.setParser((buffer) => this.parse(buffer));
    connection.onFailure = (error) => {
      for (const waiter of this.pending.splice(0)) waiter.reject(error);
    };
  }

  /** Sends one command (with an optional job body) and resolves with its reply line and body. */
  command(line, body) {
    return new Promise((resolve, reject) => {
      if (this.connection.failure) return reject(this.connection.failure);
      this.pending.push({ resolve, reject });
      this.connection.write(`${line}\r\n`);
      if (body !== undefined) {
        this.connection.write(body);
        this.connection.write('\r\n');
      }
    });
  }

  parse(buffer) {
    let offset = 0;
    for (;;) {
      const end = lineEnd(buffer, offset);
      if (end < 0) return offset;
      const line = buffer.toString('latin1', offset, end);
      let next = end + 2;
      let body;
      const sized = /^(?:RESERVED|FOUND) \d+ (\d+)$|^OK (\d+)$/.exec(line);
      if (sized) {
        const length = Number(sized[1] ?? sized[2]);
        if (buffer.length < next + length + 2) return offset;
        body = buffer.subarray(next, next + length);
        next += length + 2;
      }
      offset = next;
      const waiter = this.pending.shift();
      if (!waiter) throw new Error(`beanstalkd sent an unexpected reply: ${line}`);
      waiter.resolve({ line, body });
    }
  }

  async put(body) {
    const { line } = await this.command(`put 0 0 120 ${body.length}`, body);
    if (!line.startsWith('INSERTED')) throw new Error(`beanstalkd put: ${line}`);
  }

  close() {
    this.connection.close();
  }
}

/** Runs the beanstalkd cases and returns their rows, or `{ skipped }` saying why not. */
export async function benchBeanstalkd({ budget, body, log, measure }) {
  const tool = ensureTool('beanstalkd', 'beanstalkd', log);
  if (!tool.path) return { skipped: tool.reason };
  const port = await freeTcpPort();
  const server = await startProcess('beanstalkd', tool.path, ['-l', '127.0.0.1', '-p', String(port)]);
  const client = await (async () => {
    await waitForTcp(port);
    return BeanstalkClient.open(port);
  })().catch(async (error) => {
    await server.stop();
    throw error;
  });
  const backlog = { count: 0 };
  const rows = [];
  try {
    for (const concurrency of [1, 16]) {
      rows.push(await measure(`beanstalkd.put.c${concurrency}`, `beanstalkd put, ${inFlight(concurrency)}`, () => closedLoop({ ...budget, concurrency }, async () => {
        await client.put(body);
        backlog.count++;
        return 1;
      })));
    }
    for (const concurrency of [1, 16]) {
      await fillBacklog(backlog, budget.prefill, () => client.put(body));
      const held = new Array(concurrency);
      const consume = () => closedLoop({ ...budget, concurrency }, async (slot) => {
        const previous = held[slot];
        held[slot] = undefined;
        const [, reply] = await Promise.all([
          previous === undefined ? undefined : client.command(`delete ${previous}`),
          client.command('reserve-with-timeout 0'),
        ]);
        const match = /^RESERVED (\d+) /.exec(reply.line);
        if (!match) return 0;
        held[slot] = match[1];
        backlog.count--;
        return 1;
      });
      rows.push(await measure(`beanstalkd.consume.c${concurrency}`, `beanstalkd reserve + delete, ${inFlight(concurrency)}`, consume));
      await Promise.all(held.filter((id) => id !== undefined).map((id) => client.command(`delete ${id}`)));
    }
  } finally {
    client.close();
    await server.stop();
  }
  return { rows };
}
