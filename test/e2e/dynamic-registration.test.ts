// Dynamic client registration (RFC 7591) and its management (RFC 7592), with oauth4webapi as the
// registering client: an MCP-style public client registers itself under DCR=open and completes
// Authorization Code + PKCE; DCR=initial-token spends each token's uses exactly; the policy's
// refusals carry RFC 7591's error codes.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../hardening/support.ts';
import { authorize, newJar } from '../setup/sign-in.ts';
import { type AdminClient, CLI_MODES, cliIn, createAdminClient } from '../setup/admin.ts';
import { startTestServer, tessera, tesseraJson, type TestServer } from '../setup/tessera.ts';

const options = { [oauth.allowInsecureRequests]: true };
// A native app's loopback redirect (RFC 8252 §7.3), as MCP clients register.
const REDIRECT = 'http://127.0.0.1:33418/callback';

let open: TestServer;
let gated: TestServer;
let limited: TestServer;

beforeAll(async () => {
  [open, gated, limited] = await Promise.all([
    startTestServer({ DCR: 'open', DCR_RATE_LIMIT_PER_HOUR: '1000' }),
    startTestServer({ DCR: 'initial-token', DCR_RATE_LIMIT_PER_HOUR: '1000' }),
    // Its limit is counted for an address of the test's own (through a trusted proxy), as the
    // counters live in the database every test server shares.
    startTestServer({ DCR: 'open', DCR_RATE_LIMIT_PER_HOUR: '2', TRUSTED_PROXIES: '127.0.0.1' }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([open?.close(), gated?.close(), limited?.close()]);
});

async function discover(server: TestServer) {
  const issuer = new URL(server.issuer);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
}

function register(server: TestServer, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const mcpClient = {
  client_name: 'An MCP client',
  redirect_uris: [REDIRECT],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'none',
  scope: 'openid offline_access',
};

describe('DCR=open', () => {
  it('publishes the registration endpoint, and a public client registers itself and signs a user in', async () => {
    const as = await discover(open);
    expect(as.registration_endpoint).toBe(`${open.issuer}/register`);

    const client = await oauth.processDynamicClientRegistrationResponse(
      await oauth.dynamicClientRegistrationRequest(as, mcpClient, options),
    );
    expect(client).toMatchObject({
      client_name: 'An MCP client',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      registration_client_uri: `${open.issuer}/register/${client.client_id}`,
    });
    expect(client.client_secret).toBeUndefined();
    expect(client.registration_access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // Authorization Code + PKCE with the new client; its consent page says it is unreviewed.
    const user = await createUser();
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid offline_access',
      prompt: 'consent',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const pages: string[] = [];
    const callback = await authorize(url, user, newJar(), {}, (html) => pages.push(html));
    expect(pages.some((html) => html.includes('id="unreviewed"'))).toBe(true);

    const registered: oauth.Client = { client_id: client.client_id };
    const params = oauth.validateAuthResponse(as, registered, callback);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      registered,
      oauth.None(),
      params,
      REDIRECT,
      verifier,
      options,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, registered, response);
    expect(tokens.refresh_token).toBeTruthy();

    // An admin approves it: the warning goes.
    expect((await tessera(['dcr', 'approve', client.client_id])).code).toBe(0);
    const after: string[] = [];
    await authorize(url, user, newJar(), {}, (html) => after.push(html));
    expect(after.some((html) => html.includes('id="unreviewed"'))).toBe(false);
  }, 60_000);

  it('registers a backchannel_logout_uri (Back-Channel Logout 1.0 §2.2), and refuses one that is not https', async () => {
    const logoutUri = 'https://mcp.example.test/backchannel-logout';
    const res = await register(open, { ...mcpClient, backchannel_logout_uri: logoutUri });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Record<string, unknown>;
    expect(created).toMatchObject({ backchannel_logout_uri: logoutUri, backchannel_logout_session_required: false });
    expect(await tesseraJson(['clients', 'show', String(created.client_id)])).toMatchObject({
      backchannel_logout_uri: logoutUri,
    });
    for (const [value, description] of [
      ['http://mcp.example.test/logout', 'must use https'],
      ['https://mcp.example.test/logout#x', 'must not contain a fragment'],
      [42, 'backchannel_logout_uri must be a string'],
    ] as const) {
      const refused = await register(open, { ...mcpClient, backchannel_logout_uri: value });
      expect(refused.status).toBe(400);
      const body = (await refused.json()) as { error: string; error_description: string };
      expect(body.error).toBe('invalid_client_metadata');
      expect(body.error_description).toContain(description);
    }
  });

  it('manages the registration with its token (RFC 7592), which rotates on update', async () => {
    const created = (await (await register(open, mcpClient)).json()) as Record<string, string>;
    const uri = created.registration_client_uri!;
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });

    const read = await fetch(uri, { headers: auth(created.registration_access_token!) });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ client_id: created.client_id, client_name: 'An MCP client' });

    const updated = await fetch(uri, {
      method: 'PUT',
      headers: { ...auth(created.registration_access_token!), 'content-type': 'application/json' },
      body: JSON.stringify({ ...mcpClient, client_id: created.client_id, client_name: 'Renamed' }),
    });
    expect(updated.status).toBe(200);
    const body = (await updated.json()) as Record<string, string>;
    expect(body.client_name).toBe('Renamed');
    expect(body.registration_access_token).not.toBe(created.registration_access_token);

    // The old token is dead; the new one works; another client's token never does.
    expect((await fetch(uri, { headers: auth(created.registration_access_token!) })).status).toBe(401);
    const other = (await (await register(open, mcpClient)).json()) as Record<string, string>;
    const foreign = await fetch(uri, { headers: auth(other.registration_access_token!) });
    expect(foreign.status).toBe(401);
    expect(foreign.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);

    const deleted = await fetch(uri, { method: 'DELETE', headers: auth(body.registration_access_token!) });
    expect(deleted.status).toBe(204);
    expect((await fetch(uri, { headers: auth(body.registration_access_token!) })).status).toBe(401);
    const { stdout } = await tessera(['clients', 'show', created.client_id!]);
    expect(stdout).toBe('');
  }, 60_000);

  it("refuses what the policy does not allow, with RFC 7591's error codes", async () => {
    const cases: [unknown, number, string][] = [
      [{ ...mcpClient, redirect_uris: ['http://app.example.test/cb'] }, 400, 'invalid_redirect_uri'],
      [{ ...mcpClient, redirect_uris: ['https://app.example.test/cb#frag'] }, 400, 'invalid_redirect_uri'],
      [{ ...mcpClient, redirect_uris: [] }, 400, 'invalid_redirect_uri'],
      [{ ...mcpClient, grant_types: ['client_credentials'] }, 400, 'invalid_client_metadata'],
      [{ ...mcpClient, response_types: ['token'] }, 400, 'invalid_client_metadata'],
      [{ ...mcpClient, scope: 'openid admin' }, 400, 'invalid_client_metadata'],
      [{ ...mcpClient, token_endpoint_auth_method: 'private_key_jwt' }, 400, 'invalid_client_metadata'],
      [{ ...mcpClient, redirect_uris: 'not a list' }, 400, 'invalid_client_metadata'],
      [{ ...mcpClient, software_statement: 'eyJ.eyJ.sig' }, 400, 'invalid_software_statement'],
      [[1, 2], 400, 'invalid_client_metadata'],
      ['{not json', 400, 'invalid_request'],
    ];
    for (const [body, status, error] of cases) {
      const res = await register(open, body);
      expect([res.status, ((await res.json()) as { error: string }).error], JSON.stringify(body)).toEqual([
        status,
        error,
      ]);
    }
    // A confidential client gets a secret, shown once.
    const confidential = await register(open, {
      ...mcpClient,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: ['https://app.example.test/cb'],
    });
    expect(confidential.status).toBe(201);
    expect(((await confidential.json()) as { client_secret?: string }).client_secret).toBeTruthy();
  }, 60_000);

  it('limits registrations per address, exactly, under concurrent requests', async () => {
    const from = { 'x-forwarded-for': `198.51.100.${1 + Math.floor(Math.random() * 250)}` };
    const answers = await Promise.all(Array.from({ length: 6 }, () => register(limited, mcpClient, from)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 429, 429, 429, 429]);
    expect(answers.find((r) => r.status === 429)!.headers.get('retry-after')).toMatch(/^\d+$/);
  }, 60_000);
});

