import { execFileSync } from 'node:child_process';
import { DEFAULT_MAX_FRAME_BYTES } from '@streampy/codec';

/** macOS' default `net.inet.udp.maxdgram`, assumed when sysctl cannot be asked. */
const MACOS_DEFAULT_MAX_DATAGRAM = 9216;

/**
 * The largest datagram the node sends and accepts unless told otherwise: the protocol's 65,507
 * bytes, or less where the OS refuses larger sends. macOS does (9,216 bytes by default): a reply
 * packed beyond it would be refused by the OS after its GET had already taken the messages, so
 * the node packs replies within the OS's limit instead, and PUTs beyond it get ERR TOO_LARGE.
 */
export function defaultMaxDatagramBytes(platform: string = process.platform, readSysctl: (name: string) => string = sysctl): number {
  if (platform !== 'darwin') return DEFAULT_MAX_FRAME_BYTES;
  let limit = MACOS_DEFAULT_MAX_DATAGRAM;
  try {
    const value = Number.parseInt(readSysctl('net.inet.udp.maxdgram').trim(), 10);
    if (Number.isSafeInteger(value) && value > 0) limit = value;
  } catch {
    // No sysctl (a sandbox): keep macOS' default.
  }
  return Math.min(DEFAULT_MAX_FRAME_BYTES, limit);
}

function sysctl(name: string): string {
  return execFileSync('sysctl', ['-n', name], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
}
