export { CodecError, ERROR_CODES, StreampyError, isCodecError, isStreampyError } from './errors.js';
export type { CodecErrorCode, StreampyErrorCode } from './errors.js';
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
export { WIRE_ERROR_CODES, errorCodeOf, isWireErrorCode } from './wire-errors.js';
export type { WireErrorCode } from './wire-errors.js';
export { checkInteger, checkName, isName, isQueueName } from './validate.js';
export { LEASE_TOKEN_MAX_LENGTH, formatLeaseToken, parseLeaseToken } from './token.js';
export type { LeaseToken } from './token.js';
export { parseNodeStats } from './stats.js';
export type { NodeStats, QueueStats } from './stats.js';
export { PROTOCOL_LIMITS, SEED_VERBS, isSeedForm } from './protocol.js';
export type { Delivery, Reply, Request, Verb } from './protocol.js';
export { encodeRequest, encodeRequestFrameInto, encodedRequestFrameLength } from './request.js';
export { UnknownVerbError, parseRequest } from './request-parse.js';
export { formatRequestId, replyId, replyIdCounter, requestId } from './ids.js';
export { encodeReply } from './reply.js';
export { parseReply } from './reply-parse.js';
export { ReplyWriter } from './reply-writer.js';
export {
  MAX_BATCH_STATUS,
  MAX_DATAGRAM_FRAME_HEADER,
  MAX_ID_PREFIX,
  MAX_LEASED_ITEM_OVERHEAD,
  MAX_ONE_MESSAGE_REPLY_OVERHEAD,
  MAX_PUT_REQUEST_OVERHEAD,
  batchStatusLength,
  frameHeaderLength,
  idPrefixLength,
} from './sizes.js';
export {
  AUTH_FRAME_MAX_BYTES,
  AUTH_KEY_ID_MAX,
  AUTH_KEY_ID_START,
  AUTH_MAC_HEX,
  AUTH_NONCE_HEX,
  AUTH_VERSION_WORD,
  authSigningInput,
  authSigningPrefix,
  encodeAuthFrame,
  isAuthKeyId,
  parseAuthHeader,
  scanAuthFrame,
  writeAuthMac,
} from './auth.js';
export type { AuthFrameView, AuthHeader, AuthRole, ParsedAuthHeader } from './auth.js';
