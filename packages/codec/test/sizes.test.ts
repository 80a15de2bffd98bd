import { describe, expect, it } from 'vitest';
import { PROTOCOL_LIMITS, ReplyWriter, encodeFrame, encodeRequest, formatLeaseToken } from '../src/index.js';
// The bounds under test, read as the module that computes them.
import * as sizes from '../src/sizes.js';

/** The one datagram `writer` holds. */
function written(writer: ReplyWriter): Uint8Array {
  const datagrams: Uint8Array[] = [];
  writer.flush((datagram) => datagrams.push(datagram));
  expect(datagrams).toHaveLength(1);
  return datagrams[0] as Uint8Array;
}

const LONGEST_ID = 'i'.repeat(PROTOCOL_LIMITS.maxIdLength);
const LONGEST_NAME = 'n'.repeat(PROTOCOL_LIMITS.maxNameLength);
const LONGEST_MESSAGE_ID = 'z'.repeat(16);
const LONGEST_NONCE = 'N'.repeat(22);

describe('sizes: the grammar lengths a node sizes replies with', () => {
  it('frame headers are L plus the hex digits of the length', () => {
    for (const n of [0, 15, 16, 255, 256, 4095, 4096, 0xffff]) expect(sizes.frameHeaderLength(n)).toBe(encodeFrame(new Uint8Array(n)).length - n);
    expect(sizes.MAX_DATAGRAM_FRAME_HEADER).toBe(5);
  });

  it('the id prefix and batch statuses are what the writer writes', () => {
    const writer = new ReplyWriter(65_507);
    for (const [id, count] of [[undefined, 1], ['7', 3], [LONGEST_ID, PROTOCOL_LIMITS.maxBatch]] as const) {
      writer.beginLeased(id, count);
      for (let i = 0; i < count; i++) writer.leasedItem('a', 1, 'b', new Uint8Array(0));
      expect(writer.endBatch()).toBe(true);
      const frame = written(writer);
      const items = count * encodeFrame(new Uint8Array('a.1.b 1:'.length)).length;
      expect(frame.length - sizes.frameHeaderLength(frame.length - 5)).toBe(sizes.idPrefixLength(id) + sizes.batchStatusLength('LEASED', count) + items);
    }
    expect(sizes.MAX_ID_PREFIX).toBe(sizes.idPrefixLength(LONGEST_ID));
    expect(sizes.MAX_BATCH_STATUS).toBe('LEASED 1000:'.length);
    writer.beginMessages('x', 12);
    for (let i = 0; i < 12; i++) writer.batchMessage(new Uint8Array(0));
    writer.endBatch();
    const frame = written(writer);
    expect(frame.length).toBe(sizes.frameHeaderLength(frame.length - 3) + sizes.idPrefixLength('x') + sizes.batchStatusLength('MSGS', 12) + 12 * 2);
  });

  it('the widest one-message reply and PUT request are exactly as long as said', () => {
    const body = new Uint8Array(60_000).fill(0x61);
    const writer = new ReplyWriter(65_507);
    writer.beginLeased(LONGEST_ID, 1);
    writer.leasedItem(LONGEST_MESSAGE_ID, 65_535, LONGEST_NONCE, body);
    expect(writer.endBatch()).toBe(true);
    expect(written(writer).length).toBe(body.length + sizes.MAX_ONE_MESSAGE_REPLY_OVERHEAD);
    const token = formatLeaseToken({ messageId: LONGEST_MESSAGE_ID, delivery: 65_535, nonce: LONGEST_NONCE });
    expect(sizes.MAX_LEASED_ITEM_OVERHEAD).toBe(`${token} 65535:`.length);
    // A MSG reply carries less around the same body.
    writer.message(LONGEST_ID, body, false);
    expect(written(writer).length).toBeLessThan(body.length + sizes.MAX_ONE_MESSAGE_REPLY_OVERHEAD);

    const put = encodeRequest({ verb: 'PUT', id: LONGEST_ID, key: LONGEST_NAME, queue: LONGEST_NAME, body });
    expect(encodeFrame(put).length).toBe(body.length + sizes.MAX_PUT_REQUEST_OVERHEAD);
  });
});