describe('DCR=initial-token', () => {
  it('requires a live token and spends each of its uses once, even concurrently', async () => {
    expect((await register(gated, mcpClient)).status).toBe(401);
    expect((await register(gated, mcpClient, { authorization: 'Bearer not-a-token' })).status).toBe(401);

    const issued = await tesseraJson<{ id: string; token: string }>(['dcr', 'tokens', 'create', '--max-uses', '2']);
    const auth = { authorization: `Bearer ${issued.token}` };
    const answers = await Promise.all(Array.from({ length: 8 }, () => register(gated, mcpClient, auth)));
    expect(answers.map((r) => r.status).sort()).toEqual([201, 201, 401, 401, 401, 401, 401, 401]);

    // A refused registration gives its use back; a revoked token is refused.
    const second = await tesseraJson<{ id: string; token: string }>(['dcr', 'tokens', 'create']);
    const bearer = { authorization: `Bearer ${second.token}` };
    expect((await register(gated, { ...mcpClient, grant_types: ['client_credentials'] }, bearer)).status).toBe(400);
    expect((await tessera(['dcr', 'tokens', 'revoke', second.id])).code).toBe(0);
    expect((await register(gated, mcpClient, bearer)).status).toBe(401);

    const listed = await tesseraJson<{ id: string; uses: number; revoked_at: string | null }[]>([
      'dcr',
      'tokens',
      'list',
    ]);
    expect(listed.find((t) => t.id === issued.id)).toMatchObject({ uses: 2, revoked_at: null });
    expect(listed.find((t) => t.id === second.id)).toMatchObject({ uses: 0 });
    expect(listed.find((t) => t.id === second.id)!.revoked_at).not.toBeNull();
  }, 60_000);
});

