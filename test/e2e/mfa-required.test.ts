// MFA_REQUIRED=true (issue 17): every client requires a second factor, so a user without one
// sets up an authenticator app at the next sign-in, at a client that asks nothing of its own.
import type * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../setup/tessera.ts';
import { browser, discover, idTokenOf, newClient, newUser, secretOf, titleOf, totpCode } from './mfa-flow.ts';

// Several pages of sign-in: more than the default 30 s on a loaded 2-core machine.
vi.setConfig({ testTimeout: 90_000 });

let server: TestServer;
let as: oauth.AuthorizationServer;

beforeAll(async () => {
  server = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1', MFA_REQUIRED: 'true' });
  as = await discover(server);
}, 60_000);
afterAll(() => server?.close());

it('has a user without a factor enrol one at any client before the code is issued', async () => {
  const [client, user] = await Promise.all([newClient(), newUser()]);
  const b = browser(server, as);
  const flow = await b.start(client);
  await b.submit(flow, 'login', { email: user.email, password: user.password });
  expect(titleOf(flow.page!.html)).toBe('Set up two-step verification');
  expect(flow.callback).toBeUndefined();
  await b.submit(flow, 'enrol', { code: totpCode(secretOf(flow.page!.html)) });
  await b.submit(flow, 'continue');
  const claims = await idTokenOf(as, flow);
  expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
  expect(claims.acr).toBe('urn:tessera:acr:mfa');
});
