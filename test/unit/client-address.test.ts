// The client address behind proxies (src/middleware/client-address.ts): only a trusted peer's
// X-Forwarded-For counts, read from the right, and what the client wrote to the left is ignored.
import { describe, expect, it } from 'vitest';
import {
  clientAddress,
  forwardedAddress,
  normalizeAddress,
  trustedProxies,
} from '../../src/middleware/client-address.ts';

const proxies = trustedProxies(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);

describe('clientAddress', () => {
  it('is the peer when the peer is not a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(clientAddress('198.51.100.7', '203.0.113.1', proxies)).toBe('198.51.100.7');
    expect(clientAddress('198.51.100.7', '10.0.0.1, 127.0.0.1', proxies)).toBe('198.51.100.7');
    expect(clientAddress('2001:db8::7', '203.0.113.1', proxies)).toBe('2001:db8::7');
  });

  it('is the peer (the proxy) when a trusted proxy forwards no X-Forwarded-For', () => {
    expect(clientAddress('10.1.2.3', undefined, proxies)).toBe('10.1.2.3');
    expect(clientAddress('10.1.2.3', '', proxies)).toBe('10.1.2.3');
  });

  it('from a trusted peer, is the right-most entry that is not a trusted proxy', () => {
    expect(clientAddress('127.0.0.1', '198.51.100.7', proxies)).toBe('198.51.100.7');
    // The client sent X-Forwarded-For: 203.0.113.1 itself; the proxy appended the real address.
    expect(clientAddress('127.0.0.1', '203.0.113.1, 198.51.100.7', proxies)).toBe('198.51.100.7');
    // Two proxy hops, the client's claim of being a proxy itself included.
    expect(clientAddress('10.0.0.2', '10.9.9.9, 198.51.100.7, 10.0.0.1', proxies)).toBe('198.51.100.7');
    expect(clientAddress('fd00::2', '2001:db8::7, fd00::1', proxies)).toBe('2001:db8::7');
    // Headers repeated on the wire arrive joined by commas; spacing varies.
    expect(clientAddress('127.0.0.1', '203.0.113.1,198.51.100.7 ,  10.0.0.1', proxies)).toBe('198.51.100.7');
  });

  it('accepts ports and brackets in entries, and maps IPv4-mapped IPv6 to IPv4', () => {
    expect(clientAddress('127.0.0.1', '198.51.100.7:51234', proxies)).toBe('198.51.100.7');
    expect(clientAddress('127.0.0.1', '[2001:db8::7]:443', proxies)).toBe('2001:db8::7');
    expect(clientAddress('::ffff:127.0.0.1', '198.51.100.7', proxies)).toBe('198.51.100.7');
    expect(clientAddress('::ffff:198.51.100.9', '203.0.113.1', proxies)).toBe('198.51.100.9');
  });

  it('stops at an entry that is no address: the last trusted hop walked is the client', () => {
    expect(clientAddress('127.0.0.1', 'unknown', proxies)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '198.51.100.7, <script>, 10.0.0.5', proxies)).toBe('10.0.0.5');
    // Every entry a trusted proxy: the left-most of them.
    expect(clientAddress('127.0.0.1', '10.0.0.7, 10.0.0.5', proxies)).toBe('10.0.0.7');
  });
});

describe('forwardedAddress and normalizeAddress', () => {
  it('read an address out of an entry, or nothing', () => {
    expect(forwardedAddress(' 198.51.100.7 ')).toBe('198.51.100.7');
    expect(forwardedAddress('2001:db8::7')).toBe('2001:db8::7');
    expect(forwardedAddress('[2001:db8::7]')).toBe('2001:db8::7');
    for (const garbage of [
      '',
      'unknown',
      '198.51.100.7:port',
      '999.1.1.1',
      '_hidden',
      '[198.51.100.7',
      'a'.repeat(5000),
    ]) {
      expect(forwardedAddress(garbage)).toBeUndefined();
    }
    expect(normalizeAddress('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    expect(normalizeAddress('::1')).toBe('::1');
  });
});

describe('trustedProxies', () => {
  it('matches addresses and networks of both families, and nothing that is no address', () => {
    expect(['10.255.0.1', '127.0.0.1', 'fd12::1'].map((a) => proxies.contains(a))).toEqual([true, true, true]);
    expect(['11.0.0.1', '127.0.0.2', 'fe80::1', '', 'garbage'].map((a) => proxies.contains(a))).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(trustedProxies([]).contains('127.0.0.1')).toBe(false);
  });
});
