import { describe, expect, it } from 'vitest';
import { AllowList, allowListFor, isLoopbackHost } from '../src/access.js';

describe('the allowlist', () => {
  it('matches IPv4 networks, a bare address as /32', () => {
    const list = AllowList.parse('10.0.0.0/8, 192.168.1.7,172.16.0.0/12');
    for (const ok of ['10.0.0.1', '10.255.255.255', '192.168.1.7', '172.16.0.1', '172.31.255.255']) expect(list.allows(ok), ok).toBe(true);
    for (const no of ['11.0.0.1', '192.168.1.8', '172.32.0.1', '9.255.255.255', '::1', 'not an address', '']) expect(list.allows(no), no).toBe(false);
  });

  it('matches IPv6 networks, a bare address as /128, compressed or not', () => {
    const list = AllowList.parse(['fd00::/8', '2001:db8::1', '::1']);
    for (const ok of ['fd12:3456::1', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '::1', '0:0:0:0:0:0:0:1']) {
      expect(list.allows(ok), ok).toBe(true);
    }
    for (const no of ['fe00::1', '2001:db8::2', '::2', '127.0.0.1', 'fd00::1::2']) expect(list.allows(no), no).toBe(false);
  });

  it('matches prefixes that end inside a byte, and /0', () => {
    const list = AllowList.parse('192.168.0.0/23,2001:db8:8000::/33');
    expect(list.allows('192.168.1.255')).toBe(true);
    expect(list.allows('192.168.2.0')).toBe(false);
    expect(list.allows('2001:db8:ffff::1')).toBe(true);
    expect(list.allows('2001:db8:7fff::1')).toBe(false);
    expect(AllowList.parse('0.0.0.0/0').allows('203.0.113.9')).toBe(true);
    expect(AllowList.parse('0.0.0.0/0').allows('2001:db8::1')).toBe(false);
    expect(AllowList.parse('::/0').allows('2001:db8::1')).toBe(true);
  });

  it('sees an IPv4 source on a dual-stack socket (::ffff:a.b.c.d) as IPv4, and a mapped rule as the IPv4 rule it spells', () => {
    expect(AllowList.parse('127.0.0.1').allows('::ffff:127.0.0.1')).toBe(true);
    expect(AllowList.parse('127.0.0.1').allows('::ffff:7f00:1')).toBe(true);
    expect(AllowList.parse('127.0.0.1').allows('::ffff:127.0.0.2')).toBe(false);
    expect(AllowList.parse('::ffff:10.0.0.0/104').allows('10.9.8.7')).toBe(true);
    expect(AllowList.parse('::ffff:10.0.0.0/104').allows('::ffff:10.9.8.7')).toBe(true);
    expect(AllowList.parse('::ffff:10.0.0.0/104').allows('11.0.0.1')).toBe(false);
  });

  it('ignores the zone of a link-local source', () => {
    expect(AllowList.parse('fe80::/10').allows('fe80::1%eth0')).toBe(true);
  });

  it('answers the same for an address it has cached, and keeps answering after the cache restarts', () => {
    const list = AllowList.parse('10.0.0.0/8');
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i++) expect(list.allows(`11.0.${i >> 8}.${i & 255}`)).toBe(false);
      expect(list.allows('10.1.2.3')).toBe(true);
    }
  });

  it.each([
    ['', /needs one or more networks/],
    ['10.0.0.0/8,', /needs one or more networks/],
    ['10.0.0.256', /is not an IP address or network/],
    ['010.0.0.1', /is not an IP address or network/],
    ['10.0.0.0/33', /prefix length from 0 to 32/],
    ['10.0.0.0/', /prefix length from 0 to 32/],
    ['::1/129', /prefix length from 0 to 128/],
    ['example.com', /is not an IP address or network/],
    ['fe80::1%eth0', /has a zone/],
    ['1:2:3:4:5:6:7:8:9', /is not an IP address/],
  ])('refuses %j with ERR_BAD_OPTION', (spec, message) => {
    expect(() => AllowList.parse(spec)).toThrow(message);
    expect(() => AllowList.parse(spec)).toThrow(expect.objectContaining({ code: 'ERR_BAD_OPTION', name: 'MqError' }));
  });
});

describe('which sources a node answers', () => {
  const refusal = /^refusing to listen on (0\.0\.0\.0:10000|\[::\]:0|192\.168\.1\.5:7) without access control: give --allow CIDR\[,CIDR\.\.\.\] \(option allow: the sources to answer\) or --auth-key-file FILE \(option auth: a shared key\)$/;

  it('bound to a loopback address: loopback sources only, unless told otherwise', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
      const list = allowListFor({ host, port: 0 }, undefined, false);
      expect(list?.allows('127.0.0.2')).toBe(true);
      expect(list?.allows('::1')).toBe(true);
      expect(list?.allows('10.0.0.1')).toBe(false);
    }
    expect(allowListFor({ host: '127.0.0.1', port: 0 }, AllowList.parse('127.0.0.1/32'), false)?.allows('127.0.0.2')).toBe(false);
  });

  it('bound elsewhere: the list given; everyone when every datagram must be signed; else a refusal to start', () => {
    expect(allowListFor({ host: '0.0.0.0', port: 10000 }, AllowList.parse('10.0.0.0/8'), false)?.allows('10.1.1.1')).toBe(true);
    expect(allowListFor({ host: '0.0.0.0', port: 10000 }, undefined, true)).toBeUndefined();
    for (const address of [{ host: '0.0.0.0', port: 10000 }, { host: '::', port: 0 }, { host: '192.168.1.5', port: 7 }]) {
      expect(isLoopbackHost(address.host)).toBe(false);
      expect(() => allowListFor(address, undefined, false)).toThrow(refusal);
      expect(() => allowListFor(address, undefined, false)).toThrow(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
    }
  });
});
