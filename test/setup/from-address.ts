// Requests from a chosen loopback address. Linux routes all of 127.0.0.0/8 to the loopback
// interface, so a test can be a peer of its own (e.g. 127.18.4.9) that no other test shares:
// what Tessera counts per address (rate limits, the audit trail) then belongs to that test alone,
// and a server can be told to trust one peer address and not another.
import { request } from 'node:http';

/** A random loopback address, never 127.0.0.1 (every other test's address). */
export function loopbackPeer(): string {
  const octet = () => Math.floor(Math.random() * 254) + 1;
  return `127.${octet()}.${octet()}.${octet()}`;
}

/** A fetch over plain HTTP whose connections come from `localAddress`; redirects are not followed. */
export function fetchFrom(localAddress: string) {
  return (
    url: string | URL,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Response> =>
    new Promise((resolve, reject) => {
      const req = request(
        url,
        { method: init.method ?? 'GET', headers: init.headers, localAddress, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
                headers.append(name, v);
            }
            const empty = res.statusCode === 204 || res.statusCode === 304;
            resolve(new Response(empty ? null : Buffer.concat(chunks), { status: res.statusCode!, headers }));
          });
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });
}
