// Where a webhook may be delivered: never to loopback, private, link-local, shared (CGNAT),
// multicast or reserved addresses, where an admin-supplied URL would reach Tessera's own network
// (the database, cloud metadata at 169.254.169.254) — unless DEV_ALLOW_PRIVATE_WEBHOOK_URLS, for
// development only. The check is on the address the connection is made to: a `lookup` that
// refuses a name resolving to such an address (so a DNS answer that changes between a check and
// the connect, "DNS rebinding", cannot slip through), and the same check on an address literal,
// which Node connects to without a lookup.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const blocked = new BlockList();
// IPv4: this network, private (RFC 1918), shared address space (RFC 6598), loopback, link-local,
// IETF protocol assignments, documentation/test nets, benchmarking, multicast and reserved.
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
// IPv6: unspecified, loopback, unique local (fc00::/7), link-local, site-local, multicast,
// documentation, and NAT64 (64:ff9b::/96 reaches IPv4 addresses).
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['64:ff9b::', 96],
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

/** Whether an address (IPv4, IPv6, or IPv4-mapped IPv6) is one a webhook must not reach. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  return blocked.check(address, 'ipv6');
}

export class ForbiddenDestination extends Error {
  constructor(address: string) {
    super(`webhook destination ${address} is a loopback, private or reserved address`);
    this.name = this.constructor.name;
  }
}

/** A `lookup` for http(s).request that refuses forbidden addresses (all of a name's answers). */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...(options as object), all: true } as LookupAllOptions, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isForbiddenAddress(a.address));
    if (bad) return callback(new ForbiddenDestination(bad.address), '', 0);
    if ((options as { all?: boolean }).all)
      return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    const first = list[0]!;
    callback(null, first.address, first.family);
  });
};

/** Throws for an address-literal host that is forbidden (names are checked by guardedLookup). */
export function checkLiteralHost(hostname: string): void {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (isIP(bare) && isForbiddenAddress(bare)) throw new ForbiddenDestination(bare);
}
