#!/usr/bin/env node
// The baseline: a plain Node.js UDP echo server in its own process. It sends every datagram
// back to its sender unchanged; nothing a queue node does can be cheaper per datagram.
import { createSocket } from 'node:dgram';

const socket = createSocket('udp4');
socket.on('message', (datagram, peer) => socket.send(datagram, peer.port, peer.address));
socket.on('error', (error) => {
  process.stderr.write(`echo: ${error.message}\n`);
  process.exitCode = 1;
  socket.close();
});
socket.bind(0, '127.0.0.1', () => {
  const { address, port } = socket.address();
  process.stdout.write(`echo listening on ${address}:${port}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => socket.close());
