import { encodeRequestFrameInto, encodedRequestFrameLength, type Request } from '@streampy/codec';
import { ClientError } from './errors.js';

/** Room for about a thousand small frames per allocation. */
const SLAB_BYTES = 64 * 1024;

/**
 * Writes request frames one after another into large buffers, each byte once: a frame stays
 * valid for as long as anyone holds it (a retry resends it, a queued send reads it later), and
 * frames written in one turn lie side by side, so a datagram of them is one view, not a copy.
 */
export class FrameWriter {
  readonly #maxDatagramBytes: number;
  #slab = new Uint8Array(0);
  #offset = 0;

  constructor(maxDatagramBytes: number) {
    this.#maxDatagramBytes = maxDatagramBytes;
  }

  /** The frame of one checked request with correlation id `id`; refused when it cannot fit in a datagram. */
  frame(request: Request, id: string | undefined): Uint8Array {
    const length = encodedRequestFrameLength(request, id);
    if (length > this.#maxDatagramBytes) {
      throw new ClientError('ERR_REQUEST_TOO_LARGE', `${request.verb} request takes ${length} bytes, over the datagram limit of ${this.#maxDatagramBytes}`);
    }
    if (this.#offset + length > this.#slab.length) {
      this.#slab = new Uint8Array(Math.max(SLAB_BYTES, length));
      this.#offset = 0;
    }
    const start = this.#offset;
    this.#offset = encodeRequestFrameInto(this.#slab, start, request, id);
    return this.#slab.subarray(start, this.#offset);
  }
}
