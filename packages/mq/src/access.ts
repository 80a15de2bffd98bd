import { formatHostPort, type HostPort } from '@streampy/runtime';
import { MqError } from './errors.js';

/*
 * Who a node answers, by source address: `--allow CIDR[,CIDR...]` (PROTOCOL.md, "Access
 * control"). IPv4 and IPv6 networks; a bare address is that one address. An IPv4 source seen
 * on a dual-stack socket as `::ffff:a.b.c.d` is matched as `a.b.c.d`, and an IPv6 rule inside
 * `::ffff:0:0/96` as the IPv4 rule it spells, so each address has one form.
 */

interface Network {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** The 4 bytes of a strict dotted quad (no leading zeros, 0-255), or undefined. */
function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes[i] = Number(part);
  }
  return bytes;
}

/** The 16 bytes of an IPv6 address (`::` compression and a trailing dotted quad allowed), or undefined. */
function parseIPv6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string): string[] => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  const words: number[] = [];
  const read = (list: string[], last: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const group = list[i] as string;
      if (last && i === list.length - 1 && group.includes('.')) {
        const v4 = parseIPv4(group);
        if (v4 === undefined) return false;
        words.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(group)) words.push(Number.parseInt(group, 16));
      else return false;
    }
    return true;
  };
  if (!read(head, halves.length === 1)) return undefined;
  const headWords = words.length;
  if (!read(tail, true)) return undefined;
  const tailWords = words.length - headWords;
  if (halves.length === 1 ? words.length !== 8 : words.length > 7) return undefined;
  const bytes = new Uint8Array(16);
  const put = (word: number, at: number): void => {
    bytes[2 * at] = word >> 8;
    bytes[2 * at + 1] = word & 0xff;
  };
  for (let i = 0; i < headWords; i++) put(words[i] as number, i);
  for (let i = 0; i < tailWords; i++) put(words[headWords + i] as number, 8 - tailWords + i);
  return bytes;
}

/** True for the IPv4-mapped prefix `::ffff:0:0/96`. */
function isMapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** An address as (family, bytes), an IPv4-mapped IPv6 one as IPv4; a zone (`%eth0`) is ignored. */
function parseAddress(text: string): { family: 4 | 6; bytes: Uint8Array } | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, bytes: v4 };
  const zone = text.indexOf('%');
  const v6 = parseIPv6(zone >= 0 ? text.slice(0, zone) : text);
  if (v6 === undefined) return undefined;
  return isMapped(v6) ? { family: 4, bytes: v6.subarray(12) } : { family: 6, bytes: v6 };
}

function badAllow(text: string, why: string): MqError {
  return new MqError('ERR_BAD_OPTION', `--allow: "${text.slice(0, 60)}" ${why} (give IPv4 or IPv6 networks such as 10.0.0.0/8, fd00::/8 or 192.168.1.7)`);
}

/** One network of an allowlist: `address[/prefix]`. */
function parseNetwork(text: string): Network {
  const slash = text.indexOf('/');
  const addressText = slash >= 0 ? text.slice(0, slash) : text;
  if (addressText.includes('%')) throw badAllow(text, 'has a zone: networks have none');
  const v4 = parseIPv4(addressText);
  const v6 = v4 === undefined ? parseIPv6(addressText) : undefined;
  if (v4 === undefined && v6 === undefined) throw badAllow(text, 'is not an IP address or network');
  const width = v4 !== undefined ? 32 : 128;
  let prefix = width;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > width) throw badAllow(text, `needs a prefix length from 0 to ${width}`);
    prefix = Number(prefixText);
  }
  if (v4 !== undefined) return { family: 4, bytes: v4, prefix };
  const bytes = v6 as Uint8Array;
  // A rule inside ::ffff:0:0/96 names IPv4 sources, which are matched as IPv4.
  if (prefix >= 96 && isMapped(bytes)) return { family: 4, bytes: bytes.subarray(12), prefix: prefix - 96 };
  return { family: 6, bytes, prefix };
}

function contains(network: Network, address: { family: 4 | 6; bytes: Uint8Array }): boolean {
  if (network.family !== address.family) return false;
  const whole = network.prefix >> 3;
  for (let i = 0; i < whole; i++) if (network.bytes[i] !== address.bytes[i]) return false;
  const bits = network.prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((network.bytes[whole] as number) & mask) === ((address.bytes[whole] as number) & mask);
}

/** Source addresses remembered with their verdict: a busy node sees few distinct ones. */
const CACHE_LIMIT = 4096;

/** The sources a node answers. */
export class AllowList {
  readonly #networks: readonly Network[];
  readonly #text: string;
  readonly #cache = new Map<string, boolean>();

  private constructor(networks: readonly Network[], text: string) {
    this.#networks = networks;
    this.#text = text;
  }

  /** `--allow` as given: comma-separated networks, or a list of them. Throws `MqError` `ERR_BAD_OPTION`. */
  static parse(spec: string | readonly string[]): AllowList {
    const items = (typeof spec === 'string' ? [spec] : spec).flatMap((item) => item.split(',')).map((item) => item.trim());
    if (items.length === 0 || items.some((item) => item === '')) throw new MqError('ERR_BAD_OPTION', '--allow needs one or more networks, comma-separated, e.g. 10.0.0.0/8,::1');
    return new AllowList(items.map(parseNetwork), items.join(','));
  }

  /** What a node bound to a loopback address answers by default. */
  static loopback(): AllowList {
    return AllowList.parse('127.0.0.0/8,::1');
  }

  /** The networks, as given, for the node's "listening" line. */
  toString(): string {
    return this.#text;
  }

  /** True when a datagram from `address` (as the socket reports it) may be answered. */
  allows(address: string): boolean {
    const known = this.#cache.get(address);
    if (known !== undefined) return known;
    const parsed = parseAddress(address);
    const verdict = parsed !== undefined && this.#networks.some((network) => contains(network, parsed));
    // A flood of forged sources must not grow the cache: past the limit it starts again.
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(address, verdict);
    return verdict;
  }
}

const LOOPBACK = AllowList.loopback();

/** True for a loopback host: `localhost`, `127.0.0.0/8`, `::1` (an IPv4-mapped form included). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || LOOPBACK.allows(host);
}

/**
 * The allowlist a node bound to `address` uses: the one given; loopback only on a loopback
 * address; nobody filtered elsewhere when every datagram must be signed. Bound elsewhere with
 * neither, it refuses (`MqError` `ERR_BAD_OPTION`), with the sentence the CLI prints.
 */
export function allowListFor(address: HostPort, allow: AllowList | undefined, authenticated: boolean): AllowList | undefined {
  if (allow !== undefined) return allow;
  if (isLoopbackHost(address.host)) return LOOPBACK;
  if (authenticated) return undefined;
  throw new MqError(
    'ERR_BAD_OPTION',
    `refusing to listen on ${formatHostPort(address)} without access control: give --allow CIDR[,CIDR...] (option allow: the sources to answer) or --auth-key-file FILE (option auth: a shared key)`,
  );
}
