import { hexValue } from './frame.js';
import type { Reply } from './protocol.js';
import { ReplyWriter } from './reply-writer.js';

/** Replies larger than this are not kept in the shared writer's buffer after encoding. */
const KEEP_BUFFER_BYTES = 256 * 1024;

/** One writer reused across calls; another is made if a call comes while it is in use. */
let shared: ReplyWriter | undefined;
let busy = false;

function write(writer: ReplyWriter, reply: Reply, seed: boolean): void {
  const id = reply.id;
  switch (reply.kind) {
    case 'put':
      writer.put(id, reply.bytes, reply.duplicate, seed);
      return;
    case 'message':
      writer.message(id, reply.body, seed);
      return;
    case 'empty':
      writer.empty(id, seed);
      return;
    case 'size':
      writer.size(id, reply.size, seed);
      return;
    case 'messages':
      writer.beginMessages(id, reply.bodies.length);
      for (const body of reply.bodies) writer.batchMessage(body);
      writer.endBatch();
      return;
    case 'leased':
      writer.beginLeased(id, reply.deliveries.length);
      for (const delivery of reply.deliveries) writer.leasedDelivery(delivery);
      writer.endBatch();
      return;
    case 'ok':
      writer.ok(id);
      return;
    case 'stats':
      writer.stats(id, reply.stats);
      return;
    case 'error':
      writer.error(id, reply.code, reply.message);
      return;
  }
}

/**
 * The payload of a reply, written by the same `ReplyWriter` a node uses. `seedForm` (see
 * `isSeedForm`) selects the seed prototype's bytes for PUT, GET and SIZE replies; errors are
 * `ERR <CODE> <sentence>` in both forms.
 */
export function encodeReply(reply: Reply, seedForm = false): Uint8Array {
  const reuse = !busy;
  const writer = reuse ? (shared ??= new ReplyWriter(Number.MAX_SAFE_INTEGER)) : new ReplyWriter(Number.MAX_SAFE_INTEGER);
  if (reuse) busy = true;
  try {
    write(writer, reply, seedForm);
    const frame = writer.copy(0);
    if (reuse && frame.length > KEEP_BUFFER_BYTES) shared = undefined;
    return frame.subarray(1 + hexValue(frame[0] as number));
  } finally {
    writer.reset();
    if (reuse) busy = false;
  }
}