// On the database and through the admin API (/admin/v1/dcr/…, /clients/{id}/approval): the same
// commands and output; the token is in the create's output only.
describe.each(CLI_MODES)('tessera dcr (%s)', (mode) => {
  let admin: AdminClient;
  const { tessera: inMode, tesseraJson: json } = cliIn(mode, () => ({ issuer: gated.issuer, admin }));
  beforeAll(async () => {
    admin = await createAdminClient();
  }, 60_000);

  it('issues a token shown once, lists, revokes and approves, printing what the database mode prints', async () => {
    const created = await inMode([
      'dcr',
      'tokens',
      'create',
      '--max-uses',
      '1',
      '--expires',
      '1h',
      '--description',
      mode,
    ]);
    const [, id, until, token] =
      /^initial access token (\S+) \(1 use\(s\), until (\S+)\):\n(\S+)\nIt is shown only now\.\n$/.exec(
        created.stdout,
      ) ?? [];
    expect(token, created.stderr).toBeTruthy();
    expect(Math.abs(Date.parse(until!) - Date.now() - 3_600_000)).toBeLessThan(120_000);
    const registered = await register(gated, mcpClient, { authorization: `Bearer ${token}` });
    expect(registered.status).toBe(201);
    const { client_id: clientId } = (await registered.json()) as { client_id: string };

    const listed = await json<{ id: string }[]>(['dcr', 'tokens', 'list']);
    expect(listed.find((t) => t.id === id)).toEqual({
      id,
      description: mode,
      uses: 1,
      max_uses: 1,
      expires_at: until,
      revoked_at: null,
    });
    expect(JSON.stringify(listed)).not.toContain(token);
    const table = await inMode(['dcr', 'tokens', 'list']);
    expect(table).toEqual({ code: 0, stdout: (await tessera(['dcr', 'tokens', 'list'])).stdout, stderr: '' });
    expect(table.stdout).toMatch(new RegExp(`^${id} +1/1 +${until} +${mode}$`, 'm'));

    expect(await inMode(['dcr', 'tokens', 'revoke', id!])).toEqual({
      code: 0,
      stdout: `revoked initial access token ${id}\n`,
      stderr: '',
    });
    expect(await inMode(['dcr', 'tokens', 'revoke', id!])).toEqual({
      code: 2,
      stdout: '',
      stderr: `tessera: no live initial access token has id ${id}\n`,
    });
    expect(await inMode(['dcr', 'approve', clientId])).toEqual({
      code: 0,
      stdout: `approved ${clientId}\n`,
      stderr: '',
    });
    expect(await inMode(['dcr', 'approve', 'not-registered'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'tessera: no self-registered client has id not-registered\n',
    });
  }, 180_000);
});

describe('DCR=off (the default)', () => {
  it('has no registration endpoint', async () => {
    const server = await startTestServer();
    try {
      expect((await discover(server)).registration_endpoint).toBeUndefined();
      expect((await register(server, mcpClient)).status).toBe(404);
    } finally {
      await server.close();
    }
  }, 60_000);
});
