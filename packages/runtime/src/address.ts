/** A UDP endpoint. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `host:port`, `[::1]:port` or `:port` (host defaults to 127.0.0.1).
 * Throws `RangeError` with a message fit for a CLI user.
 */
export function parseHostPort(text: string, what = 'address'): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:\s]*)):(\d{1,5})$/.exec(text.trim());
  if (!match) throw new RangeError(`${what} must look like host:port (e.g. 127.0.0.1:10000), got "${text}"`);
  const host = match[1] ?? (match[2] === '' || match[2] === undefined ? '127.0.0.1' : match[2]);
  const port = Number(match[3]);
  if (port > 65535) throw new RangeError(`${what} port must be 0-65535, got ${port}`);
  return { host, port };
}

/** `host:port`, with brackets around IPv6 hosts. */
export function formatHostPort(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
