import { isUtf8 } from 'node:buffer';
import { isSeedForm, parseReply, parseRequest, type Reply, type Request } from '@streampy/codec';

/** A message body in JSON: its text when it is UTF-8, else `{ "base64": "..." }`. */
export type BodyJson = string | { readonly base64: string };

/** What the CLI's `--json` prints for one reply (the client README, "CLI", lists the shapes). */
export interface ReplyJson {
  /** The codec's kind of reply (`put`, `message`, `messages`, `empty`, `size`, `leased`, `ok`, `stats`, `error`), or `text` for one it cannot read. */
  readonly kind: Reply['kind'] | 'text';
  /** The reply's correlation id, when it has one. */
  readonly id?: string;
  readonly reply: unknown;
  /** For `error` replies: the client's code (`ERR_` + the wire code) and the node's sentence. */
  readonly error?: { readonly code: string; readonly message: string };
}

function bodyJson(body: Uint8Array): BodyJson {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return isUtf8(bytes) ? bytes.toString('utf8') : { base64: bytes.toString('base64') };
}

function valueOf(reply: Reply): unknown {
  switch (reply.kind) {
    case 'put':
      return { bytes: reply.bytes, duplicate: reply.duplicate };
    case 'message':
      return bodyJson(reply.body);
    case 'messages':
      return reply.bodies.map(bodyJson);
    case 'empty':
      return null;
    case 'size':
      return reply.size;
    case 'leased':
      return reply.deliveries.map((delivery) => ({ token: delivery.token, deliveries: delivery.deliveries, body: bodyJson(delivery.body) }));
    case 'ok':
      return true;
    case 'stats':
      return reply.stats;
    case 'error':
      return null;
  }
}

/**
 * The reply payload `reply` to the command `sent` as a JSON value, read by the codec the way a
 * client reads it: a seed-form command gets the seed's reading. A reply the codec cannot read
 * stays its text, kind `text`.
 */
export function replyJson(sent: Uint8Array, reply: Uint8Array): ReplyJson {
  let request: Request | undefined;
  try {
    request = parseRequest(sent);
  } catch {
    request = undefined;
  }
  let parsed: Reply;
  try {
    // A command that does not parse has no seed form: its reply is read as an extended one
    // (which verb stands in does not matter there: the status word decides).
    parsed = parseReply(reply, request ?? { verb: 'STATS' }, request !== undefined && isSeedForm(request));
  } catch {
    return { kind: 'text', reply: Buffer.from(reply).toString('utf8') };
  }
  const id = parsed.id === undefined ? {} : { id: parsed.id };
  if (parsed.kind === 'error') return { kind: 'error', ...id, reply: null, error: { code: `ERR_${parsed.code}`, message: parsed.message } };
  return { kind: parsed.kind, ...id, reply: valueOf(parsed) };
}
