// The trust boundary for what a request says about where it came from. The client's address is
// the socket's peer, unless that peer is one of TRUSTED_PROXIES: then X-Forwarded-For is read
// from the right, skipping the trusted proxies, and the first address that is not one of them is
// the client's. Entries further left were written by that client and count for nothing; they
// must not, as the address is what sign-in limits, device-code entry limits, the token quota
// and the audit trail count by.
//
// Headers only a proxy may set (X-Forwarded-*, Forwarded and the client-certificate header) are
// removed from requests whose peer is not a trusted proxy, before anything else reads them
// (Koa's protocol, oidc-provider, mtls.ts): from anyone else they are whatever the sender chose.
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP, type Socket } from 'node:net';
import type { Middleware } from 'koa';

export interface TrustedProxies {
  /** Whether a (valid) address is one of the trusted proxies. */
  contains(address: string): boolean;
}

/** `10.0.0.0/8`, `127.0.0.1`, `fd00::/8`: an address, or a network in CIDR notation. */
export function trustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return {
    contains(address) {
      const family = isIP(address);
      return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

/**
 * One X-Forwarded-For entry as an address: proxies write `1.2.3.4`, some `1.2.3.4:5678`,
 * `[2001:db8::1]` or `[2001:db8::1]:443`. undefined for anything else (`unknown`, garbage).
 */
export function forwardedAddress(entry: string): string | undefined {
  let value = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed) value = bracketed[1]!;
  else if (/^[\d.]+:\d{1,5}$/.test(value)) value = value.slice(0, value.lastIndexOf(':'));
  return isIP(value) ? normalizeAddress(value) : undefined;
}

/** An IPv4 client reaching a dual-stack listener appears as `::ffff:a.b.c.d`: counted as `a.b.c.d`. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/**
 * The client's address: `peer` unless it is a trusted proxy; then, walking X-Forwarded-For from
 * the right, the first entry that is not a trusted proxy. If every entry is a trusted proxy, or
 * the walk meets an entry that is no address, the last trusted address walked is the client
 * (a proxy that forwards garbage, or a client inside a trusted network).
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trusted: TrustedProxies): string {
  let client = normalizeAddress(peer);
  if (!trusted.contains(client) || !forwardedFor) return client;
  const entries = forwardedFor.split(',');
  for (let i = entries.length - 1; i >= 0; i--) {
    const address = forwardedAddress(entries[i]!);
    if (address === undefined) break;
    client = address;
    if (!trusted.contains(address)) break;
  }
  return client;
}

// Connections from a trusted proxy, as marked by the boundary below; mtls.ts asks, so that a
// client-certificate header is ignored even if the boundary did not run (fails closed). Keyed by
// socket, not request: the peer is the connection's, and ctx.req may be wrapped on the way
// (secret-authenticated-form.ts).
const fromTrustedProxy = new WeakSet<Socket>();

export function isFromTrustedProxy(req: IncomingMessage): boolean {
  return fromTrustedProxy.has(req.socket);
}

// Set by proxies, never by a client: Koa reads x-forwarded-proto and -host when app.proxy is on.
const PROXY_HEADERS = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'forwarded'];

/**
 * The first middleware: sets ctx.ip (read by everything that counts or records an address) and
 * removes proxy-only headers from requests that did not come through a trusted proxy.
 */
export function clientAddressBoundary(
  trusted: TrustedProxies,
  options: { certHeader?: string | undefined } = {},
): Middleware {
  const stripped = [...PROXY_HEADERS, ...(options.certHeader ? [options.certHeader.toLowerCase()] : [])];
  return function clientAddressFromTrustedProxies(ctx, next) {
    const peer = ctx.req.socket.remoteAddress ?? '';
    if (trusted.contains(normalizeAddress(peer))) {
      fromTrustedProxy.add(ctx.req.socket);
    } else {
      for (const name of stripped) delete ctx.req.headers[name];
    }
    ctx.request.ip = clientAddress(peer, ctx.get('x-forwarded-for') || undefined, trusted);
    return next();
  };
}
