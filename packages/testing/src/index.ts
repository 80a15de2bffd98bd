export { ManualClock } from './clock.js';
export { recordingLogger, silentLogger } from './logger.js';
export type { LogRecord, RecordingLogger } from './logger.js';
export { TestPeer, text } from './peer.js';
export { isAlive } from './process.js';
export type { TestPeerOptions } from './peer.js';
export { waitFor } from './wait.js';
export type { WaitForOptions } from './wait.js';
