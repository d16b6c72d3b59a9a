// The webhook SSRF guard (src/webhooks/ssrf-guard.ts): which addresses a delivery may never reach,
// and that post() refuses them at connect time, for address literals and for names that resolve
// to them, unless development allows private receivers.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post } from '../../src/webhooks/delivery.ts';
import { isForbiddenAddress } from '../../src/webhooks/ssrf-guard.ts';

let port: number;
let hits = 0;
const server = createServer((_req, res) => {
  hits++;
  res.writeHead(204).end();
});
beforeAll(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)));
beforeAll(() => {
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the webhook SSRF guard', () => {
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fd00::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:10.1.2.3',
    '64:ff9b::a9fe:a9fe',
    'not-an-address',
  ])('forbids %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it.each([
    ['a loopback literal', () => `http://127.0.0.1:${port}/hook`],
    ['a private literal', () => 'http://10.0.0.1/hook'],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data'],
    ['an IPv6 loopback literal', () => `http://[::1]:${port}/hook`],
    ['a name that resolves to loopback', () => `http://localhost:${port}/hook`],
  ])('refuses to connect to %s', async (_name, url) => {
    const before = hits;
    await expect(post(url(), {}, '{}', false)).rejects.toThrow(/loopback, private or reserved address/);
    expect(hits).toBe(before);
  });

  it('connects to a loopback receiver when development allows it', async () => {
    const before = hits;
    expect(await post(`http://127.0.0.1:${port}/hook`, {}, '{}', true)).toBe(204);
    expect(hits).toBe(before + 1);
  });
});
