import { CodecError } from './errors.js';

// TextEncoder/TextDecoder exist in every modern JS runtime; declared here, module-local,
// so the codec needs neither DOM nor Node typings and leaks no global types to users.
declare const TextEncoder: new () => { encode(input: string): Uint8Array };
declare const TextDecoder: new (
  label: string,
  options: { fatal: boolean; ignoreBOM: boolean },
) => { decode(input: Uint8Array): string };

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of a string. Lone surrogates become U+FFFD, as in every Web API. */
export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict UTF-8 decode: invalid sequences throw `CodecError` `ERR_INVALID_UTF8`; a BOM is kept. */
export function decodeText(bytes: Uint8Array): string {
  // Pure ASCII is the common case on this wire and decodes faster by hand for short inputs.
  if (bytes.length <= 32) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i] as number) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  try {
    return strictDecoder.decode(bytes);
  } catch (cause) {
    throw new CodecError('ERR_INVALID_UTF8', 'payload is not valid UTF-8', { cause });
  }
}
