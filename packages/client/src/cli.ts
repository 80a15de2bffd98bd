#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { encodeText, replyId } from '@streampy/codec';
import { UsageError, formatHostPort, integerFlag, normalizeArgv, packageVersion, parseHostPort, runCli } from '@streampy/runtime';
import { ClientError } from './errors.js';
import { exchangeRaw } from './raw.js';

const PROGRAM = 'streampy-client';

const HELP = `Usage: ${PROGRAM} [options] <host>:<port> WORDS...

Sends WORDS, joined by spaces, as one frame to a queue node and prints the reply.
Seed commands get the seed's replies: PUT:ping, GET, SIZE. Typed commands too:
'#id1 PUT key=k1:ping', 'GET max=10', 'RESERVE lease=5000', 'ACK <token>', 'STATS'.

Options:
  --timeout MS   wait per attempt (default 1000)
  --retries N    extra attempts after a timeout, same frame (default 2)
  --json         print {"sent", "reply", "ms", "error"?} as one JSON line
  --verbose      also print what was sent on stderr
  --help         show this help
  --version      show the version

Exit status: 0 a reply (an empty GET reply prints an empty line, "(empty)" on stderr),
1 no reply or an ERR reply, 2 usage error. Put -- before words that start with -.`;



/** The wire code of an `ERR` reply (with or without an id), or undefined. */
function errorReplyCode(reply: Uint8Array): string | undefined {
  const id = replyId(reply);
  const text = Buffer.from(reply.subarray(id === undefined ? 0 : id.length + 2, 200)).toString('latin1');
  return /^ERR ([A-Z_]+)/.exec(text)?.[1];
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: normalizeArgv(process.argv.slice(2)),
    options: {
      timeout: { type: 'string' },
      retries: { type: 'string' },
      json: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      version: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${packageVersion(new URL('../package.json', import.meta.url))}\n`);
    return 0;
  }
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
  const sent = words.join(' ');
  if (values.verbose) process.stderr.write(`sent to ${formatHostPort(address)}: ${sent}\n`);

  let result;
  try {
    result = await exchangeRaw(address, encodeText(sent), { timeoutMs, retries });
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    if (values.json) process.stdout.write(`${JSON.stringify({ sent, reply: null, ms: null, error: { code: error.code, message: error.message } })}\n`);
    process.stderr.write(`${PROGRAM}: ${error.message}\n`);
    return 1;
  }
  const reply = Buffer.from(result.reply).toString('utf8');
  const ms = Math.round(result.ms * 1000) / 1000;
  const wireCode = errorReplyCode(result.reply);
  const error = wireCode === undefined ? undefined : { code: `ERR_${wireCode}`, message: reply };
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ sent, reply, ms, ...(error === undefined ? {} : { error }) })}\n`);
  } else {
    process.stdout.write(`${reply}\n`);
    if (values.verbose) process.stderr.write(`reply after ${ms} ms (${result.attempts} attempt${result.attempts === 1 ? '' : 's'})\n`);
  }
  if (error !== undefined) {
    process.stderr.write(`${PROGRAM}: ${formatHostPort(address)} answered with an error: ${reply}\n`);
    return 1;
  }
  if (result.reply.length === 0) process.stderr.write('(empty)\n');
  return 0;
}

runCli(PROGRAM, main);
