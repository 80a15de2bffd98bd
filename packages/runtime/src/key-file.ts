import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { AUTH_KEY_ID_MAX, StreampyError, isAuthKeyId } from '@streampy/codec';

/*
 * Shared keys for datagram authentication. A key file holds one key per line,
 * `<key id> <64 hex digits>` (blank lines and `#` comments ignored): the first line's key
 * signs, every line's key verifies. Keys rotate without downtime: add the new key as a second
 * line everywhere, then move it to the top everywhere, then remove the old line.
 */

export interface AuthKey {
  /** Names the key in every datagram it signs (1-32 characters of `A-Z a-z 0-9 _ . -`). */
  readonly id: string;
  /** 32 bytes. */
  readonly secret: Uint8Array;
}

export interface Keyring {
  /** The key that signs (the file's first). */
  readonly signing: AuthKey;
  /** Every key that verifies, by id (the signing key included). */
  readonly keys: ReadonlyMap<string, AuthKey>;
}

/** A key file that cannot be used; the message names the file and, for a bad line, its number. */
export class KeyFileError extends StreampyError<'ERR_KEY_FILE'> {
  override readonly name = 'KeyFileError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KEY_FILE', message, options);
  }
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** Parses a key file's text; `fileName` names it in errors. */
export function parseKeyFile(text: string, fileName = 'key file'): Keyring {
  const keys = new Map<string, AuthKey>();
  let signing: AuthKey | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${fileName}:${i + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 2) throw new KeyFileError(`${where}: expected "<key id> <64 hex digits>", got ${fields.length} field${fields.length === 1 ? '' : 's'}`);
    const [id, hex] = fields as [string, string];
    if (!isAuthKeyId(id)) throw new KeyFileError(`${where}: key id must be 1-${AUTH_KEY_ID_MAX} characters of A-Z a-z 0-9 _ . -, got "${id.slice(0, 40)}"`);
    // The secret is never echoed, not even in part: only its length.
    if (!HEX64.test(hex)) throw new KeyFileError(`${where}: key "${id}" must be 64 hex digits (32 bytes), got ${hex.length} characters`);
    if (keys.has(id)) throw new KeyFileError(`${where}: key id "${id}" appears twice`);
    const key: AuthKey = { id, secret: Uint8Array.from(Buffer.from(hex, 'hex')) };
    keys.set(id, key);
    signing ??= key;
  }
  if (signing === undefined) throw new KeyFileError(`${fileName}: no key in the file (expected lines "<key id> <64 hex digits>")`);
  return { signing, keys };
}

/**
 * Reads and parses a key file. On POSIX systems a file that other users may read or write is
 * refused, as ssh refuses such private keys: a shared secret anyone on the host can read
 * authenticates nobody. (Group access is allowed, for a service group.)
 */
export function loadKeyFile(path: string): Keyring {
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const { mode } = fstatSync(fd);
    if (process.platform !== 'win32' && (mode & 0o007) !== 0) {
      throw new KeyFileError(`key file ${path} is open to other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod o-rwx ${path}`);
    }
    text = readFileSync(fd, 'utf8');
  } catch (cause) {
    if (cause instanceof KeyFileError) throw cause;
    throw new KeyFileError(`cannot read key file ${path}: ${(cause as Error).message}`, { cause });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return parseKeyFile(text, path);
}
