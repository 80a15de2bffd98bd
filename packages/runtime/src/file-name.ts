/*
 * File names built from addresses and names must work on every OS: Windows refuses
 * `< > : " / \ | ? *` and control characters, drops a trailing dot or space (so `a.` and `a`
 * would be one file), and reserves device names such as `CON` or `NUL.log` whatever follows
 * their first dot. An IPv6 address (`::1`) alone breaks the first rule.
 */

/** The printable characters Windows refuses in a file name (control characters too, below). */
const UNSAFE = new Set('<>:"/\\|?*');
/** Device names, reserved case-insensitively as the part before the first dot. */
const RESERVED = /^(?:CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])$/i;

/** Whether Windows reserves `name` for a device: `CON`, `nul.log`, `COM1.x` (the part before the first dot decides). */
export function isReservedFileName(name: string): boolean {
  return RESERVED.test(name.split('.', 1)[0] ?? '');
}

/**
 * `text` made safe as (part of) a file name on Linux, macOS and Windows: each unsafe character
 * becomes `_`, a trailing dot or space becomes `_`, a reserved device name gets a `_` in front,
 * and an empty text is `_`. Text that is already safe comes back unchanged, so names chosen
 * before (`MQ.127.0.0.1-10000`) keep their files. Not reversible: for names shown to people
 * (log files), not for names that must be read back.
 */
export function safeFileNamePart(text: string): string {
  let safe = '';
  for (const char of text) safe += UNSAFE.has(char) || char.charCodeAt(0) < 0x20 ? '_' : char;
  safe = safe.replace(/[. ]+$/, (tail) => '_'.repeat(tail.length));
  if (isReservedFileName(safe)) safe = `_${safe}`;
  return safe === '' ? '_' : safe;
}
