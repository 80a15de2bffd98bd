#!/usr/bin/env node
import { encodeText } from '@streampy/codec';
import { UsageError, formatHostPort, integerFlag, loadKeyFile, parseHostPort, runCommand, type CommandLine, type ParseArgsOptionsConfig } from '@streampy/runtime';
import { ClientError } from './errors.js';
import { replyJson } from './json.js';
import { exchangeRaw } from './raw.js';

const PROGRAM = 'streampy-client';

const HELP = `Usage: ${PROGRAM} [options] <host>:<port> WORDS...

Sends WORDS, joined by spaces, as one frame to a queue node and prints the reply.
Seed commands get the seed's replies: PUT:ping, GET, SIZE. Typed commands too:
'#id1 PUT key=k1:ping', 'GET max=10', 'RESERVE lease=5000', 'ACK <token>', 'STATS'.

Options:
  --timeout MS   wait per attempt (default 1000)
  --retries N    extra attempts after a timeout or an unreachable report, same
                 frame (default 2)
  --auth-key-file FILE
                 sign the request and check the reply with the keys in FILE
                 ("<key id> <64 hex digits>" per line; the first signs)
  --json         print one JSON line: {"sent", "kind", "id"?, "reply", "ms", "error"?}
                 where "reply" is a JSON value: PUT {"bytes", "duplicate"}; GET the
                 message, or null when empty; GET max=N an array of messages; SIZE a
                 number; RESERVE an array of {"token", "deliveries", "body"}; ACK, NACK,
                 EXTEND true; STATS the node's counters as an object. Messages are
                 strings, or {"base64"} when not UTF-8. No reply or an ERR reply:
                 "reply": null and "error": {"code", "message"}
  --verbose      also print what was sent on stderr
  -h, --help     show this help
  -v, --version  show the version

Exit status: 0 a reply (an empty GET reply prints an empty line, "(empty)" on stderr),
1 no reply, an ERR reply, a node the OS reports unreachable (at once, not after the
timeout) or a datagram too large to send, 2 usage error. Put -- before words that start with -.`;

const OPTIONS = {
  timeout: { type: 'string' },
  retries: { type: 'string' },
  'auth-key-file': { type: 'string' },
  json: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
} as const satisfies ParseArgsOptionsConfig;

async function main({ values, positionals }: CommandLine<typeof OPTIONS>): Promise<number> {
  const [addressText, ...words] = positionals;
  if (addressText === undefined) throw new UsageError('missing <host>:<port>');
  if (words.length === 0) throw new UsageError('missing the command to send, e.g. GET');
  let address;
  try {
    address = parseHostPort(addressText, 'queue node address');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const timeoutMs = integerFlag('timeout', values.timeout, 1) ?? 1000;
  const retries = integerFlag('retries', values.retries, 0) ?? 2;
  const keyFile = values['auth-key-file'];
  const auth = keyFile === undefined ? undefined : loadKeyFile(keyFile);
  const sent = words.join(' ');
  if (values.verbose) process.stderr.write(`sent to ${formatHostPort(address)}: ${sent}\n`);

  const payload = encodeText(sent);
  let result;
  try {
    result = await exchangeRaw(address, payload, { timeoutMs, retries, ...(auth === undefined ? {} : { auth }) });
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    if (values.json) process.stdout.write(`${JSON.stringify({ sent, reply: null, ms: null, error: { code: error.code, message: error.message } })}\n`);
    process.stderr.write(`${PROGRAM}: ${error.message}\n`);
    return 1;
  }
  const reply = Buffer.from(result.reply).toString('utf8');
  const ms = Math.round(result.ms * 1000) / 1000;
  const read = replyJson(payload, result.reply);
  if (values.json) {
    const { kind, id, reply: value, error } = read;
    process.stdout.write(`${JSON.stringify({ sent, kind, ...(id === undefined ? {} : { id }), reply: value, ms, ...(error === undefined ? {} : { error }) })}\n`);
  } else {
    process.stdout.write(`${reply}\n`);
    if (values.verbose) process.stderr.write(`reply after ${ms} ms (${result.attempts} attempt${result.attempts === 1 ? '' : 's'})\n`);
  }
  if (read.error !== undefined) {
    process.stderr.write(`${PROGRAM}: ${formatHostPort(address)} answered with an error: ${reply}\n`);
    return 1;
  }
  if (!values.json && result.reply.length === 0) process.stderr.write('(empty)\n');
  return 0;
}

runCommand({ program: PROGRAM, help: HELP, packageJson: new URL('../package.json', import.meta.url), positionals: true, options: OPTIONS }, main);
