// Shared by the second-factor tests (mfa*.test.ts): an authorization request driven over HTTP as
// a browser would (a cookie jar, an address of its own), each page's form found and posted, and
// the code exchanged with oauth4webapi for a validated ID token. TOTP codes are computed here
// with otpauth from the secret the enrolment page shows.
import * as oauth from 'oauth4webapi';
import * as OTPAuth from 'otpauth';
import { expect } from 'vitest';
import { ownAddress } from '../hardening/support.ts';
import { get, newJar } from '../setup/sign-in.ts';
import { randomId, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

export const REDIRECT = 'https://app.example.test/callback';
export const PASSWORD = 'lantern orchard velvet 42';
const options = { [oauth.allowInsecureRequests]: true };

export const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
export const titleOf = (html: string) => /<h1 id="page-title">([^<]*)<\/h1>/.exec(html)?.[1];
export const alertOf = (html: string) => /<p class="alert" role="alert"[^>]*>([^<]*)<\/p>/.exec(html)?.[1];
export const noticeOf = (html: string) => /<p id="notice">([^<]*)<\/p>/.exec(html)?.[1];
export const secretOf = (html: string) => /<code id="totp-secret">([^<]+)<\/code>/.exec(html)![1]!.replace(/ /g, '');
export const codesOf = (html: string) => [...html.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]!);

/** The TOTP code for `secret` at now + `offsetSteps` 30-second steps. */
export function totpCode(secret: string, offsetSteps = 0): string {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 });
  return totp.generate({ timestamp: Date.now() + offsetSteps * 30_000 });
}

export async function newUser(): Promise<{ email: string; password: string; id: string }> {
  const email = `${randomId('mfa')}@example.test`;
  const created = await tessera(['--json', 'users', 'create', '--email', email, '--password-stdin'], {
    input: PASSWORD,
  });
  expect(created.code, created.stderr).toBe(0);
  return { email, password: PASSWORD, id: (JSON.parse(created.stdout) as { id: string }).id };
}

export async function newClient(extra: string[] = []): Promise<oauth.Client> {
  const created = await tesseraJson<{ client_id: string }>([
    'clients',
    'create',
    '--name',
    randomId('app'),
    '--public',
    '--first-party',
    '--grant-types',
    'authorization_code',
    '--redirect-uri',
    REDIRECT,
    '--scope',
    'openid email',
    ...extra,
  ]);
  return { client_id: created.client_id };
}

export async function discover(server: TestServer): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(server.issuer);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
}

export interface Answer {
  status: number;
  location: string | null;
  html: string;
}

/**
 * A browser: one cookie jar and one client address across its authorization requests (so that
 * a second request can find the first one's session).
 */
export function browser(server: TestServer, as: oauth.AuthorizationServer) {
  const jar = newJar();
  const headers = ownAddress();
  const send = async (url: string, init: RequestInit = {}): Promise<Answer> => {
    const res = await get(jar, new URL(url, server.issuer).href, {
      ...init,
      headers: { ...headers, ...(init.headers as Record<string, string>) },
    });
    return { status: res.status, location: res.headers.get('location'), html: await res.text() };
  };
  const post = (path: string, fields: Record<string, string>) =>
    send(path, {
      method: 'POST',
      body: new URLSearchParams(fields),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

  return {
    headers,
    send,
    post,
    /**
     * Starts an authorization request: follows redirects until a page of Tessera's (the
     * interaction) or the app's callback.
     */
    async start(client: oauth.Client, params: Record<string, string> = {}) {
      const verifier = oauth.generateRandomCodeVerifier();
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        client_id: client.client_id,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid email',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        ...params,
      }).toString();
      const flow = {
        client,
        verifier,
        uid: '',
        page: undefined as Answer | undefined,
        callback: undefined as URL | undefined,
      };
      await this.follow(flow, await send(url.href));
      return flow;
    },
    /** Follows an answer's redirects: to the app's callback, or to a page (kept as flow.page). */
    async follow(
      flow: { uid: string; page: Answer | undefined; callback: URL | undefined },
      answer: Answer,
    ): Promise<Answer> {
      let current = answer;
      for (let hops = 0; hops < 10 && current.location; hops++) {
        const next = new URL(current.location, server.issuer);
        if (next.origin !== server.issuer) {
          flow.callback = next;
          flow.page = undefined;
          return current;
        }
        if (next.pathname.startsWith('/interaction/')) flow.uid = next.pathname.split('/')[2]!;
        current = await send(next.href);
      }
      flow.page = current;
      return current;
    },
    /** Posts a form of the interaction's current page (its CSRF token added) and follows the answer. */
    async submit(
      flow: { uid: string; page: Answer | undefined; callback: URL | undefined },
      action: string,
      fields: Record<string, string> = {},
    ): Promise<Answer> {
      const csrf = csrfOf(flow.page!.html);
      const answer = await post(`/interaction/${flow.uid}/${action}`, { csrf, ...fields });
      await this.follow(flow, answer);
      return answer;
    },
  };
}

export type Browser = ReturnType<typeof browser>;

/** Exchanges the flow's code (oauth4webapi validates the ID token) and returns the ID token's claims. */
export async function idTokenOf(
  as: oauth.AuthorizationServer,
  flow: { client: oauth.Client; verifier: string; callback: URL | undefined },
) {
  expect(flow.callback, 'the flow reached the app').toBeDefined();
  const params = oauth.validateAuthResponse(as, flow.client, flow.callback!, oauth.expectNoState);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    flow.client,
    oauth.None(),
    params,
    REDIRECT,
    flow.verifier,
    options,
  );
  const result = await oauth.processAuthorizationCodeResponse(as, flow.client, response);
  return oauth.getValidatedIdTokenClaims(result)!;
}
