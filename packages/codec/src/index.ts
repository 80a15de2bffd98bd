export { CodecError, isCodecError } from './errors.js';
export type { CodecErrorCode } from './errors.js';
export {
  DEFAULT_MAX_FRAME_BYTES,
  MAX_DECLARABLE_LENGTH,
  decodeFrame,
  decodeFrameText,
  decodeFrames,
  encodeFrame,
  encodeFrameInto,
  encodeFrames,
  encodedFrameLength,
  readFrameHeader,
  scanFrames,
} from './frame.js';
export type { DecodeOptions, FrameHeader, ScanResult } from './frame.js';
export { FrameDecoder } from './decoder.js';
export { decodeText, encodeText } from './text.js';
export {
  PROTOCOL_LIMITS,
  SEED_VERBS,
  UnknownVerbError,
  WIRE_ERROR_CODES,
  encodeReply,
  encodeRequest,
  errorCodeOf,
  isSeedForm,
  isWireErrorCode,
  parseReply,
  parseRequest,
  replyId,
} from './protocol.js';
export type { Delivery, Reply, Request, Verb, WireErrorCode } from './protocol.js';
