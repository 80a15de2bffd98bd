// A TCP connection for the text protocols of the real peers (beanstalkd, NATS). Writes made in
// one event-loop turn leave in one segment, as our client coalesces a turn into one datagram.
import { connect } from 'node:net';

export class TcpConnection {
  static open(port, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new TcpConnection(socket));
      });
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.outgoing = [];
    this.buffer = Buffer.alloc(0);
    this.parse = () => 0;
    this.failure = undefined;
    this.onFailure = () => {};
    socket.on('data', (chunk) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      let used;
      try {
        used = this.parse(this.buffer);
      } catch (error) {
        this.fail(error);
        return;
      }
      this.buffer = used >= this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(used);
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** `parse(buffer)` consumes whole replies from the start of `buffer` and returns the bytes used. */
  setParser(parse) {
    this.parse = parse;
  }

  fail(error) {
    if (this.failure) return;
    this.failure = error;
    this.onFailure(error);
  }

  write(data) {
    if (this.outgoing.length === 0) process.nextTick(() => this.flush());
    this.outgoing.push(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  flush() {
    if (this.outgoing.length === 0 || this.socket.destroyed) return;
    const data = this.outgoing.length === 1 ? this.outgoing[0] : Buffer.concat(this.outgoing);
    this.outgoing = [];
    this.socket.write(data);
  }

  close() {
    this.onFailure = () => {};
    this.failure ??= new Error('closed');
    this.socket.destroy();
  }
}

/** Index of the CRLF ending the line that starts at `from`, or -1. */
export function lineEnd(buffer, from) {
  return buffer.indexOf('\r\n', from, 'latin1');
}
